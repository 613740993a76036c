"""The options panel of a run's page: each option order with its legs, the open positions'
and the portfolio's Greeks with their history, and the assumptions table of `parity compare`
(`compare/assumptions.csv`). A finished run's options CSVs give them; a live run's journal
does (its orders, its legs' fills with their mid and costs, its `options_session` events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from parity.errors import ReportError
from parity.reports.option_period import combo_rows, journal_combos
from parity.reports.option_tables import (
    combos_from_files,
    greeks_from_files,
    portfolio_row,
    position_row,
    read_assumptions,
)

MAX_ORDERS = 100  # the latest orders shown (with their legs)
MAX_SESSIONS = 250  # the latest sessions of the portfolio's Greeks


def options_view(run_dir: Path, source: Any, events: pd.DataFrame) -> dict[str, Any] | None:
    """The panel's data, or None for a run that traded no option."""
    combos = combos_from_files(run_dir)
    if combos is None:
        found = journal_combos(source.orders(), source.option_fills(), run_dir)
        combos = combo_rows(found) if found is not None else None
    greeks = greeks_from_files(run_dir) or _journal_greeks(events)
    if greeks is not None:  # the page draws the positions now and the portfolio's history
        greeks = {k: v for k, v in greeks.items() if k not in ("position_history", "position_rows")}
        greeks["history"] = greeks["history"][-MAX_SESSIONS:]
    try:
        assumptions: Any = read_assumptions(run_dir)
        problem = None
    except ReportError as exc:  # a bad file is said on the panel, the page still works
        assumptions, problem = None, str(exc)
    if combos is None and greeks is None and assumptions is None and problem is None:
        return None
    return {
        "orders": (combos or [])[-MAX_ORDERS:][::-1],
        "orders_total": len(combos or []),
        "greeks": greeks,
        "assumptions": assumptions,
        "assumptions_error": problem,
    }


def _journal_greeks(events: pd.DataFrame) -> dict[str, Any] | None:
    """The last `options_session` event's positions and portfolio, and each session's."""
    if not len(events):
        return None
    sessions = events[events["kind"] == "options_session"]
    if not len(sessions):
        return None
    last = sessions["payload"].iloc[-1]
    return {
        "as_of": last.get("datetime"),
        "positions": [position_row(p) for p in last.get("positions") or []],
        "portfolio": portfolio_row(last),
        "history": [
            {"session": str(p.get("session")), **portfolio_row(p)} for p in sessions["payload"]
        ],
    }
