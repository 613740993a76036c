"""The options section of a run's tearsheet: the model's assumptions, the cost breakdown per
contract, the trades per combo, each order with its legs (fill, mid, spread and slippage paid,
fees), the open positions' and the portfolio's Greeks with their history (from `metrics.json`'s
`options` entry and the run's `options_*.csv`), and the assumptions table when the run has
been compared (`compare/assumptions.csv`)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from parity.reports.option_html import options_html
from parity.reports.option_tables import combos_from_files, greeks_from_files, read_assumptions

MAX_TRADES = 200


def options_section(run_dir: Path, metrics: Mapping[str, Any]) -> str | None:
    """The section's HTML, or None for a run without options (a paper run's metrics have no
    `options` entry: its section starts at the trades)."""
    entry = metrics.get("options")
    trades_path = run_dir / "options_trades.csv"
    if not trades_path.is_file():
        return None
    trades = pd.read_csv(trades_path)
    parts = ['<section id="options"><h2>Options</h2>']
    if isinstance(entry, Mapping):
        parts += _summary(entry)
    shown = trades.head(MAX_TRADES)
    parts += [
        f"<h3>Trades ({len(trades)})</h3>",
        _table(list(shown.columns), shown.values.tolist()),
        # each order with its legs, the Greeks, and the compare's assumptions table
        options_html(
            combos_from_files(run_dir), greeks_from_files(run_dir), read_assumptions(run_dir)
        ),
        "</section>",
    ]
    return "\n".join(parts)


def _summary(entry: Mapping[str, Any]) -> list[str]:
    """The results, costs and event counts of `metrics.json`'s `options`, and the chain's
    assumptions."""
    costs = entry.get("costs", {})
    summary = [
        ("option trades", entry.get("trades")),
        ("win rate", _pct(entry.get("win_rate"))),
        ("option P&L", entry.get("pnl")),
        ("P&L a session", entry.get("pnl_per_session")),
        ("sessions traded", _pct(entry.get("sessions_traded"))),
        ("contracts traded", entry.get("contracts_traded")),
        *((f"cost: {k.replace('_', ' ')}", v) for k, v in costs.items()),
        *((f"events: {k}", v) for k, v in entry.get("events", {}).items()),
    ]
    parts = [_table(["", ""], summary)]
    chain = entry.get("assumptions", {}).get("chain", {})
    if chain:
        parts += ["<h3>Assumptions</h3>", _table(["assumption", "value"], list(chain.items()))]
    return parts


def add_to_tearsheet(path: Path, section: str) -> None:
    """Insert `section` before the tearsheet's closing body tag."""
    text = path.read_text(encoding="utf-8")
    at = text.rfind("</body>")
    text = text[:at] + section + text[at:] if at >= 0 else text + section
    path.write_text(text, encoding="utf-8")


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"


def _table(headers: list[Any], rows: list[Any]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
