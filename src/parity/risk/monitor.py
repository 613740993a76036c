"""`RiskMonitor`: the analyzer that feeds the guard one bar at a time (and closes positions when
the kill switch trips with `flatten_on_kill`), `risk_guard` and `attach_risk`, the
runners' calls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import backtrader as bt

from parity.risk.guard import Emit, RiskGuard
from parity.risk.limits import RiskLimits
from parity.risk.state import JsonRiskStateStore

KILL_SWITCH = "kill switch"  # the exit reason of a position the tripped kill switch closed
FLATTEN = "flatten"  # ... and of one `parity flatten` closed


class RiskMonitor(bt.Analyzer):
    """Calls `guard.on_bar(bar time, equity)` after the strategy's decisions on every bar.

    A resumed run passes `skip_through`: the bars up to it are warm-up re-read from history,
    already judged before the crash (today's positions at their old prices are no equity)."""

    params = (("guard", None), ("skip_through", None))

    def next(self) -> None:
        guard: RiskGuard = self.p.guard
        strategy = self.strategy
        now = strategy.datetime.datetime(0)
        if self.p.skip_through is not None and now <= self.p.skip_through:
            return
        guard.on_bar(now, strategy.broker.getvalue())
        if guard.wants_flatten:
            self._flatten(guard)

    def _flatten(self, guard: RiskGuard) -> None:
        """Close every position that has no open order yet (the orders pass the guard: exits)."""
        broker = self.strategy.broker
        if guard.state.flatten_requested:  # `parity flatten`: cancel everything first
            for order in broker.get_orders_open():
                if order.alive() and not order.info.get("risk"):
                    broker.cancel(order)
        busy = {o.data for o in broker.get_orders_open() if o.alive()}
        # why, as trades.csv's exit_reason says it: an operator's `parity flatten`, or the kill
        # switch tripping with `flatten_on_kill`
        why = FLATTEN if guard.state.flatten_requested else KILL_SWITCH
        for data in self.strategy.datas:
            size = broker.getposition(data).size
            if size and data not in busy:
                self.strategy.close(
                    data=data,
                    risk="flatten",
                    decision={"reason": why, "kill_reason": guard.state.kill_reason},
                )
                guard.emit(
                    "risk.flatten",
                    {"reason": f"{why}: closing position", "symbol": data._name, "qty": size},
                )

    def stop(self) -> None:
        self.p.guard.flush()

    def get_analysis(self) -> dict[str, Any]:
        guard: RiskGuard = self.p.guard
        return {"state": guard.state.to_dict(), "events": len(guard.events)}


def risk_guard(
    limits: RiskLimits | None,
    run_dir: Path,
    *,
    emit: Emit | None = None,
    always: bool = False,
    fresh: bool = False,
) -> RiskGuard | None:
    """The run's guard, its state in `run_dir/risk_state.json`, for the broker's constructor
    (through its `OrderReview`). No limits and not `always` (a backtest without limits): None.
    Paper runs pass `always=True` so that `parity halt` works on them."""
    if limits is None or not limits.active:
        if not always:
            return None
        limits = limits or RiskLimits()
    store = JsonRiskStateStore.in_run(run_dir)
    return RiskGuard(limits, store, emit=emit, fresh=fresh, watch=not fresh)


def attach_risk(
    cerebro: bt.Cerebro, guard: RiskGuard | None, *, skip_through: dt.datetime | None = None
) -> None:
    """Add the `RiskMonitor` of `guard` (the one the broker reviews its orders with)."""
    if guard is not None:
        cerebro.addanalyzer(RiskMonitor, _name="risk", guard=guard, skip_through=skip_through)


def risk_notifier(
    notify: Callable[[str], None],
    record: Callable[[str, dict[str, Any], str], None] | None = None,
) -> Emit:
    """An `emit` that tells the operator (a paper run's `notify`) about every risk event and,
    with `record(kind, payload, level)` (a journal's `event`), journals it as kind "risk":
    `{"event": "risk.kill_switch"|..., **payload}`, level error for the kill switch."""

    def emit(kind: str, payload: dict[str, Any]) -> None:
        notify(f"{kind}: {payload.get('reason', '')}")
        if record is not None:
            level = "error" if kind == "risk.kill_switch" else "warning"
            record("risk", {"event": kind, **payload}, level)

    return emit
