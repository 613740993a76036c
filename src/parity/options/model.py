"""The model chain: option quotes priced from the underlying's bars, every assumption a
parameter (`ModelChainParams`) that the manifest records and the run summary prints.

- expiries: every session (`daily`, SPY-like), the last session of each week (`weekly`) or the
  session on or before each month's third Friday (`monthly`), on the underlying's exchange
  calendar, up to `max_dte` calendar days out; a contract expires at its session's close;
- strikes: every `strike_step` within `strike_range` (a fraction) of the spot;
- volatility: EWMA(`ewma_decay`) or GARCH(1,1) of close-to-close returns, times `iv_mult` (implied
  over realised), plus `skew` x ln(K/S), floored at `min_vol`;
- prices: Black-Scholes-Merton at `rate` and `dividend_yield` (American contracts as European);
- bid/ask: mid -/+ max(`tick`, `half_spread` x mid), rounded outward to the tick, bid >= 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError
from parity.instruments import OptionRight
from parity.instruments.calendars import ExchangeCalendar
from parity.options.chain import YEAR, Quote, session_close, sessions_between
from parity.options.contracts import OptionContract, Settlement, Style, option_contract
from parity.options.pricing import american_prices, bsm
from parity.options.volatility import EwmaVol, GarchVol, VolModel

Cycle = Literal["daily", "weekly", "monthly"]


@dataclass(frozen=True, kw_only=True)
class ModelChainParams:
    """The model chain's assumptions, with their defaults."""

    vol_model: Literal["ewma", "garch"] = "ewma"
    ewma_decay: float = 0.94
    vol_warmup: int = 20  # sessions of returns before the first quote
    iv_mult: float = 1.10  # implied / realised
    skew: float = -0.8  # volatility points per unit of ln(K/S)
    min_vol: float = 0.05
    rate: float = 0.04
    dividend_yield: float = 0.0
    half_spread: float = 0.03  # of the mid: bid/ask = mid -/+ max(tick, half_spread x mid)
    tick: float = 0.01
    expiries: Cycle = "daily"
    max_dte: int = 45
    strike_step: float = 1.0
    strike_range: float = 0.25  # strikes within +-25% of the spot
    multiplier: float = 100.0
    style: Style = "american"
    settlement: Settlement = "physical"
    # American contracts: `european` prices them with BSM (no early-exercise premium), `baw`
    # with QuantLib's Barone-Adesi-Whaley approximation (Greeks stay BSM's)
    american_pricing: Literal["european", "baw"] = "european"

    def __post_init__(self) -> None:
        positive = (
            "ewma_decay",
            "iv_mult",
            "min_vol",
            "tick",
            "strike_step",
            "strike_range",
            "multiplier",
        )
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(
                    f"option model {name}={value} must be positive, e.g. --iv-mult 1.1"
                )
        if not 0 < self.ewma_decay < 1:
            raise ConfigError(
                f"option model ewma_decay={self.ewma_decay} must be in (0, 1), e.g. 0.94"
            )
        if self.half_spread < 0 or self.max_dte < 0 or self.vol_warmup < 2:
            raise ConfigError(
                "option model half_spread and max_dte must be >= 0 and vol_warmup >= 2 "
                f"(got {self.half_spread}, {self.max_dte}, {self.vol_warmup})"
            )
        if self.expiries not in ("daily", "weekly", "monthly"):
            raise ConfigError(f"option expiries {self.expiries!r} must be daily, weekly or monthly")
        if self.american_pricing not in ("european", "baw"):
            raise ConfigError(
                f"option american_pricing {self.american_pricing!r} must be european or baw"
            )
        if self.vol_model not in ("ewma", "garch"):
            raise ConfigError(f"option vol_model {self.vol_model!r} must be ewma or garch")

    def describe(self) -> dict[str, Any]:
        return {"source": "model", **asdict(self)}

    def summary(self, vol: str) -> str:
        pricing = (
            "BSM; American ones by QuantLib's Barone-Adesi-Whaley, Greeks BSM"
            if self.american_pricing == "baw" and self.style == "american"
            else "priced as European BSM"
        )
        return (
            f"model-priced: sigma = {vol} x {self.iv_mult:.2f}, skew {self.skew:g}, "
            f"bid/ask = mid -/+ max({self.tick:g}, {self.half_spread:.1%} of premium), "
            f"r {self.rate:.2%}, q {self.dividend_yield:.2%}, {self.expiries} expiries to "
            f"{self.max_dte} days, strikes every {self.strike_step:g} within "
            f"+-{self.strike_range:.0%}, x{self.multiplier:g} {self.settlement}-settled "
            f"{self.style} ({pricing})"
        )


