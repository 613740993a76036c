"""Recorded option quotes (CSV or parquet), validated like bar files and used exactly as given.

Columns: `time` (or `date`), the contract as `symbol` (OCC) or `underlying, expiry, strike,
right`, `bid`, `ask`; optional `last`, `volume`, `open_interest`, `iv`, `bid_size`, `ask_size`.
A bad cell is reported with its file, line, column and value. Quotes stamped with dates only are
a session's quotes (used at its open and close); stamped with times, the latest quote at or
before the moment within the same session is used. Greeks come from the `iv` column, else from
the volatility implied by the mid (BSM at the model's rate and dividend yield).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from parity.errors import DataError
from parity.instruments import OptionRight
from parity.instruments.calendars import ExchangeCalendar
from parity.options.chain import YEAR, Quote, session_close
from parity.options.contracts import OptionContract, contract_from_occ, option_contract
from parity.options.model import ModelChainParams
from parity.options.pricing import bsm, implied_vol

REQUIRED = ("bid", "ask")
OPTIONAL = ("last", "volume", "open_interest", "iv", "bid_size", "ask_size")


@dataclass(frozen=True)
class _Row:
    contract: OptionContract
    bid: float
    ask: float
    iv: float
    bid_size: float | None
    ask_size: float | None


@dataclass
class RecordedQuotes:
    underlying: str
    calendar: ExchangeCalendar
    params: ModelChainParams
    path: Path
    daily: bool
    _times: list[dt.datetime] = field(default_factory=list)
    _rows: dict[dt.datetime, dict[str, _Row]] = field(default_factory=dict)

    @classmethod
    def load(
        cls, path: Path, underlying: str, calendar: ExchangeCalendar, params: ModelChainParams
    ) -> RecordedQuotes:
        frame = _read(path)
        time_col = (
            "time" if "time" in frame.columns else "date" if "date" in frame.columns else None
        )
        if time_col is None:
            raise DataError(
                f"{path}: no time (or date) column; columns are {', '.join(frame.columns)}"
            )
        for name in REQUIRED:
            if name not in frame.columns:
                raise DataError(f"{path}: no {name} column (quotes need time, symbol, bid, ask)")
        by_symbol = "symbol" in frame.columns
        if not by_symbol and not {"underlying", "expiry", "strike", "right"} <= set(frame.columns):
            raise DataError(
                f"{path}: name each contract by a symbol column (OCC, e.g. SPY240119P00470000) "
                "or by underlying, expiry, strike and right columns"
            )
        rows: dict[dt.datetime, dict[str, _Row]] = {}
        stamps = []
        for i, record in enumerate(frame.to_dict("records")):
            line = i + 2  # the header is line 1
            where = f"{path} line {line}"
            stamp = _time(record[time_col], where, time_col)
            stamps.append(stamp)
            contract = (
                _occ(record["symbol"], where, params)
                if by_symbol
                else _terms(record, where, params)
            )
            if contract.underlying.upper() != underlying.upper():
                continue
            bid, ask = (_number(record[c], where, c, required=True) for c in ("bid", "ask"))
            assert bid is not None and ask is not None
            if bid > ask:
                raise DataError(f"{where}: bid {bid} is above ask {ask}; check the columns' order")
            values = {c: _number(record.get(c), where, c) for c in OPTIONAL}
            iv = values["iv"]
            rows.setdefault(stamp, {})[contract.symbol] = _Row(
                contract,
                bid,
                ask,
                math.nan if iv is None else iv,
                values["bid_size"],
                values["ask_size"],
            )
        daily = all(s.time() == dt.time(0) for s in stamps)
        out = cls(underlying.upper(), calendar, params, path, daily)
        out._rows = rows
        out._times = sorted(rows)
        if not rows:
            raise DataError(f"{path} has no quotes for {underlying}")
        return out

    # ------------------------------------------------------------------ ChainSource
    def observe_close(self, session: dt.date, close: float) -> None:
        """Recorded quotes do not depend on the underlying's bars."""

    def _at(self, now: dt.datetime) -> dict[str, _Row]:
        if self.daily:
            return self._rows.get(dt.datetime.combine(now.date(), dt.time(0)), {})
        i = bisect_right(self._times, now)
        if not i or self._times[i - 1].date() != now.date():
            return {}
        return self._rows[self._times[i - 1]]

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
        out = []
        for row in self._at(now).values():
            c = row.contract
            days = (c.expiry - now.date()).days
            if right is not None and c.right != right:
                continue
            if days < min_dte or (max_dte is not None and days > max_dte):
                continue
            if (min_strike is not None and c.strike < min_strike) or (
                max_strike is not None and c.strike > max_strike
            ):
                continue
            if session_close(self.calendar, c.expiry) <= now:
                continue
            out.append(c)
        return sorted(out, key=lambda c: (c.expiry, c.right, c.strike))

    def expiries(
        self, now: dt.datetime, *, min_dte: int = 0, max_dte: int | None = None
    ) -> list[dt.date]:
        found = {row.contract.expiry for row in self._at(now).values()}
        return sorted(
            e
            for e in found
            if (e - now.date()).days >= min_dte
            and (max_dte is None or (e - now.date()).days <= max_dte)
            and session_close(self.calendar, e) > now
        )

    def quotes(
        self, contracts: Sequence[OptionContract], now: dt.datetime, spot: float
    ) -> list[Quote | None]:
        rows = self._at(now)
        found = [rows.get(c.symbol) for c in contracts]
        live = [r for r in found if r is not None]
        if not live:
            return [None] * len(contracts)
        p = self.params
        is_call = np.array([r.contract.right == "call" for r in live])
        strike = np.array([r.contract.strike for r in live])
        years = np.array(
            [(session_close(self.calendar, r.contract.expiry) - now) / YEAR for r in live],
            dtype=float,
        )
        iv = np.array([r.iv for r in live])
        missing = np.isnan(iv)
        if missing.any():
            mids = np.array([(r.bid + r.ask) / 2 for r in live])
            iv[missing] = implied_vol(
                is_call[missing],
                mids[missing],
                np.full(int(missing.sum()), spot),
                strike[missing],
                years[missing],
                p.rate,
                p.dividend_yield,
            )
        ok = ~np.isnan(iv)
        greeks = bsm(
            is_call[ok],
            np.full(int(ok.sum()), spot),
            strike[ok],
            years[ok],
            p.rate,
            iv[ok],
            p.dividend_yield,
        )
        cols = {
            name: np.full(len(live), np.nan) for name in ("delta", "gamma", "theta", "vega", "rho")
        }
        for name, values in cols.items():
            values[ok] = getattr(greeks, name)
        by_symbol: dict[str, Quote] = {}
        for i, r in enumerate(live):
            by_symbol[r.contract.symbol] = Quote(
                r.contract,
                now,
                spot,
                r.bid,
                r.ask,
                float(iv[i]),
                delta=float(cols["delta"][i]),
                gamma=float(cols["gamma"][i]),
                theta=float(cols["theta"][i]),
                vega=float(cols["vega"][i]),
                rho=float(cols["rho"][i]),
                bid_size=r.bid_size,
                ask_size=r.ask_size,
            )
        return [
            by_symbol.get(c.symbol) if r is not None else None
            for c, r in zip(contracts, found, strict=True)
        ]

    def describe(self) -> dict[str, Any]:
        return {
            "source": "recorded",
            "path": str(self.path),
            "quotes": sum(map(len, self._rows.values())),
        }

    def summary(self) -> str:
        n = sum(map(len, self._rows.values()))
        return (
            f"recorded quotes: {self.path} ({n:,} quotes, used as given; Greeks from their "
            "implied volatility)"
        )


