"""`TapeQuotes`: a paper run's option tape (`option_tape.csv`) as a `ChainSource`, for
`compare`'s twin on the quotes the run received.

A paper run receives quotes at its decision times (chain snapshots, and the quotes of the
contracts it holds or watches), never the quote its order meets at the next open. So:

- at a moment the run received quotes (`decided_at`), the chain and its quotes are exactly what
  it received (a contract without a two-sided quote or Greeks is no quote, as `VenueChain` has
  it): the twin's strategy decides on what the paper strategy decided on;
- at any other moment (a fill at the next open, a mark without a fresh quote) a contract's
  quote is the last one received, carried to the moment by the model chain's move: each side
  times the model's quote now over the model's quote at the received quote's own time (its
  `time`, the underlying at the close of the last bar started before it, as the venue priced
  it), or plus the model's move where the model's side is 0. A received quote equal to the
  model's carries to the model's quote exactly; one with a wider spread carries that spread.

The model is the backtest's (`ModelChainParams`: the assumptions compared), fed the same closes.
Written for this use (no recorded-quotes reader carries a quote through time); recorded vendor
quotes with times go through `options.recorded.RecordedQuotes`.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from parity.errors import DataError
from parity.instruments import OptionRight
from parity.instruments.calendars import ExchangeCalendar
from parity.options.chain import ChainSource, Quote, session_close
from parity.options.contracts import OptionContract, contract_from_occ
from parity.options.model import ModelChain, ModelChainParams
from parity.options.setup import OptionsSetup

GREEKS = ("iv", "delta", "gamma", "theta", "vega", "rho")


@dataclass(frozen=True)
class _Received:
    at: dt.datetime  # when the run asked (its decision time)
    time: dt.datetime  # the venue's quote time
    source: str  # chain or quotes
    contract: OptionContract
    bid: float
    ask: float
    greeks: tuple[float, ...] | None  # iv, delta, gamma, theta, vega, rho


class TapeQuotes:
    """The chain a paper run received (module doc)."""

    def __init__(
        self,
        tape: pd.DataFrame,
        underlying: str,
        calendar: ExchangeCalendar,
        params: ModelChainParams,
        closes: pd.Series,
        currency: str = "USD",
    ) -> None:
        self.underlying = underlying.upper()
        self.calendar = calendar
        self.params = params
        self.model = ModelChain(self.underlying, calendar, params, currency)
        self._closes = closes.sort_index()
        self._by_symbol: dict[str, list[_Received]] = {}
        self._at: dict[dt.datetime, dict[str, _Received]] = {}
        for row in _rows(tape, params, self.underlying):
            self._by_symbol.setdefault(row.contract.symbol, []).append(row)
            self._at.setdefault(row.at, {})[row.contract.symbol] = row
        for rows in self._by_symbol.values():
            rows.sort(key=lambda r: r.at)
        self._times = {s: [r.at for r in rows] for s, rows in self._by_symbol.items()}

    @classmethod
    def load(
        cls,
        path: Path,
        underlying: str,
        calendar: ExchangeCalendar,
        params: ModelChainParams,
        closes: pd.Series,
        currency: str = "USD",
    ) -> TapeQuotes:
        try:
            tape = pd.read_csv(path, parse_dates=["time", "decided_at"])
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{path} is missing or malformed ({exc}); the run has no option tape"
            ) from None
        return cls(tape, underlying, calendar, params, closes, currency)

    # ------------------------------------------------------------------ ChainSource
    def observe_close(self, session: dt.date, close: float) -> None:
        self.model.observe_close(session, close)

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
        """The contracts of the chain snapshots received at `now`, filtered as the venue's
        chain endpoint filters (expiry days, strikes, right)."""
        day = now.date()
        out = []
        for row in self._at.get(now, {}).values():
            c = row.contract
            if row.source != "chain" or (right is not None and c.right != right):
                continue
            days = (c.expiry - day).days
            if days < min_dte or (max_dte is not None and days > max_dte):
                continue
            if (min_strike is not None and c.strike < min_strike) or (
                max_strike is not None and c.strike > max_strike
            ):
                continue
            out.append(c)
        return sorted(out, key=lambda c: (c.expiry, c.right, c.strike))

    def expiries(
        self, now: dt.datetime, *, min_dte: int = 0, max_dte: int | None = None
    ) -> list[dt.date]:
        day = now.date()
        return sorted(
            {
                r.contract.expiry
                for r in self._at.get(now, {}).values()
                if (r.contract.expiry - day).days >= min_dte
                and (max_dte is None or (r.contract.expiry - day).days <= max_dte)
            }
        )

    def quotes(
        self, contracts: Sequence[OptionContract], now: dt.datetime, spot: float
    ) -> list[Quote | None]:
        return [self._quote(c, now, spot) for c in contracts]

    def describe(self) -> dict[str, Any]:
        return {"source": "tape", "quotes": sum(map(len, self._by_symbol.values()))}

    def summary(self) -> str:
        n = sum(map(len, self._by_symbol.values()))
        return (
            f"option tape: {n:,} quotes the paper run received, carried to other moments by "
            "the model chain's move"
        )

    # ------------------------------------------------------------------ quotes
    def _last(self, symbol: str, now: dt.datetime) -> _Received | None:
        times = self._times.get(symbol)
        if not times:
            return None
        i = bisect_right(times, now)
        return self._by_symbol[symbol][i - 1] if i else None

    def _quote(self, contract: OptionContract, now: dt.datetime, spot: float) -> Quote | None:
        if session_close(self.calendar, contract.expiry) <= now:
            return None
        row = self._last(contract.symbol, now)
        if row is None or row.greeks is None or (row.bid <= 0 and row.ask <= 0):
            return None
        if row.at == now:
            return Quote(contract, now, spot, row.bid, row.ask, *row.greeks)
        return self._carried(row, contract, now, spot)

    def _carried(
        self, row: _Received, contract: OptionContract, now: dt.datetime, spot: float
    ) -> Quote | None:
        then_spot = self._spot_before(row.time)
        model = self.model.contract(contract.expiry, contract.right, contract.strike)
        then = None if then_spot is None else self.model.quotes([model], row.time, then_spot)[0]
        current = self.model.quotes([model], now, spot)[0]
        if then is None or current is None:
            return None
        bid = _carry(row.bid, then.bid, current.bid)
        ask = max(_carry(row.ask, then.ask, current.ask), bid)
        return Quote(
            contract, now, spot, bid, ask, current.iv, current.delta, current.gamma,
            current.theta, current.vega, current.rho,
        )  # fmt: skip

    def _spot_before(self, moment: dt.datetime) -> float | None:
        before = self._closes[self._closes.index < pd.Timestamp(moment)]
        return float(before.iloc[-1]) if len(before) else None


def _carry(received: float, then: float, now: float) -> float:
    """A received side carried by the model's move: the ratio, or the difference at a 0 side."""
    out = now * received / then if then > 0 else now + (received - then)
    return max(round(out, 6), 0.0)


