"""The P&L gap attribution waterfall.

``total = live P&L - reference P&L`` (P&L = final equity - starting cash of each run; the
reference is the history twin, or the `--against` backtest). It is split into:

* ``data``: tape-twin P&L minus history-twin P&L (the same strategy and costs on the bars the
  paper run received vs vendor history); 0 when no tape twin was built;
* ``missed_trades``: minus the net P&L of twin trades the live run did not make;
* ``extra_trades``: the net P&L of live trades the twin did not make;
* ``fill_price``: the price effect of matched trades (entry, and exit when decided on the same
  bar), on the live quantity;
* ``exit_timing``: the exit-price effect of matched trades whose exits were decided on
  different bars;
* ``partial_fills``: the quantity effect of matched trades (partial fills, sizing on different
  equity), priced at the twin's entry-to-exit move;
* ``fees``: minus the commission difference of matched trades;
* ``residual``: ``total`` minus every component above (positions still open at the end, cash
  effects not in a closed trade, rounding). Components therefore sum to ``total`` exactly, up
  to floating point.

The ledger parts come from the live run vs the twin the live run saw (the tape twin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from parity.analyzers.matching import LedgerRow

COMPONENTS = (
    "data",
    "missed_trades",
    "extra_trades",
    "fill_price",
    "exit_timing",
    "partial_fills",
    "fees",
    "residual",
)


def waterfall(
    *,
    live_pnl: float,
    reference_pnl: float,
    ledger: Sequence[LedgerRow],
    tape_pnl: float | None = None,
) -> dict[str, Any]:
    """``{"total": ..., "components": {name: value}, "execution_total": ...}``.

    ``tape_pnl`` is the tape twin's P&L when the reference is the history twin (it separates
    data from execution); ``None`` means the reference played the twin the live run saw.
    """
    total = live_pnl - reference_pnl
    data = 0.0 if tape_pnl is None else tape_pnl - reference_pnl
    matched = [r for r in ledger if r.status == "matched"]
    parts = {
        "data": data,
        "missed_trades": -math.fsum(r.twin_pnl or 0.0 for r in ledger if r.status == "missed"),
        "extra_trades": math.fsum(r.live_pnl or 0.0 for r in ledger if r.status == "extra"),
        "fill_price": math.fsum(r.price_pnl for r in matched),
        "exit_timing": math.fsum(r.timing_pnl for r in matched),
        "partial_fills": math.fsum(r.qty_pnl for r in matched),
        "fees": -math.fsum(r.fee_diff or 0.0 for r in matched),
    }
    parts["residual"] = total - math.fsum(parts.values())
    return {
        "total": total,
        "execution_total": total - data,
        "components": {name: parts[name] for name in COMPONENTS},
    }
