"""The summary of a plan replay (`parity plan replay`): per-day and per-month P&L, trades, win
rate, maximum drawdown and CAGR, as JSON and as a self-contained HTML page."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd


def replay_summary(
    *,
    month: str,
    run_id: str,
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    metrics: Mapping[str, Any],
    starting_cash: float,
    plans: Mapping[str, int],
) -> dict[str, Any]:
    """The replay's figures. `equity`: `value` per bar (a daily index); `plans`: rows per
    day's plan file (0 where a day had none)."""
    closes = equity["value"].groupby(equity.index.date).last()
    before = closes.shift(1).fillna(starting_cash)
    days = []
    for day, value in closes.items():
        exits = (
            trades[pd.to_datetime(trades["exit_time"]).dt.date == day] if len(trades) else trades
        )
        days.append(
            {
                "date": day.isoformat(),
                "plan_rows": int(plans.get(day.isoformat(), 0)),
                "equity": round(float(value), 2),
                "pnl": round(float(value - before[day]), 2),
                "trades_closed": len(exits),
            }
        )
    final = float(closes.iloc[-1]) if len(closes) else starting_cash
    wins = int((trades["pnl_net"] > 0).sum()) if len(trades) else 0
    return {
        "month": month,
        "run_id": run_id,
        "starting_cash": starting_cash,
        "final_equity": round(final, 2),
        "month_pnl": round(final - starting_cash, 2),
        "total_return": metrics.get("total_return"),
        "trades": len(trades),
        "wins": wins,
        "win_rate": metrics.get("win_rate"),
        "max_drawdown": metrics.get("max_drawdown"),
        "cagr": metrics.get("cagr"),
        "ambiguous_exits": metrics.get("ambiguous_exits", 0),
        "plan_rows": int(sum(plans.values())),
        "days": days,
    }


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.2%}"


def replay_lines(summary: Mapping[str, Any]) -> list[str]:
    """The summary as the command prints it."""
    return [
        f"replay {summary['month']}: {len(summary['days'])} sessions, "
        f"{summary['plan_rows']} plan rows, {summary['trades']} trades closed",
        f"month P&L ${summary['month_pnl']:,.2f} ({_pct(summary['total_return'])}), win rate "
        f"{_pct(summary['win_rate'])}, max drawdown {_pct(summary['max_drawdown'])}, "
        f"CAGR {_pct(summary['cagr'])}, ambiguous exits {summary['ambiguous_exits']}",
    ]


def replay_html(summary: Mapping[str, Any]) -> str:
    """A self-contained page: the month's figures and a row per day."""
    e = html.escape
    head = "".join(f"<li>{e(line)}</li>" for line in replay_lines(summary))
    rows = "".join(
        f"<tr><td>{e(d['date'])}</td><td>{d['plan_rows']}</td><td>{d['trades_closed']}</td>"
        f"<td class='n'>{d['pnl']:,.2f}</td><td class='n'>{d['equity']:,.2f}</td></tr>"
        for d in summary["days"]
    )
    data = e(json.dumps(summary))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>plan replay {e(summary['month'])}</title><style>body{{font:14px sans-serif;"
        "margin:2em}}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
        ".n{text-align:right}</style></head><body>"
        f"<h1>Plan replay {e(summary['month'])}</h1><ul>{head}</ul>"
        "<table><tr><th>date</th><th>plan rows</th><th>trades closed</th><th>P&amp;L</th>"
        f"<th>equity</th></tr>{rows}</table>"
        f"<script type='application/json' id='summary'>{data}</script></body></html>"
    )