def _read(path: Path) -> pd.DataFrame:
    if not Path(path).is_file():
        raise DataError(f"option quotes file {path} does not exist; check --option-quotes")
    try:
        if str(path).endswith(".parquet"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many kinds for a malformed file
        raise DataError(f"option quotes file {path} cannot be read: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def _time(value: Any, where: str, column: str) -> dt.datetime:
    try:
        stamp = pd.Timestamp(str(value).strip())
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise DataError(f"{where}, column {column}: {value!r} is not a date/time (e.g. 2024-01-05)")
    if stamp.tzinfo is not None:
        raise DataError(
            f"{where}, column {column}: {value!r} carries a time zone; write exchange time"
        )
    return stamp.to_pydatetime()


def _number(value: Any, where: str, column: str, *, required: bool = False) -> float | None:
    # a parquet file's missing value is a null (NaN once in a float column), a CSV's is empty
    missing = value is None or (not isinstance(value, str) and bool(pd.isna(value)))
    text = "" if missing else str(value).strip()
    if not text:
        if required:
            raise DataError(f"{where}, column {column}: empty; every quote needs a {column}")
        return None
    try:
        number = float(text)
    except ValueError:
        raise DataError(f"{where}, column {column}: {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise DataError(f"{where}, column {column}: {value!r} must be a number >= 0")
    return number


def _occ(value: Any, where: str, params: ModelChainParams) -> OptionContract:
    try:
        return contract_from_occ(
            str(value),
            multiplier=params.multiplier,
            style=params.style,
            settlement=params.settlement,
        )
    except Exception:
        raise DataError(
            f"{where}, column symbol: {value!r} is not an OCC symbol (e.g. SPY240119P00470000)"
        ) from None


def _terms(record: dict[str, Any], where: str, params: ModelChainParams) -> OptionContract:
    right = str(record["right"]).strip().lower()
    right = {"c": "call", "p": "put"}.get(right, right)
    if right not in ("call", "put"):
        raise DataError(f"{where}, column right: {record['right']!r} must be call or put (C/P)")
    expiry = _time(record["expiry"], where, "expiry").date()
    strike = _number(record["strike"], where, "strike", required=True)
    assert strike is not None
    return option_contract(
        str(record["underlying"]).strip(),
        expiry,
        cast(OptionRight, right),
        strike,
        multiplier=params.multiplier,
        style=params.style,
        settlement=params.settlement,
    )
