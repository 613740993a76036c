"""Action items of a report: risk limits near breach, the kill switch, risk events, errors,
alerts and a divergence verdict worse than PASS.

Limit usage is measured the way the risk guard measures it (`parity.risk.guard`): the daily
loss from the day's start equity (the previous close) to the day's lowest bar, the drawdown of
each bar from the highest equity so far, and, at the day's last bar, gross exposure, open
positions and per-symbol size; orders per day count the orders the day sent (risk rejections
are not sent). Each limit reports the worst day of the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from parity.reports.periodic import (
    NEAR_BREACH,
    SEVERITIES,
    ReportInputs,
    book,
    equity_before,
    equity_until,
    events_in,
    fills_until,
    last_prices,
)


def _day_bars(inputs: ReportInputs, day: dt.date) -> pd.Series:
    values = inputs.equity["value"]
    start = pd.Timestamp(day)
    return values[(values.index >= start) & (values.index < start + pd.Timedelta(days=1))]


def _usage(name: str, value: float, limit: float, day: dt.date, text: str) -> dict[str, Any]:
    usage = value / limit if limit > 0 else None
    return {
        "limit": name,
        "value": value,
        "threshold": limit,
        "usage": usage,
        "date": day.isoformat(),
        "near": usage is not None and usage >= NEAR_BREACH,
        "breached": usage is not None and usage >= 1.0 - 1e-12,
        "text": text,
    }


def _measures(inputs: ReportInputs, day: dt.date, limits: Any) -> list[dict[str, Any]]:
    """Every configured limit's usage on `day`."""
    out: list[dict[str, Any]] = []
    bars = _day_bars(inputs, day)
    if not len(bars):
        return out
    start = equity_before(inputs, day)
    loss = max(start - float(bars.min()), 0.0)
    caps = []
    if limits.daily_loss_pct is not None:
        caps.append(limits.daily_loss_pct * start)
    if limits.daily_loss_amount is not None:
        caps.append(limits.daily_loss_amount)
    if caps:
        out.append(_usage("daily_loss", loss, min(caps), day, "daily loss (from the day's start)"))
    if limits.max_drawdown is not None:
        history = equity_until(inputs, day)["value"]
        peak = history.cummax().clip(lower=float(inputs.starting_cash))
        drawdown = (1.0 - history / peak)[history.index >= pd.Timestamp(day)]
        out.append(
            _usage("max_drawdown", float(drawdown.max()), limits.max_drawdown, day, "drawdown")
        )
    held = book(fills_until(inputs, day))
    prices = last_prices(inputs, day)
    value = float(bars.iloc[-1])
    if len(held) == 1:
        ((symbol, (qty, _avg)),) = held.items()
        cash = float(equity_until(inputs, day)["cash"].iloc[-1])
        prices.setdefault(symbol, (value - cash) / qty)
    notional = {s: abs(q) * prices[s] for s, (q, _a) in held.items() if s in prices}
    gross = float(sum(notional.values()))
    if limits.max_gross_exposure is not None and value > 0:
        out.append(
            _usage(
                "gross_exposure",
                gross / value,
                limits.max_gross_exposure,
                day,
                "gross exposure / equity",
            )
        )
    if limits.max_gross_notional is not None:
        out.append(
            _usage("gross_notional", gross, limits.max_gross_notional, day, "gross notional")
        )
    if limits.max_open_positions is not None:
        out.append(
            _usage(
                "open_positions",
                float(len(held)),
                float(limits.max_open_positions),
                day,
                "open positions",
            )
        )
    if limits.max_position_shares is not None and held:
        shares = max(abs(q) for q, _a in held.values())
        out.append(
            _usage(
                "position_shares",
                shares,
                limits.max_position_shares,
                day,
                "largest position (shares)",
            )
        )
    if limits.max_position_notional is not None and notional:
        out.append(
            _usage(
                "position_notional",
                max(notional.values()),
                limits.max_position_notional,
                day,
                "largest position (notional)",
            )
        )
    if limits.max_orders_per_day is not None:
        out.append(
            _usage(
                "orders_per_day",
                float(_orders_sent(inputs, day)),
                float(limits.max_orders_per_day),
                day,
                "orders sent",
            )
        )
    return out