def expiry_sessions(
    calendar: ExchangeCalendar, today: dt.date, max_dte: int, cycle: Cycle
) -> list[dt.date]:
    """The expiry dates listed on `today`: sessions from today to `max_dte` days out."""
    days = sessions_between(calendar, today, today + dt.timedelta(days=max_dte))
    if cycle == "daily" or not days:
        return days
    if cycle == "weekly":
        by_week: dict[tuple[int, int], dt.date] = {}
        for day in days:
            by_week[day.isocalendar()[:2]] = day  # the last session of each ISO week
        last = days[-1]
        return [d for d in by_week.values() if d != last or last.weekday() == 4]
    out = []
    for year, month in sorted({(d.year, d.month) for d in days}):
        first = dt.date(year, month, 1)
        third_friday = first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)
        on_or_before = [
            d for d in days if d.year == year and d.month == month and d <= third_friday
        ]
        if on_or_before and (third_friday - on_or_before[-1]).days < 7:
            out.append(on_or_before[-1])
    return out


@dataclass
class ModelChain:
    """A `ChainSource` priced from the underlying's bars (see the module's docstring)."""

    underlying: str
    calendar: ExchangeCalendar
    params: ModelChainParams = field(default_factory=ModelChainParams)
    currency: str = "USD"
    vol: VolModel = field(init=False)
    _cache: dict[str, Quote | None] = field(default_factory=dict, init=False)
    _cache_key: tuple[dt.datetime, float] | None = field(default=None, init=False)
    _contracts: dict[tuple[dt.date, OptionRight, float], OptionContract] = field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        p = self.params
        periods = self.calendar.annualisation.periods
        self.vol = (
            EwmaVol(decay=p.ewma_decay, warmup=p.vol_warmup, periods=periods)
            if p.vol_model == "ewma"
            else GarchVol(warmup=max(p.vol_warmup, 100), periods=periods)
        )

    def observe_close(self, session: dt.date, close: float) -> None:
        self.vol.update(close)

    @property
    def sigma(self) -> float | None:
        """The at-the-money volatility quoted now (None while the model warms up)."""
        base = self.vol.sigma
        return None if base is None else max(base * self.params.iv_mult, self.params.min_vol)

    def contract(self, expiry: dt.date, right: OptionRight, strike: float) -> OptionContract:
        key = (expiry, right, round(strike, 3))
        found = self._contracts.get(key)
        if found is None:
            p = self.params
            found = option_contract(
                self.underlying,
                expiry,
                right,
                strike,
                multiplier=p.multiplier,
                style=p.style,
                settlement=p.settlement,
                currency=self.currency,
                tick_size=p.tick,
            )
            self._contracts[key] = found
        return found

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
    ) -> list[OptionContract]:
        p = self.params
        if self.sigma is None or not spot > 0:
            return []
        expiries = self.expiries(now, min_dte=min_dte, max_dte=max_dte)
        step = p.strike_step
        lo = math.ceil(spot * (1 - p.strike_range) / step) * step
        hi = math.floor(spot * (1 + p.strike_range) / step) * step
        if min_strike is not None:
            lo = max(lo, math.ceil(min_strike / step - 1e-9) * step)
        if max_strike is not None:
            hi = min(hi, math.floor(max_strike / step + 1e-9) * step)
        count = round((hi - lo) / step) + 1
        strikes = [round(lo + i * step, 6) for i in range(max(count, 0))]
        rights: tuple[OptionRight, ...] = (right,) if right else ("call", "put")
        return [self.contract(e, r, k) for e in expiries for r in rights for k in strikes if k > 0]

    def expiries(
        self, now: dt.datetime, *, min_dte: int = 0, max_dte: int | None = None
    ) -> list[dt.date]:
        if self.sigma is None:
            return []
        p = self.params
        today = now.date()
        horizon = p.max_dte if max_dte is None else min(max_dte, p.max_dte)
        return [
            e
            for e in expiry_sessions(self.calendar, today, horizon, p.expiries)
            if (e - today).days >= min_dte and session_close(self.calendar, e) > now
        ]

    def quotes(
        self, contracts: Sequence[OptionContract], now: dt.datetime, spot: float
    ) -> list[Quote | None]:
        if self._cache_key != (now, spot):
            self._cache.clear()
            self._cache_key = (now, spot)
        todo = [c for c in contracts if c.symbol not in self._cache]
        if todo:
            for contract, quote in zip(todo, self._price(todo, now, spot), strict=True):
                self._cache[contract.symbol] = quote
        return [self._cache[c.symbol] for c in contracts]

    def _price(
        self, contracts: Sequence[OptionContract], now: dt.datetime, spot: float
    ) -> list[Quote | None]:
        sigma = self.sigma
        years = _years(self.calendar, contracts, now)
        live = years > 0
        if sigma is None or not spot > 0:
            return [None] * len(contracts)
        p = self.params
        strike = np.array([c.strike for c in contracts], dtype=float)
        is_call = np.array([c.right == "call" for c in contracts])
        vols = np.maximum(sigma + p.skew * np.log(strike / spot), p.min_vol)
        priced = bsm(
            is_call, np.full(len(strike), spot), strike, years, p.rate, vols, p.dividend_yield
        )
        price = priced.price
        american = np.array([c.style == "american" for c in contracts])
        if p.american_pricing == "baw" and american.any():
            price = price.copy()
            price[american] = american_prices(
                is_call[american], np.full(int(american.sum()), spot), strike[american],
                years[american], p.rate, vols[american], p.dividend_yield,
            )  # fmt: skip
        half = np.maximum(p.tick, p.half_spread * price)
        tick = p.tick
        bid = np.maximum(np.floor((price - half) / tick + 1e-9) * tick, 0.0)
        ask = np.ceil((price + half) / tick - 1e-9) * tick
        rows = zip(
            contracts, live.tolist(), bid.round(6).tolist(), ask.round(6).tolist(),
            vols.tolist(), priced.delta.tolist(), priced.gamma.tolist(), priced.theta.tolist(),
            priced.vega.tolist(), priced.rho.tolist(), strict=True,
        )  # fmt: skip
        out: list[Quote | None] = [
            Quote(c, now, spot, b, a, v, d, g, t, ve, r) if ok else None
            for c, ok, b, a, v, d, g, t, ve, r in rows
        ]
        return out

    def mids(
        self, contracts: Sequence[OptionContract], now: dt.datetime, spot: float
    ) -> list[float | None]:
        """Model mid prices (unrounded BSM) of `contracts` — for put-call parity checks."""
        sigma = self.sigma
        if sigma is None:
            return [None] * len(contracts)
        p = self.params
        strike = np.array([c.strike for c in contracts], dtype=float)
        years = _years(self.calendar, contracts, now)
        vols = np.maximum(sigma + p.skew * np.log(strike / spot), p.min_vol)
        is_call = np.array([c.right == "call" for c in contracts])
        priced = bsm(
            is_call,
            np.full(len(strike), spot),
            strike,
            years,
            p.rate,
            vols,
            p.dividend_yield,
            greeks=False,
        )
        return [float(x) for x in priced.price]

    def describe(self) -> dict[str, Any]:
        return {
            **self.params.describe(),
            "vol": self.vol.describe(),
            "calendar": self.calendar.name,
        }

    def summary(self) -> str:
        return self.params.summary(self.vol.describe())


def _years(
    calendar: ExchangeCalendar, contracts: Sequence[OptionContract], now: dt.datetime
) -> npt.NDArray[np.float64]:
    """Calendar years from `now` to each contract's expiry close."""
    seconds = YEAR.total_seconds()
    closes: dict[dt.date, float] = {}
    out = np.empty(len(contracts))
    for i, contract in enumerate(contracts):
        left = closes.get(contract.expiry)
        if left is None:
            left = closes[contract.expiry] = (
                session_close(calendar, contract.expiry) - now
            ).total_seconds() / seconds
        out[i] = left
    return out
