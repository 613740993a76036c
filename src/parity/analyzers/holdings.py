"""Open positions from a run's fills: size, average cost (a running average, reset when flat
or flipped through flat; a partial exit keeps it) and unrealized P&L at a last price. One
computation for `parity status` and the dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def holdings(fills: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """symbol → (size, average cost) after every fill (`symbol`, `side`, `qty`, `price`)."""
    held: dict[str, tuple[float, float]] = {}
    if not len(fills):
        return held
    for symbol, side, qty_, price in zip(
        fills["symbol"], fills["side"], fills["qty"], fills["price"], strict=True
    ):
        qty = float(qty_) if side == "buy" else -float(qty_)
        size, avg = held.get(symbol, (0.0, 0.0))
        new = size + qty
        if abs(new) < 1e-9:
            held[symbol] = (0.0, 0.0)
        elif size == 0 or (size > 0) != (new > 0):
            held[symbol] = (new, float(price))  # opened, or flipped through flat
        elif (qty > 0) == (size > 0):
            held[symbol] = (new, (size * avg + qty * float(price)) / new)
        else:
            held[symbol] = (new, avg)  # a partial exit keeps the average cost
    return held


def open_positions(
    held: Mapping[str, tuple[float, float]], last: Mapping[str, float]
) -> list[dict[str, Any]]:
    """The non-flat holdings with their last price and unrealized P&L (None without a price)."""
    out = []
    for symbol, (size, avg) in held.items():
        if abs(size) < 1e-9:
            continue
        price = last.get(symbol)
        out.append(
            {
                "symbol": symbol,
                "qty": size,
                "avg_price": avg,
                "last_price": price,
                "unrealized_pnl": (price - avg) * size if price is not None else None,
            }
        )
    return out
