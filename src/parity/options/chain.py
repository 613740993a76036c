"""What a chain source gives at a moment: the listed contracts and their quotes, and the query a
strategy runs on them (by days to expiry, right, strike, moneyness, delta).

A source prices only what is asked: `contracts` lists by terms (cheap), `quotes` prices a list
of contracts at once (vectorised), and `ChainQuery` narrows by delta only after that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import pandas as pd

from parity.errors import ConfigError
from parity.instruments import OptionRight
from parity.instruments.calendars import ExchangeCalendar
from parity.options.contracts import OptionContract

YEAR = pd.Timedelta(days=365)  # time to expiry is calendar time


@dataclass(frozen=True, slots=True)
class Quote:
    """One contract's quote at `time` (naive exchange time); Greeks per unit of the underlying
    (vollib's units: theta per day, vega and rho per point)."""

    contract: OptionContract
    time: dt.datetime
    underlying_price: float
    bid: float
    ask: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float
    bid_size: float | None = None  # contracts quoted (recorded quotes that carry sizes)
    ask_size: float | None = None

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2

    @property
    def symbol(self) -> str:
        return self.contract.symbol

    def dte(self) -> int:
        """Calendar days from the quote's date to expiry."""
        return (self.contract.expiry - self.time.date()).days

    def row(self) -> dict[str, Any]:
        c = self.contract
        return {
            "symbol": c.symbol,
            "expiry": c.expiry,
            "right": c.right,
            "strike": c.strike,
            "bid": self.bid,
            "ask": self.ask,
            "mid": round(self.mid, 6),
            "iv": self.iv,
            "delta": self.delta,
            "gamma": self.gamma,
            "theta": self.theta,
            "vega": self.vega,
            "rho": self.rho,
            "underlying": self.underlying_price,
        }


def quotes_frame(quotes: Sequence[Quote]) -> pd.DataFrame:
    return pd.DataFrame([q.row() for q in quotes])


class ChainSource(Protocol):
    """A chain at any moment of a run (the model chain or recorded quotes)."""

    underlying: str

    def observe_close(self, session: dt.date, close: float) -> None:
        """The underlying's close of `session` (the model's volatility learns from it)."""

    def contracts(
        self,
        now: dt.datetime,
        spot: float,
        *,
        right: OptionRight | None = None,
        min_dte: int = 0,
        max_dte: int | None = None,
        min_strike: float | None = None,
        max_strike: float | None = None,
    ) -> list[OptionContract]: ...

    def quotes(
        self, contracts: Sequence[OptionContract], now: dt.datetime, spot: float
    ) -> list[Quote | None]:
        """Quotes of `contracts` at `now` (None where the source has none)."""
        ...

    def expiries(
        self, now: dt.datetime, *, min_dte: int = 0, max_dte: int | None = None
    ) -> list[dt.date]:
        """The expiry dates listed at `now` within the days to expiry given (none priced)."""
        ...

    def describe(self) -> dict[str, Any]: ...

    def summary(self) -> str: ...


@dataclass(frozen=True)
class ChainQuery:
    """What a strategy asks for: `dte` (min, max) calendar days, `right`, strikes between
    `strikes` or within `moneyness` (K/S) bounds, and |delta| within `delta` bounds."""

    right: OptionRight | None = None
    dte: tuple[int, int | None] = (0, None)
    strikes: tuple[float | None, float | None] = (None, None)
    moneyness: tuple[float | None, float | None] = (None, None)
    delta: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.right not in (None, "call", "put"):
            raise ConfigError(f"option right {self.right!r} must be call or put")
        low, high = self.dte
        if low < 0 or (high is not None and high < low):
            raise ConfigError(f"dte range {self.dte} must be 0 <= min <= max, e.g. dte=(0, 7)")

    def run(self, source: ChainSource, now: dt.datetime, spot: float) -> list[Quote]:
        lo, hi = self.strikes
        mlo, mhi = self.moneyness
        if mlo is not None:
            lo = max(lo or 0.0, mlo * spot)
        if mhi is not None:
            hi = mhi * spot if hi is None else min(hi, mhi * spot)
        listed = source.contracts(
            now,
            spot,
            right=self.right,
            min_dte=self.dte[0],
            max_dte=self.dte[1],
            min_strike=lo,
            max_strike=hi,
        )
        found = [q for q in source.quotes(listed, now, spot) if q is not None]
        if self.delta is not None:
            dlo, dhi = self.delta
            found = [q for q in found if dlo <= abs(q.delta) <= dhi]
        return found


def nearest(
    quotes: Sequence[Quote], *, strike: float | None = None, delta: float | None = None
) -> Quote | None:
    """The quote whose strike (or signed delta) is closest to the one given; ties to the lower
    strike. None when `quotes` is empty."""
    if not quotes:
        return None
    if strike is not None:
        return min(quotes, key=lambda q: (abs(q.contract.strike - strike), q.contract.strike))
    if delta is not None:
        return min(quotes, key=lambda q: (abs(q.delta - delta), q.contract.strike))
    raise ConfigError("nearest() needs strike= or delta=")


@lru_cache(maxsize=64)
def _year(calendar: ExchangeCalendar, year: int) -> dict[dt.date, tuple[dt.datetime, dt.datetime]]:
    """Each session of `year`: (open, close) as naive exchange times. Plain dicts: a run asks
    for every contract at every bar, and a pandas lookup per call would dominate the run."""
    table = calendar.schedule(dt.date(year, 1, 1), dt.date(year, 12, 31))
    return {
        day.date(): (o.to_pydatetime(), c.to_pydatetime())
        for day, o, c in zip(table.index, table["open"], table["close"], strict=True)
    }


def sessions_between(calendar: ExchangeCalendar, first: dt.date, last: dt.date) -> list[dt.date]:
    """The calendar's session dates from `first` to `last`, inclusive."""
    return [
        day
        for year in range(first.year, last.year + 1)
        for day in _year(calendar, year)
        if first <= day <= last
    ]


def _session(calendar: ExchangeCalendar, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    found = _year(calendar, day.year).get(day)
    if found is None:
        raise ConfigError(f"{day} is not a {calendar.name} session; pick a trading day")
    return found


def session_open(calendar: ExchangeCalendar, day: dt.date) -> dt.datetime:
    return _session(calendar, day)[0]


def session_close(calendar: ExchangeCalendar, day: dt.date) -> dt.datetime:
    return _session(calendar, day)[1]
