"""Orders that ended without a full fill (expired, canceled, rejected) and what each cost.

A live order the venue expired, canceled or rejected leaves the twin's trade from the same
decision unmatched: the ledger shows it as *missed* and the attribution counts it in
``missed_trades``. Here each such order is named, and its missed ledger row points back at it,
so a day order the venue expired at the close reads as what it is rather than as a silent gap.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from parity.analyzers.matching import LedgerRow

UNFILLED_STATUSES = frozenset({"expired", "canceled", "cancelled", "rejected", "margin"})


def _iso(value: Any) -> str:
    stamp = pd.Timestamp(value)
    return "" if pd.isna(stamp) else stamp.isoformat()


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def unfilled_orders(
    orders: pd.DataFrame | None, ledger: Sequence[LedgerRow]
) -> tuple[list[dict[str, Any]], list[LedgerRow]]:
    """``(orders, ledger)``: one dict per live order that ended short of its quantity (client
    order id, symbol, side, decision bar, status, reason, qty, filled qty, and
    ``missed_twin_pnl``: the net P&L of the twin trade opened on the same decision that the
    live run therefore missed, or None), and the ledger with those missed rows naming it."""
    if orders is None or not len(orders) or "status" not in orders.columns:
        return [], list(ledger)
    missed = {(r.symbol, r.side, r.decision_bar): i for i, r in enumerate(ledger)}
    missed = {k: i for k, i in missed.items() if ledger[i].status == "missed"}
    rows = list(ledger)
    out = []
    for order in orders.to_dict("records"):
        status = str(order.get("status", "")).lower()
        qty, filled = _number(order.get("qty")), _number(order.get("filled_qty"))
        if status not in UNFILLED_STATUSES or filled >= qty - 1e-9:
            continue
        cid = str(order.get("client_order_id") or order.get("order_id"))
        decision = _iso(order.get("submitted_at"))
        side = "long" if order.get("side") == "buy" else "short"
        index = missed.pop((str(order.get("symbol")), side, decision), None)
        if index is not None:
            rows[index] = dataclasses.replace(rows[index], live_order=f"{cid} {status}")
        out.append(
            {
                "client_order_id": cid,
                "symbol": str(order.get("symbol")),
                "side": str(order.get("side")),
                "decision_bar": decision,
                "status": status,
                "reason": _text(order.get("reason")),
                "qty": qty,
                "filled_qty": filled,
                "missed_twin_pnl": rows[index].twin_pnl if index is not None else None,
            }
        )
    return out, rows
