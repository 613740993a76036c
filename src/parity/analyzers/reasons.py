"""Why each trade was opened and closed: the strategy's decisions joined to the round trips.

A strategy gives an order its reason with `decision={"reason": ..., ...}` on `buy`/`sell`
(the `plan` strategy: `entry`, `target`, `stop`, `expiry`, with the row's tag and score), and
notes decisions that are no order with `ParityStrategy.note` (an `ambiguous` exit). The
journal keeps both in its `decisions` table; here they become the `trades.csv` columns
`entry_reason`, `exit_reason`, `ambiguous` (the rule that decided a bar reaching both exits),
`tag` and `score`, added only when the run's strategy recorded decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from parity.analyzers.ledger import round_trip_orders

REASON_COLUMNS = ("entry_reason", "exit_reason", "ambiguous", "tag", "score")
AMBIGUOUS = "ambiguous"  # the action of a note marking an exit decided by the rule
EXITS = ("target", "stop")  # the reasons of take-profit and stop-loss exit orders


def decision_rows(decisions: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decisions as dicts with `action` and `payload` (a journal frame or a recorder's list)."""
    if isinstance(decisions, pd.DataFrame):
        return [dict(r) for r in decisions.to_dict("records")]
    return [dict(r) for r in decisions]


def ambiguous_exits(decisions: pd.DataFrame | Iterable[Mapping[str, Any]]) -> int | None:
    """How many exits a bar reaching both exits decided (the rule applied); None when the
    strategy placed no take-profit/stop-loss exits (there is nothing to count)."""
    rows = decision_rows(decisions)
    if not any(r.get("action") in EXITS for r in rows):
        return None
    return sum(1 for r in rows if r.get("action") == AMBIGUOUS)


def annotate_trades(
    trades: pd.DataFrame,
    fills: pd.DataFrame,
    decisions: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    rule: str,
) -> pd.DataFrame:
    """`trades` (`round_trips(fills)`) with the reason columns, or unchanged when there are no
    decisions. `rule`: the run's `--ambiguous` rule, written where an exit was ambiguous."""
    rows = decision_rows(decisions)
    if not rows:
        return trades
    by_order: dict[str, dict[str, Any]] = {}
    flagged: set[str] = set()
    for row in rows:
        payload = row.get("payload") or {}
        cid = payload.get("client_order_id") if isinstance(payload, Mapping) else None
        if cid is None:
            continue
        if row.get("action") == AMBIGUOUS:
            flagged.add(str(cid))
        else:
            by_order[str(cid)] = {"reason": row.get("action"), **payload}
    out = trades.copy()
    pairs = round_trip_orders(fills) if len(out) else []
    entries = [by_order.get(str(e), {}) for e, _ in pairs]
    exits = [by_order.get(str(x), {}) for _, x in pairs]
    out["entry_reason"] = [e.get("reason") or "" for e in entries]
    out["exit_reason"] = [x.get("reason") or "" for x in exits]
    out["ambiguous"] = [rule if str(x) in flagged else "" for _, x in pairs]
    out["tag"] = [e.get("tag") or "" for e in entries]
    out["score"] = [e.get("score") for e in entries]
    if not len(out):
        out = out.astype({"score": "float64"})
    return out


def ambiguity_summary(metrics: Mapping[str, Any]) -> tuple[str, ...]:
    """The summary line of a run whose strategy recorded decisions: how many exits a bar
    reaching both exits decided, and by which rule."""
    count = metrics.get("ambiguous_exits")
    if count is None:
        return ()
    rule = metrics.get("ambiguity_rule", "placed-first")
    return (
        f"ambiguous exits: {count} (a bar reached both take-profit and stop-loss; decided "
        f"{rule}, flagged in trades.csv)",
    )
