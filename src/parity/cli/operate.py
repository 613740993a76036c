"""`parity status RUN` and `parity flatten RUN`: the operator's view of a (paper) run."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from parity.cli._base import cli, json_option, runs_dir_option


def _money(value: Any, currency: str | None = None) -> str:
    from parity.instruments.money import format_money

    if value is None:
        return "-"
    return format_money(value, currency) if currency else f"{value:,.2f}"


def age_text(seconds: float) -> str:
    """`12 s ago`, `4 min ago`, `3.5 h ago`, `2 d ago`."""
    if seconds < 90:
        return f"{max(0, round(seconds))} s ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{round(seconds / 86_400)} d ago"


def heartbeat_text(at: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """`2026-12-02 13:14:44 UTC (12 s ago)`: the journal keeps heartbeats in UTC."""
    if at is None:
        return "-"
    stamp = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    age = age_text((now - stamp).total_seconds())
    return f"{stamp.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC ({age})"


def _minute(value: Any) -> str:
    return "-" if value is None else str(value).replace("T", " ")[:19]


@cli.command("status")
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--prices",
    default=None,
    metavar="SOURCE",
    help="Mark open positions at the latest bars of SOURCE (a file, a directory, yahoo).",
)
@runs_dir_option
@json_option
def status_cmd(run_ref: str, prices: str | None, runs_dir: Path, as_json: bool) -> None:
    """Equity, cash, positions with unrealized P&L, open orders, today's P&L, risk and feed
    state, last bar, and whether RUN's process is alive (read from its journal)."""
    from parity.cli.risk import find_run_dir
    from parity.runners.operate import run_status

    run_dir = find_run_dir(run_ref, runs_dir)
    status = run_status(run_dir, run_dir.name, prices=prices)
    if as_json:
        click.echo(json.dumps(status.as_dict(), default=str))
        return
    alive = f"alive (pid {status.pid})" if status.alive else "not running"
    zone = f" {status.timezone}" if status.timezone else ""
    lines = [
        f"run        {status.run_id}: {status.status}, process {alive}",
        f"heartbeat  {heartbeat_text(status.heartbeat_at)}   last bar "
        f"{_minute(status.last_bar)}{zone if status.last_bar else ''}",
        f"equity     {_money(status.equity, status.currency)}   "
        f"cash {_money(status.cash, status.currency)}   "
        f"today {_money(status.today_pnl, status.currency)}",
    ]
    cur = status.currency
    for p in status.positions:
        lines.append(
            f"position   {p['symbol']:<6} {p['qty']:>10g} @ {_money(p['avg_price'], cur)}"
            f"  last {_money(p['last_price'], cur)}  unrealized "
            f"{_money(p['unrealized_pnl'], cur)}"
        )
    if not status.positions:
        lines.append("position   none")
    if status.marked:
        bars = ", ".join(f"{s} {at[:16]}" for s, at in status.marked.items())
        lines.append(f"marked     at the latest bars of {prices}: {bars}")
    for o in status.open_orders:
        lines.append(
            f"open order {o['client_order_id']} {o['side']} {o['qty']} {o['symbol']} "
            f"{o['type']} ({o['status']})"
        )
    risk = status.risk
    if risk:
        switch = f"ON ({risk.get('kill_reason')})" if risk.get("killed") else "off"
        lines.append(f"risk       kill switch {switch}, orders today {risk.get('orders_today', 0)}")
    if status.alive:  # a run that has ended has no feed or stream state: they were its own
        if status.feeds:
            lines.append("feeds      " + ", ".join(f"{s} {v}" for s, v in status.feeds.items()))
        if status.streams:
            lines.append("streams    " + ", ".join(f"{s} {v}" for s, v in status.streams.items()))
    shown = f", latest {len(status.alerts)}:" if status.alerts else ""
    lines.append(f"alerts     {status.alerts_total}{shown}")
    for a in status.alerts:
        held = "  (held back)" if a.get("suppressed") else ""
        lines.append(f"  {a['at'][:19]}Z {a['severity']:<8} {a.get('title', '')}{held}")
    if status.daily_report:
        lines.append(f"report     {status.daily_report}")
    if status.log:
        lines.append(f"log        {status.log}")
    click.echo("\n".join(lines))


@cli.command("flatten")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
def flatten_cmd(run_ref: str, runs_dir: Path) -> None:
    """Cancel every open order of RUN and close every position now; the kill switch stays on
    (no new entries) until `parity risk reset RUN`. A running run does it itself on its next
    bar (journaled like any order); for a stopped Alpaca run it is done here, at the venue."""
    from parity.cli.risk import find_run_dir
    from parity.runners.operate import flatten_run

    run_dir = find_run_dir(run_ref, runs_dir)
    for line in flatten_run(run_dir):
        click.echo(line)
