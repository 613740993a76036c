"""What a strategy carries from one process of a paper run to the next: to a later day
(`run paper --continue`) and past a crash (`run paper --resume`).

The strategy's `carry()` (a plan's open brackets) is journaled as a `carry` event whenever it
changes, at the end of the bar that changed it (`JournalCarry`, buffered so that the bar's
equity row commits it: a bar is either fully recorded with its carry or not at all), and once
more at the end of every paper run, before the shutdown cancels the run's open orders.

- A run continued on a later day gives the last one to the new strategy instance
  (`take_carried`) before its first bar (`carried_state`).
- A resumed run gives the one of the last bar the journal shows as fully processed (its resume
  point), with what the venue filled of the orders it names since (`resumed_carry`: the
  journal's fills, reconciliation having recorded those made while the run was down) and
  `resumed: True`, so that the strategy goes on from the bar after it.

Cash and positions need no carrying: the venue holds them and the journal's fills say them
(reconciled as for `--resume`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import backtrader as bt

from parity.journal.codec import bt_datetime

CARRY_EVENT = "carry"
BAR = "bar"  # the payload key of the bar a per-bar carry was taken at the end of


def save_carry(journal: Any, strategy: bt.Strategy) -> None:
    """Journal what `strategy` carries to a later day (nothing for most strategies)."""
    carry = getattr(strategy, "carry", None)
    state = carry() if callable(carry) else None
    if state is not None:
        journal.event(CARRY_EVENT, state)
        journal.flush()


def carried_state(journal: Any, run_id: str) -> dict[str, Any] | None:
    """The state the run's previous day carried, None without one."""
    events = journal.reader.events(run_id, CARRY_EVENT)
    if not len(events):
        return None
    state = events["payload"].iloc[-1]
    return dict(state) if isinstance(state, dict) else None


def resumed_carry(journal: Any, run_id: str) -> dict[str, Any] | None:
    """The state carried at the end of the last bar `run_id` fully processed before it crashed,
    with `filled` (client order id -> quantity the journal holds filled, for each order the
    state names in `orders`) and `resumed: True`; None when it carried nothing by then."""
    reader = journal.reader
    last = reader.last_equity(run_id)
    if last is None:
        return None
    state: dict[str, Any] | None = None
    for payload in reader.events(run_id, CARRY_EVENT)["payload"]:
        taken = isinstance(payload, dict) and BAR in payload
        if taken and dt.datetime.fromisoformat(str(payload[BAR])) <= last[0]:
            state = payload
    if state is None:
        return None
    named = {str(cid) for cid in state.get("orders") or ()}
    fills = reader.fills(run_id)
    ours = fills[fills["client_order_id"].isin(named)] if len(fills) else fills
    filled = ours.groupby("client_order_id")["qty"].sum().to_dict() if len(ours) else {}
    return {
        **state,
        "filled": {str(cid): float(qty) for cid, qty in filled.items()},
        "resumed": True,
    }


class JournalCarry(bt.Analyzer):
    """Journals the strategy's `carry()` at the end of each bar it changed on (bars up to
    `skip_through`, re-read as warm-up by a resumed run, are not). Add it before the
    `Recorder`, whose equity row commits it."""

    params = (
        ("journal", None),
        ("daily", False),
        ("skip_through", None),
    )

    def start(self) -> None:
        carry = getattr(self.strategy, "carry", None)
        self._carry: Callable[[], dict[str, Any] | None] | None = carry if callable(carry) else None
        self._last: dict[str, Any] | None = None

    def next(self) -> None:
        if self._carry is None:
            return
        at = bt_datetime(self.strategy.datetime[0], bool(self.p.daily))
        if self.p.skip_through is not None and at <= self.p.skip_through:
            return
        state = self._carry()
        if state is None or state == self._last:
            return
        self._last = state
        self.p.journal.event(CARRY_EVENT, {**state, BAR: at.isoformat()}, durable=False)


class TakeCarried(bt.Analyzer):
    """Hands the carried state to the strategy before its first bar (analyzers start after the
    strategy is built and before it starts)."""

    params = (("state", None),)

    def start(self) -> None:
        take = getattr(self.strategy, "take_carried", None)
        if callable(take) and self.p.state is not None:
            take(self.p.state)
