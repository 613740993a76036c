"""`RiskGuard`: decides, order by order, whether the strategy's intent may reach the broker, and
keeps the kill switch, the daily loss halt and the daily order count.

The brokers call `review(order, broker)` at submission (a rejection reason, or None); a runner
calls `on_bar(now, equity)` once per bar (`RiskMonitor`). Only entries are ever blocked: an
order that reduces a position (selling a long down, covering a short) always passes. Every
rejection and every switch change is emitted as `emit(kind, payload)`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from parity.risk.limits import RiskLimits
from parity.risk.rules import BrokerView, OrderIntent, exposure_breach, reduces_risk
from parity.risk.state import RiskState, RiskStateStore, WatchedStore

log = logging.getLogger("parity.risk")

Emit = Callable[[str, dict[str, Any]], None]
SAVE_EVERY_S = 1.0  # equity marks alone are written at most this often (switches at once)


class RiskGuard:
    """Risk limits and kill switch between the strategy and the broker (every mode)."""

    def __init__(
        self,
        limits: RiskLimits,
        store: RiskStateStore,
        *,
        emit: Emit | None = None,
        fresh: bool = False,
        watch: bool = True,
    ) -> None:
        """`fresh` starts from an empty state (a new backtest); `watch` re-reads the store when
        another process rewrote it (`parity halt` on a running paper run)."""
        self.limits = limits
        self.store = store
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._emit = emit
        self._watch = watch and isinstance(store, WatchedStore)
        self.state = RiskState() if fresh else store.load()
        self._saved_at = 0.0
        self._dirty = False
        self.store.save(self.state)

    # ------------------------------------------------------------------ events, persistence

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append((kind, payload))
        if self._emit is not None:
            self._emit(kind, payload)
        else:
            log.info("%s: %s", kind, payload.get("reason", payload))

    def _save(self, now: bool = True) -> None:
        if now or (self._dirty and time.monotonic() - self._saved_at >= SAVE_EVERY_S):
            self._refresh()  # an operator's halt written since we last looked is kept
            self.store.save(self.state)
            self._saved_at = time.monotonic()
            self._dirty = False

    def flush(self) -> None:
        """Write pending equity marks (end of run)."""
        if self._dirty:
            self._save()

    def _refresh(self) -> None:
        """Take an operator's change of the stored state (`parity halt`, `parity risk reset`):
        the switches only; the counters and marks stay ours. Updated in place."""
        if not (self._watch and self.store.changed()):  # type: ignore[attr-defined]
            return
        state, theirs = self.state, self.store.load()
        was_killed = state.killed
        if theirs.resets != state.resets:  # `parity risk reset`
            state.resets, state.day_halt_reason = theirs.resets, theirs.day_halt_reason
            state.killed, state.kill_reason = theirs.killed, theirs.kill_reason
            state.killed_at, state.peak_equity = theirs.killed_at, theirs.peak_equity
        elif theirs.killed and not state.killed:  # `parity halt` (or `parity flatten`)
            state.killed, state.kill_reason = theirs.killed, theirs.kill_reason
            state.killed_at = theirs.killed_at
        if theirs.flatten_requested and state.killed:
            state.flatten_requested = True
        if state.killed and not was_killed:
            self.emit("risk.kill_switch", {"reason": state.kill_reason, "source": "external"})
        elif was_killed and not state.killed:
            self.emit("risk.reset", {"reason": "kill switch cleared", "source": "external"})

    # ------------------------------------------------------------------ bars

    @property
    def wants_flatten(self) -> bool:
        """The kill switch is on and the limits ask to close positions when it trips."""
        return self.state.killed and (self.limits.flatten_on_kill or self.state.flatten_requested)

    def on_bar(self, now: dt.datetime, equity: float) -> None:
        """Update the day's P&L and the drawdown from the bar `now` (naive New York time)."""
        self._refresh()
        self._observe(now, equity)
        self._save(now=False)

    def _observe(self, now: dt.datetime, equity: float) -> None:
        state, limits = self.state, self.limits
        day = now.date().isoformat()
        if state.day != day:
            start = state.last_equity if state.last_equity is not None else equity
            state.day, state.day_start_equity = day, start
            state.orders_today, state.day_halt_reason = 0, ""
            self._save()
        state.last_equity = equity
        if state.peak_equity is None or equity > state.peak_equity:
            state.peak_equity = equity
        self._dirty = True
        peak = state.peak_equity
        if limits.max_drawdown is not None and not state.killed and peak > 0:
            drop = 1.0 - equity / peak
            if drop >= limits.max_drawdown - 1e-12:
                self.trip(
                    f"max drawdown {limits.max_drawdown * 100:g}% hit: equity {equity:,.2f} is "
                    f"{drop:.2%} below the peak {peak:,.2f}",
                    when=now,
                )
        start = state.day_start_equity or equity
        loss = start - equity
        if state.day_halt_reason or loss <= 0:
            return
        pct, amount = limits.daily_loss_pct, limits.daily_loss_amount
        if (pct is not None and loss >= pct * start - 1e-9) or (
            amount is not None and loss >= amount - 1e-9
        ):
            state.day_halt_reason = (
                f"down {loss:,.2f} ({loss / start:.2%}) from the day's start {start:,.2f}"
            )
            self.emit("risk.daily_loss", {"reason": state.day_halt_reason, "when": str(now)})
            self._save()

    def trip(self, reason: str, when: dt.datetime | None = None) -> None:
        """Turn the kill switch on (persisted at once)."""
        if self.state.killed:
            return
        self.state.killed, self.state.kill_reason = True, reason
        self.state.killed_at = (when or dt.datetime.now()).isoformat()
        self.emit("risk.kill_switch", {"reason": reason, "when": self.state.killed_at})
        self._save()

    # ------------------------------------------------------------------ orders

    def check(self, intent: OrderIntent, view: BrokerView) -> str | None:
        """The reason `intent` must be rejected, or None (the order counts toward the day)."""
        self._refresh()
        self._observe(intent.when, view.equity)
        reason = None if reduces_risk(intent, view) else self._entry_breach(intent, view)
        if reason is not None:
            self.emit("risk.rejected", {"reason": reason, **dataclasses.asdict(intent)})
            return reason
        self.state.orders_today += 1
        self._save()
        return None

    def _entry_breach(self, intent: OrderIntent, view: BrokerView) -> str | None:
        state, limits = self.state, self.limits
        if state.killed:
            return f"risk: kill switch on ({state.kill_reason}); `parity risk reset` clears it"
        if state.day_halt_reason:
            return f"risk: daily loss limit hit ({state.day_halt_reason}); no entries today"
        if not limits.within_hours(intent.when):
            return f"risk: outside trading hours {limits.hours_text()} (bar {intent.when:%H:%M})"
        cap = limits.max_orders_per_day
        if cap is not None and state.orders_today + 1 > cap:
            return f"risk: max orders per day {cap} (would be {state.orders_today + 1})"
        return exposure_breach(limits, intent, view)

    def review(self, order: Any, broker: Any) -> str | None:
        """`check` for a Backtrader order about to be submitted to `broker`."""
        from parity.risk.adapter import broker_view, order_intent

        return self.check(order_intent(order), broker_view(broker, order))
