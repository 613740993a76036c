"""Round-trip trade ledger built from executions (fills).

A round trip is one symbol's position going from flat back to flat. Scale-ins add to the entry
side, partial exits add to the exit side, and a fill that flips the sign of the position closes
the trade at that fill's price and opens a new one with the remainder; the fill's commission is
split between the two trades in proportion to quantity.

Gross P&L of a flat-to-flat trade is ``direction * (exit notional - entry notional)``, which is
the same number average-cost, FIFO or LIFO accounting would give because the total entry and exit
quantities are equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parity.errors import DataError
from parity.instruments import instrument_for

FILL_COLUMNS = ("datetime", "bar", "symbol", "side", "qty", "price", "commission")
TRADE_COLUMNS = (
    "symbol",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "qty",
    "pnl_gross",
    "pnl_net",
    "commission",
    "bars_held",
)
# A position whose size is within this fraction of the largest size seen is treated as flat.
_FLAT_RTOL = 1e-9


@dataclass
class _OpenTrade:
    """Accumulator for one symbol's trade that has not yet returned to flat."""

    symbol: str
    direction: int  # +1 long, -1 short
    entry_time: Any
    entry_bar: int
    entry_qty: float = 0.0
    entry_notional: float = 0.0
    exit_qty: float = 0.0
    exit_notional: float = 0.0
    commission: float = 0.0
    position: float = 0.0  # signed
    max_abs: float = 0.0
    multiplier: float = 1.0  # the instrument's cash per point per unit (100: an option)
    entry_order: str | None = None  # the client order id of its first entry fill
    exit_order: str | None = None  # ... and of its last exit fill

    def add_entry(self, qty: float, price: float, commission: float) -> None:
        self.entry_qty += qty
        self.entry_notional += qty * price
        self.commission += commission
        self.position += self.direction * qty
        self.max_abs = max(self.max_abs, abs(self.position))

    def add_exit(self, qty: float, price: float, commission: float) -> None:
        self.exit_qty += qty
        self.exit_notional += qty * price
        self.commission += commission
        self.position -= self.direction * qty

    def is_flat(self) -> bool:
        return abs(self.position) <= _FLAT_RTOL * self.max_abs

    def close(self, exit_time: Any, exit_bar: int) -> dict[str, Any]:
        gross = self.direction * (self.exit_notional - self.entry_notional) * self.multiplier
        return {
            "symbol": self.symbol,
            "side": "long" if self.direction > 0 else "short",
            "entry_time": self.entry_time,
            "exit_time": exit_time,
            "entry_price": self.entry_notional / self.entry_qty,
            "exit_price": self.exit_notional / self.exit_qty,
            "qty": self.max_abs,
            "pnl_gross": gross,
            "pnl_net": gross - self.commission,
            "commission": self.commission,
            "bars_held": int(exit_bar) - int(self.entry_bar),
            "entry_order": self.entry_order,
            "exit_order": self.exit_order,
        }


def _check_fills(fills: pd.DataFrame) -> None:
    missing = [c for c in FILL_COLUMNS if c not in fills.columns]
    if missing:
        raise DataError(f"fills are missing columns {missing}; expected {list(FILL_COLUMNS)}")
    bad_side = set(fills["side"].unique()) - {"buy", "sell"}
    if bad_side:
        raise DataError(f"fills have unknown side values {sorted(map(str, bad_side))}")
    if (fills["qty"] <= 0).any():
        raise DataError("fills must have a positive qty; the side column carries the direction")


def _replay(
    fills: pd.DataFrame, multipliers: Mapping[str, float] | None = None
) -> tuple[list[dict[str, Any]], dict[str, _OpenTrade]]:
    """Replay fills in order; return closed trades and the still-open trade per symbol."""
    _check_fills(fills)
    closed: list[dict[str, Any]] = []
    open_trades: dict[str, _OpenTrade] = {}
    known = dict(multipliers or {})
    for row in fills.itertuples(index=False):
        symbol = str(row.symbol)
        qty, price, fee = float(row.qty), float(row.price), float(row.commission)
        direction = 1 if row.side == "buy" else -1
        cid = getattr(row, "client_order_id", None)
        trade = open_trades.get(symbol)
        mult = known.get(symbol)
        if mult is None:
            mult = known[symbol] = instrument_for(symbol).multiplier
        if trade is None:
            trade = _OpenTrade(symbol, direction, row.datetime, int(row.bar), multiplier=mult)
            trade.entry_order = cid
            trade.add_entry(qty, price, fee)
            open_trades[symbol] = trade
            continue
        if direction == trade.direction:
            trade.add_entry(qty, price, fee)
            continue
        closing = min(qty, abs(trade.position))
        remainder = qty - closing
        if remainder <= _FLAT_RTOL * trade.max_abs:
            closing, remainder = qty, 0.0
        trade.add_exit(closing, price, fee * closing / qty)
        trade.exit_order = cid
        if not trade.is_flat():
            continue
        closed.append(trade.close(row.datetime, int(row.bar)))
        del open_trades[symbol]
        if remainder > 0:
            flipped = _OpenTrade(symbol, direction, row.datetime, int(row.bar), multiplier=mult)
            flipped.entry_order = cid
            flipped.add_entry(remainder, price, fee * remainder / qty)
            open_trades[symbol] = flipped
    return closed, open_trades


def round_trips(
    fills: pd.DataFrame, multipliers: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Return one row per closed round trip, in the order the trades closed.

    ``fills`` holds one chronological row per execution with columns ``datetime, bar, symbol,
    side ('buy'|'sell'), qty (> 0), price, commission`` (extra columns are ignored). The result
    has exactly the columns in :data:`TRADE_COLUMNS`; positions still open at the end are left
    out (see :func:`open_positions`). ``qty`` is the largest absolute position of the trade,
    ``entry_price``/``exit_price`` are quantity-weighted averages, ``pnl_net`` is ``pnl_gross``
    minus every commission charged to the trade and ``bars_held`` is exit bar minus entry bar.
    P&L is in cash: price moves times the instrument's multiplier (``multipliers`` by symbol,
    else the one the symbol names, ``instrument_for``: 100 for an OCC option, 1 for a share).
    """
    closed, _ = _replay(fills, multipliers)
    if not closed:
        return pd.DataFrame({c: pd.Series(dtype=_empty_dtype(c)) for c in TRADE_COLUMNS})
    return pd.DataFrame(closed, columns=list(TRADE_COLUMNS))


def round_trip_orders(fills: pd.DataFrame) -> list[tuple[str | None, str | None]]:
    """The client order ids of each closed round trip's first entry and last exit fill, in the
    order of `round_trips`' rows (None where the fills carry no `client_order_id`)."""
    closed, _ = _replay(fills)
    return [(t["entry_order"], t["exit_order"]) for t in closed]


def open_positions(fills: pd.DataFrame) -> dict[str, float]:
    """Return the signed position (positive long, negative short) of every non-flat symbol."""
    _, open_trades = _replay(fills)
    return {symbol: float(trade.position) for symbol, trade in open_trades.items()}


def _empty_dtype(column: str) -> str:
    if column in ("symbol", "side"):
        return "object"
    if column in ("entry_time", "exit_time"):
        return "datetime64[ns]"
    if column == "bars_held":
        return "int64"
    return "float64"
