"""Plain-text tables for the terminal: metrics and run listings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from parity.analyzers.metrics import METRIC_KEYS
from parity.instruments.money import DEFAULT_CURRENCY, format_money
from parity.reports.labels import metric_label

PERCENT = {"total_return", "cagr", "volatility", "max_drawdown", "win_rate", "exposure"}
RATIO = {"sharpe", "sortino", "calmar", "profit_factor", "turnover"}
MONEY = {"expectancy", "avg_win", "avg_loss"}


def format_metric(
    name: str, value: Any, flags: Mapping[str, str] | None = None, currency: str | None = None
) -> str:
    """One metric value as a person reads it (`12.34%`, `1.52`, `-1,234.56`, `n/a`); money in
    the run's `currency` when given (`-₹1,234.56`)."""
    if value is None:
        flag = (flags or {}).get(name)
        return f"n/a ({flag.replace('_', ' ')})" if flag else "n/a"
    if name in PERCENT:
        return f"{value * 100:.2f}%"
    if name in RATIO:
        return f"{value:.2f}"
    if name in MONEY:
        return format_money(value, currency) if currency else f"{value:,.2f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4f}"
    return f"{int(value):,}" if isinstance(value, int | float) else str(value)


def metrics_table(metrics: Mapping[str, Any], currency: str | None = None) -> str:
    """A two-column table of the design's metrics, in the design's order, as a person reads
    them (`Win rate  46.30% (25 W / 29 L)`, money in the run's `currency`, USD when unnamed)."""
    flags = metrics.get("flags") or {}
    money = currency or DEFAULT_CURRENCY
    width = max(len(metric_label(name)) for name in METRIC_KEYS)
    return "\n".join(
        f"  {metric_label(name):<{width}}  "
        f"{format_metric(name, metrics.get(name), flags, money):>14}{metric_note(name, metrics)}"
        for name in METRIC_KEYS
    )


def metric_note(name: str, metrics: Mapping[str, Any]) -> str:
    """What a figure needs beside it: the win/loss counts behind a win rate."""
    rate, trades = metrics.get("win_rate"), metrics.get("trades")
    if name != "win_rate" or rate is None or not trades:
        return ""
    wins = round(rate * trades)
    return f" ({wins} W / {int(trades) - wins} L)"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A left-aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)
