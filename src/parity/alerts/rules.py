"""Alert rules: journal rows in, `Alert` values out. No I/O: the engine reads the journal and
hands every new row to `Rules`, which keeps the little state the rules need (peak equity, the
day's base, open stream disconnects, rejected orders already seen).

Rules: daily loss beyond X%, drawdown beyond Y% from peak, divergence threshold crossed, feed
stale, stream disconnected beyond its grace period (checked on the wall clock by `tick`, so it
fires while the stream is still down), order rejected, risk limit breached / kill switch,
restart after a crash, unhandled error; for options (`option_rules`): a rejected combo, an
assignment, exercise or expiry, a spread paid beyond its assumption.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from parity.alerts.alert import Alert, Severity
from parity.alerts.config import AlertConfig
from parity.alerts.option_rules import EVENT_SEVERITY, OptionRules

__all__ = ["Alert", "Rules", "Severity"]


@dataclass
class _Disconnect:
    since: dt.datetime
    reason: str
    fired: bool = False


@dataclass
class _EquityState:
    day: dt.date | None = None
    base: float | None = None  # the day's reference equity
    last: float | None = None  # the last equity seen (the previous day's close on a new day)
    peak: float | None = None
    daily_fired: bool = False
    drawdown_armed: bool = True


_RISK: dict[str, tuple[Severity, str]] = {
    "risk.kill_switch": ("critical", "kill switch tripped"),
    "risk.daily_loss": ("warning", "daily loss limit reached: no new entries today"),
    "risk.rejected": ("warning", "order blocked by a risk limit"),
    "risk.reset": ("info", "risk state reset"),
}


@dataclass
class Rules:
    """The rules of one run, fed row by row (in journal order per table)."""

    config: AlertConfig
    equity: _EquityState = field(default_factory=_EquityState)
    disconnects: dict[str, _Disconnect] = field(default_factory=dict)
    rejected: set[str] = field(default_factory=set)
    options: OptionRules = field(init=False)

    def __post_init__(self) -> None:
        self.options = OptionRules(self.config)

    # ------------------------------------------------------------------ equity

    def on_equity(self, at: dt.datetime, value: float) -> list[Alert]:
        """One equity row (`at`: the New York bar label)."""
        alerts: list[Alert] = []
        s, value = self.equity, float(value)
        if s.day != at.date():
            s.day, s.daily_fired = at.date(), False
            s.base = s.last if s.last is not None else value
        s.last = value
        if s.base and not s.daily_fired:
            loss = (s.base - value) / s.base * 100.0
            if loss > self.config.daily_loss_pct:
                s.daily_fired = True
                alerts.append(
                    Alert(
                        "daily_loss", f"daily_loss:{s.day}", "critical",
                        f"daily loss {loss:.2f}% on {s.day}",
                        f"equity {value:,.2f} is {loss:.2f}% below the day's start "
                        f"{s.base:,.2f} (alert threshold {self.config.daily_loss_pct:g}%)",
                        value=round(loss, 4), threshold=self.config.daily_loss_pct,
                    )
                )  # fmt: skip
        s.peak = value if s.peak is None else max(s.peak, value)
        drawdown = (s.peak - value) / s.peak * 100.0 if s.peak else 0.0
        if drawdown > self.config.drawdown_pct and s.drawdown_armed:
            s.drawdown_armed = False
            alerts.append(
                Alert(
                    "drawdown", "drawdown", "critical", f"drawdown {drawdown:.2f}% from peak",
                    f"equity {value:,.2f} is {drawdown:.2f}% below its peak {s.peak:,.2f} "
                    f"(alert threshold {self.config.drawdown_pct:g}%)",
                    value=round(drawdown, 4), threshold=self.config.drawdown_pct,
                )
            )  # fmt: skip
        elif drawdown <= self.config.drawdown_pct:
            s.drawdown_armed = True  # recovered: a new breach alerts again
        return alerts

    # ------------------------------------------------------------------ orders

    def on_order_event(
        self, client_order_id: str, status: str, reason: str | None, symbol: str | None
    ) -> list[Alert]:
        """An order state; a rejection alerts once per order (strategy and venue both report
        it). Rejections by a risk limit are the risk rule's."""
        if status.lower() != "rejected" or client_order_id in self.rejected:
            return []
        self.rejected.add(client_order_id)
        why = (reason or "no reason given").strip()
        if why.startswith("risk:"):
            return []
        combo = self.options.rejected(client_order_id, why)
        if combo is not None:  # a combo (or one of its legs): one alert naming the legs
            return combo
        return [
            Alert(
                "order_rejected", f"order_rejected:{symbol}:{why[:80]}", "warning",
                f"order rejected{f' ({symbol})' if symbol else ''}",
                f"order {client_order_id} was rejected: {why}", symbol=symbol,
            )
        ]  # fmt: skip

    def on_intent(
        self,
        client_order_id: str,
        symbol: str,
        side: str,
        qty: float,
        multiplier: float | None = None,
        parent: str | None = None,
        leg: int | None = None,
    ) -> None:
        """An order intent: where it belongs (a combo's legs, a contract's multiplier)."""
        self.options.on_intent(client_order_id, symbol, side, qty, multiplier, parent, leg)

    def on_fill(
        self,
        client_order_id: str,
        cum_qty: float,
        qty: float,
        price: float,
        mid: float | None = None,
        spread_cost: float | None = None,
    ) -> list[Alert]:
        """A fill; an option leg's (with its quote's mid) is checked against the assumed
        spread."""
        return self.options.on_fill(client_order_id, cum_qty, qty, price, mid, spread_cost)

    # ------------------------------------------------------------------ events

    def on_event(self, kind: str, payload: dict[str, Any] | None, at: dt.datetime) -> list[Alert]:
        """An `events` row (`at`: UTC wall time)."""
        p = payload or {}
        if kind.startswith("option_") and kind.removeprefix("option_") in EVENT_SEVERITY:
            return self.options.event(kind.removeprefix("option_"), p)
        handler = getattr(self, f"_on_{kind}", None)
        return list(handler(p, at)) if handler is not None else []

    def _on_feed(self, p: dict[str, Any], _at: dt.datetime) -> list[Alert]:
        if p.get("state") != "stale":
            return []
        symbol = p.get("symbol")
        bars = self.config.stale_bars
        return [
            Alert(
                "feed_stale", f"feed_stale:{symbol}", "warning", f"{symbol} feed stale",
                f"no {symbol} bar for {bars} bar interval(s) while the market is open",
                symbol=symbol, threshold=float(bars),
            )
        ]  # fmt: skip

    def _on_divergence(self, p: dict[str, Any], _at: dt.datetime) -> list[Alert]:
        if p.get("event") != "divergence_threshold_crossed":
            return []
        status = str(p.get("status", "WARN"))
        reasons = "; ".join(str(r) for r in p.get("reasons") or []) or "see the divergence report"
        return [
            Alert(
                "divergence", f"divergence:{status}", "critical" if status == "FAIL" else "warning",
                f"divergence {status} vs the backtest twin",
                f"session {p.get('session', '?')}: {reasons}",
            )
        ]  # fmt: skip

    def _on_stream(self, p: dict[str, Any], at: dt.datetime) -> list[Alert]:
        name, state = str(p.get("stream", "?")), p.get("state")
        reason = str(p.get("reason") or "")
        if state == "disconnected":
            self.disconnects.setdefault(name, _Disconnect(at, reason))
            return []
        if state != "connected" or name not in self.disconnects:
            return []
        down = self.disconnects.pop(name)
        seconds = (at - down.since).total_seconds()
        if down.fired:
            return [
                Alert(
                    "stream_reconnected", f"stream_reconnected:{name}", "info",
                    f"{name} stream reconnected", f"{name} stream back after {seconds:.0f} s",
                    value=round(seconds, 1),
                )
            ]  # fmt: skip
        if seconds > self.config.disconnect_grace_s:
            return [self._disconnected(name, down, seconds, still=False)]
        return []

    def _on_risk(self, p: dict[str, Any], _at: dt.datetime) -> list[Alert]:
        event = str(p.get("event", ""))
        if event not in _RISK:
            return []
        severity, title = _RISK[event]
        symbol = p.get("symbol")
        reason = str(p.get("reason") or "")
        key = f"{event}:{symbol}" if event == "risk.rejected" else event
        return [Alert("risk", key, severity, title, reason or title, symbol=symbol)]

    def _on_resumed(self, p: dict[str, Any], at: dt.datetime) -> list[Alert]:
        previous = p.get("previous_status")
        if previous == "finished":
            return []
        how = "killed without cleanup" if previous == "running" else str(previous)
        return [
            Alert(
                "restart", f"restart:{at.isoformat()}", "warning", "run restarted after a crash",
                f"the run was resumed after a crash (previous process {p.get('previous_pid')}: "
                f"{how}); check the reconciliation report",
            )
        ]  # fmt: skip

    def _on_error(self, p: dict[str, Any], _at: dt.datetime) -> list[Alert]:
        kind = str(p.get("type", "Exception"))
        return [
            Alert(
                "error", f"error:{kind}", "critical", f"run stopped by {kind}",
                f"a {kind} ended the paper run: {p.get('message', '')}",
                console=False,  # the run's own one-line error says it on the console
            )
        ]  # fmt: skip

    # ------------------------------------------------------------------ wall clock

    def tick(self, now: dt.datetime) -> list[Alert]:
        """Streams still disconnected past the grace period (`now`: UTC wall time)."""
        alerts = []
        for name, down in self.disconnects.items():
            seconds = (now - down.since).total_seconds()
            if not down.fired and seconds > self.config.disconnect_grace_s:
                alerts.append(self._disconnected(name, down, seconds, still=True))
        return alerts

    def _disconnected(self, name: str, down: _Disconnect, seconds: float, *, still: bool) -> Alert:
        down.fired = True
        verb = "has been" if still else "was"
        return Alert(
            "stream_disconnected", f"stream_disconnected:{name}", "warning",
            f"{name} stream disconnected",
            f"{name} stream {verb} disconnected for {seconds:.0f} s "
            f"(grace {self.config.disconnect_grace_s:g} s): {down.reason or 'no reason given'}",
            value=round(seconds, 1), threshold=self.config.disconnect_grace_s,
        )  # fmt: skip