def _rows(tape: pd.DataFrame, params: ModelChainParams, underlying: str) -> list[_Received]:
    need = {"time", "decided_at", "source", "symbol", "bid", "ask", *GREEKS}
    missing = sorted(need - set(tape.columns))
    if missing:
        raise DataError(f"option tape: no {', '.join(missing)} column; is it option_tape.csv?")
    out = []
    for rec in tape.to_dict("records"):
        contract = contract_from_occ(
            str(rec["symbol"]),
            multiplier=params.multiplier,
            style=params.style,
            settlement=params.settlement,
        )
        if contract.underlying.upper() != underlying:
            continue
        values = [rec[g] for g in GREEKS]
        ok = all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)
        out.append(
            _Received(
                pd.Timestamp(rec["decided_at"]).to_pydatetime(),
                pd.Timestamp(rec["time"]).to_pydatetime(),
                str(rec["source"]),
                contract,
                float(rec["bid"]),
                float(rec["ask"]),
                tuple(float(v) for v in values) if ok else None,
            )
        )
    return out


@dataclass(frozen=True, kw_only=True)
class TapedSetup(OptionsSetup):
    """An `OptionsSetup` whose chain is a paper run's option tape (`TapeQuotes`), carried by
    the setup's model; costs and rules are the setup's (the backtest's assumptions)."""

    tape: Path = Path("option_tape.csv")
    closes: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))

    def source(self, underlying: str, calendar: ExchangeCalendar, currency: str) -> ChainSource:
        return TapeQuotes.load(self.tape, underlying, calendar, self.model, self.closes, currency)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "chain": {"source": "tape", "path": str(self.tape)}}
