"""The weekly report: the daily report's sections over an ISO week, plus a per-day breakdown
and the week's equity curve."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pandas as pd

from parity.errors import ConfigError, ReportError
from parity.reports.daily import build, check_has_bars
from parity.reports.periodic import Report, ReportInputs, equity_before, trades

CURVE_POINTS = 400  # at most this many points of the equity curve (evenly thinned)
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def parse_week(text: str) -> tuple[int, int]:
    """`YYYY-Www` (ISO week), or a one-line `ConfigError`."""
    match = _WEEK.match(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        year, week = int(match.group(1)), int(match.group(2))
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ConfigError(
            f"--week {text!r} is not an ISO week; use YYYY-Www, e.g. 2013-W41"
        ) from None
    return year, week


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def day_rows(inputs: ReportInputs, days: list[dt.date]) -> list[dict[str, Any]]:
    """Per date: P&L and return against the previous close, fills, closed trades, end equity."""
    rows = []
    for day in days:
        start = equity_before(inputs, day)
        values = inputs.equity["value"]
        end = float(values[values.index < pd.Timestamp(day) + pd.Timedelta(days=1)].iloc[-1])
        done = trades(inputs, day, day)
        rows.append(
            {
                "date": day.isoformat(),
                "pnl": end - start,
                "return": end / start - 1.0 if start > 0 else None,
                "fills": done["fill_count"],
                "trades": done["closed_count"],
                "end_equity": end,
            }
        )
    return rows


def equity_curve(inputs: ReportInputs, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The period's equity per bar (thinned to `CURVE_POINTS`, the last bar always kept)."""
    values = inputs.equity["value"]
    start = pd.Timestamp(first)
    window = values[
        (values.index >= start) & (values.index < pd.Timestamp(last) + pd.Timedelta(days=1))
    ]
    step = max(1, -(-len(window) // CURVE_POINTS))
    picked = window.iloc[::step]
    if len(window) and picked.index[-1] != window.index[-1]:
        picked = pd.concat([picked, window.iloc[-1:]])
    return [{"datetime": t.isoformat(), "value": float(v)} for t, v in picked.items()]


def weekly_report(
    inputs: ReportInputs, week: tuple[int, int] | None = None, *, day: dt.date | None = None
) -> Report:
    """The report of ISO `week` (or the week of `day`; default: the week of the last bar)."""
    days = check_has_bars(inputs)
    if week is None:
        year, number, _ = (day or days[-1]).isocalendar()
        week = (year, number)
    in_week = [d for d in days if tuple(d.isocalendar())[:2] == week]
    label = week_label(*week)
    if not in_week:
        first = days[0].isocalendar()
        last = days[-1].isocalendar()
        raise ReportError(
            f"run {inputs.run_id} has no bars in week {label}; pick a week from "
            f"{week_label(first[0], first[1])} to {week_label(last[0], last[1])} with --week"
        )
    report = build(inputs, "weekly", label, in_week)
    return dataclasses.replace(
        report,
        days=day_rows(inputs, in_week),
        equity_curve=equity_curve(inputs, in_week[0], in_week[-1]),
    )