def _orders_sent(inputs: ReportInputs, day: dt.date) -> int:
    orders = inputs.orders
    if not len(orders):
        return 0
    when = pd.DatetimeIndex(pd.to_datetime(orders["submitted_at"]))
    on_day = (when >= pd.Timestamp(day)) & (when < pd.Timestamp(day) + pd.Timedelta(days=1))
    refused = (orders["status"].astype(str).str.lower() == "rejected") & orders["reason"].fillna(
        ""
    ).astype(str).str.startswith("risk")
    return int((on_day & ~refused.to_numpy()).sum())


def limit_usage(inputs: ReportInputs, days: list[dt.date]) -> list[dict[str, Any]]:
    """Each configured limit at its worst day of `days` (empty without limits)."""
    limits = inputs.limits
    if limits is None:
        return []
    worst: dict[str, dict[str, Any]] = {}
    for day in days:
        for item in _measures(inputs, day, limits):
            seen = worst.get(item["limit"])
            if seen is None or (item["usage"] or 0.0) > (seen["usage"] or 0.0):
                worst[item["limit"]] = item
    return list(worst.values())


def _action(severity: str, kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"severity": severity, "kind": kind, "message": message, **extra}


def action_items(
    inputs: ReportInputs,
    first: dt.date,
    last: dt.date,
    *,
    limits: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    divergence: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """What the operator should look at, most severe first."""
    out: list[dict[str, Any]] = []
    state = inputs.risk_state or {}
    if state.get("killed"):
        when = str(state.get("killed_at") or "")
        if not when[:10] or when[:10] <= last.isoformat():
            out.append(
                _action(
                    "critical",
                    "kill_switch",
                    f"kill switch ON since {when or '?'}: {state.get('kill_reason') or '?'}; "
                    "`parity risk reset RUN` clears it",
                )
            )
    if (
        state.get("day_halt_reason")
        and first.isoformat() <= str(state.get("day")) <= last.isoformat()
    ):
        out.append(
            _action("warning", "daily_halt", f"daily loss limit hit: {state['day_halt_reason']}")
        )
    for item in limits:
        if item["near"]:
            severity = "critical" if item["breached"] else "warning"
            out.append(
                _action(
                    severity,
                    "risk_limit",
                    f"{item['text']} at {100 * item['usage']:.0f}% of its limit on {item['date']}",
                    limit=item["limit"],
                )
            )
    out += _risk_events(inputs, first, last)
    errors = events_in(inputs, "error", first, last)
    for payload in errors["payload"] if len(errors) else []:
        p = payload if isinstance(payload, Mapping) else {}
        out.append(
            _action("critical", "error", f"run ended on {p.get('type')}: {p.get('message')}")
        )
    out += _alert_actions(alerts)
    status = divergence.get("status")
    if status in ("WARN", "FAIL"):
        reasons = "; ".join(divergence.get("reasons") or []) or "see `parity compare`"
        where = (
            f"session check of {divergence.get('session')}"
            if divergence.get("source") == "journal"
            else "`parity compare` with its backtest twin"
        )
        out.append(
            _action(
                "critical" if status == "FAIL" else "warning",
                "divergence",
                f"backtest vs live {status} ({where}): {reasons}",
            )
        )
    return sorted(out, key=lambda a: SEVERITIES.index(a["severity"]))


def _risk_events(inputs: ReportInputs, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    events = events_in(inputs, "risk", first, last)
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for payload in events["payload"] if len(events) else []:
        if isinstance(payload, Mapping):
            grouped.setdefault(str(payload.get("event", "risk")), []).append(payload)
    out = []
    for name, items in grouped.items():
        if name == "risk.reset":
            continue
        severity = "critical" if name == "risk.kill_switch" else "warning"
        count = f"{len(items)}x " if len(items) > 1 else ""
        reason = items[-1].get("reason") or ""
        out.append(_action(severity, "risk_event", f"{count}{name}: {reason}", event=name))
    return out


def _alert_actions(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per alert key (severity of its worst level), repeats counted."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        key = str(alert.get("key") or alert.get("rule") or alert.get("title"))
        grouped.setdefault(key, []).append(alert)
    out = []
    for key, items in grouped.items():
        levels = [a["level"] if a["level"] in SEVERITIES else "info" for a in items]
        severity = min(levels, key=SEVERITIES.index)
        last = items[-1]
        text = last.get("title") or last.get("rule") or key
        if last.get("message"):
            text = f"{text}: {last['message']}"
        if len(items) > 1:
            text += f" ({len(items)} alerts)"
        out.append(_action(severity, "alert", text, rule=last.get("rule"), key=key))
    return out
