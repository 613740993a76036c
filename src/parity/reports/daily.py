"""The daily report of a run: one trading date (see `parity.reports.periodic` for the model)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from parity.errors import ConfigError, ReportError
from parity.instruments.calendars import manifest_calendar
from parity.instruments.money import run_currency
from parity.reports.actions import action_items, limit_usage
from parity.reports.option_period import options_period
from parity.reports.periodic import (
    Report,
    ReportInputs,
    alerts,
    divergence,
    performance,
    pnl,
    portfolio,
    trades,
)


def parse_day(text: str, option: str = "--date") -> dt.date:
    """`YYYY-MM-DD`, or a one-line `ConfigError`."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a date; use YYYY-MM-DD, e.g. 2013-10-07"
        ) from None


def run_section(inputs: ReportInputs) -> dict[str, Any]:
    m = inputs.manifest
    return {
        "run_id": inputs.run_id,
        "mode": inputs.mode,
        "venue": m.venue,
        "status": inputs.status,
        "strategy": m.strategy.name or None,
        "symbols": list(m.symbols),
        "timeframe": m.timeframe,
        "currency": run_currency(m),
        "calendar": manifest_calendar(m).describe(),
        "first_date": inputs.dates()[0].isoformat() if inputs.dates() else None,
        "last_date": inputs.dates()[-1].isoformat() if inputs.dates() else None,
    }


def check_has_bars(inputs: ReportInputs) -> list[dt.date]:
    days = inputs.dates()
    if not days:
        raise ReportError(
            f"run {inputs.run_id} has no bars yet; a report needs at least one bar (try again "
            "after the run's first bar)"
        )
    return days


def build(inputs: ReportInputs, kind: str, label: str, days: list[dt.date]) -> Report:
    """The sections every report has, over the trading dates `days` (sorted, non-empty)."""
    first, last = days[0], days[-1]
    limits = limit_usage(inputs, days)
    period_alerts = alerts(inputs, first, last)
    versus = divergence(inputs, last)
    return Report(
        kind=kind,
        run=run_section(inputs),
        period={
            "label": label,
            "start": first.isoformat(),
            "end": last.isoformat(),
            "dates": [d.isoformat() for d in days],
        },
        portfolio=portfolio(inputs, last),
        pnl=pnl(inputs, first, last),
        trades=trades(inputs, first, last),
        performance=performance(inputs, last),
        divergence=versus,
        limits=limits,
        actions=action_items(
            inputs, first, last, limits=limits, alerts=period_alerts, divergence=versus
        ),
        alerts=period_alerts,
        options=options_period(inputs, first, last),
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def daily_report(inputs: ReportInputs, day: dt.date | None = None) -> Report:
    """The report of `day` (default: the date of the run's last bar)."""
    days = check_has_bars(inputs)
    day = day or days[-1]
    if day not in days:
        raise ReportError(
            f"run {inputs.run_id} has no bars on {day}; pick a date from {days[0]} to "
            f"{days[-1]} with --date"
        )
    return build(inputs, "daily", day.isoformat(), [day])
