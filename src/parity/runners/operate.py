"""Operator views and actions on a run: `parity status RUN` (and `flatten`, `halt` elsewhere).

Everything is read from the run's journal (and its risk state file), so status works while the
run is alive (SQLite in WAL mode lets a reader in beside the writer) and after it has died.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from parity.analyzers.holdings import holdings, open_positions
from parity.errors import ParityError, RunNotFoundError
from parity.instruments import instrument_for
from parity.instruments.calendars import manifest_calendar
from parity.instruments.money import run_currency
from parity.manifest import Manifest
from parity.processes import process_alive

OPEN_STATUSES = {"submitted", "accepted", "partial", "new", "partially_filled", "pending_new"}


def journal_location(run_dir: Path) -> str | Path:
    """`PARITY_DB_URL` if set (one database for all runs), else the run's own SQLite file."""
    return os.environ.get("PARITY_DB_URL") or run_dir / "journal.sqlite"


@dataclass
class RunStatus:
    """What `parity status` shows."""

    run_id: str
    status: str
    alive: bool
    pid: int | None
    heartbeat_at: dt.datetime | None
    last_bar: dt.datetime | None
    equity: float | None
    cash: float | None
    today_pnl: float | None
    positions: list[dict[str, Any]] = field(default_factory=list)
    open_orders: list[dict[str, Any]] = field(default_factory=list)
    risk: dict[str, Any] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)
    streams: dict[str, str] = field(default_factory=dict)
    alerts_total: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)  # the latest, newest first
    log: str | None = None  # the run's log file
    daily_report: str | None = None  # the latest daily report (text)
    currency: str = "USD"  # ISO code of the run's money (its manifest's)
    timezone: str | None = None  # the exchange's zone: bar labels (`last_bar`) are its clock
    marked: dict[str, str] = field(default_factory=dict)  # symbol -> the bar `--prices` marked at

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, dt.datetime) else v)
            for k, v in self.__dict__.items()
        }


def _positions(fills: pd.DataFrame, tape: pd.DataFrame) -> list[dict[str, Any]]:
    """Open positions with average cost and unrealized P&L at the last price received."""
    last = tape.groupby("symbol")["close"].last().to_dict() if len(tape) else {}
    return open_positions(holdings(fills), last)


def _zone(manifest: Mapping[str, Any] | None) -> str | None:
    """The run calendar's time zone (XNYS's for runs recorded before manifests named one)."""
    try:
        return manifest_calendar(manifest or {}).timezone
    except ParityError:  # a calendar this version does not know: leave the zone out
        return None


def latest_marks(source: str, symbols: list[str]) -> dict[str, tuple[float, dt.datetime]]:
    """The latest close and bar of each of `symbols` in `source` (any bar source: a file, a
    directory, `yahoo`, the sample): what `parity status --prices` marks positions at."""
    from parity.feeds.loader import load_bars

    loaded = load_bars(source, symbols)
    return {
        s.symbol: (float(s.frame["close"].iloc[-1]), s.frame.index[-1].to_pydatetime())
        for s in loaded.series
        if len(s.frame)
    }


def _mark(status: RunStatus, marks: dict[str, tuple[float, dt.datetime]]) -> None:
    """Value the open positions at `marks` (their unrealized P&L, and equity as cash plus
    the positions at those prices)."""
    held = 0.0
    for position in status.positions:
        found = marks.get(position["symbol"])
        if found is None:
            continue
        price, at = found
        position["last_price"] = price
        position["unrealized_pnl"] = (price - position["avg_price"]) * position["qty"]
        status.marked[position["symbol"]] = at.isoformat()
        held += position["qty"] * price * instrument_for(position["symbol"]).multiplier
    if status.cash is not None and len(status.marked) == len(status.positions):
        status.equity = status.cash + held


def run_status(run_dir: Path, run_id: str, *, prices: str | None = None) -> RunStatus:
    """Status of `run_id` from its journal; a run that has no journal is an error. `prices`:
    a bar source whose latest bars mark the open positions to market (else the last price
    the run received)."""
    from parity.journal.reader import JournalReader
    from parity.risk.state import JsonRiskStateStore

    location = journal_location(run_dir)
    if isinstance(location, Path) and not location.is_file():
        raise RunNotFoundError(
            f"run {run_id} has no journal at {location}; status needs a paper run made with "
            "this version (or PARITY_DB_URL for a database journal)"
        )
    reader = JournalReader.open(location)
    try:
        info = reader.run(run_id)
        equity = reader.equity(run_id)
        fills = reader.fills(run_id)
        orders = reader.orders(run_id)
        tape = reader.tape(run_id)
        last_bar = reader.last_bar(run_id)
        feed_events = reader.events(run_id, kind="feed")
        stream_events = reader.events(run_id, kind="stream")
        alert_events = reader.events(run_id, kind="alert")
    finally:
        reader.close()
    value = cash = today = None
    if len(equity):
        value, cash = float(equity["value"].iloc[-1]), float(equity["cash"].iloc[-1])
        day = equity.index[-1].normalize()
        before = equity[equity.index < day]
        opening = float(before["value"].iloc[-1]) if len(before) else float(equity["value"].iloc[0])
        today = value - opening
    open_orders = (
        orders[orders["status"].str.lower().isin(OPEN_STATUSES)] if len(orders) else orders
    )
    feeds = {}
    for payload in feed_events["payload"] if len(feed_events) else []:
        feeds[str(payload.get("symbol"))] = str(payload.get("state"))
    alive = process_alive(info.pid) and info.status == "running"
    status = info.status
    if status == "running" and not alive:
        status = "crashed (process gone; resume with --resume)"
    risk_file = run_dir / "risk_state.json"
    risk = JsonRiskStateStore(risk_file).load().__dict__ if risk_file.is_file() else {}
    result = RunStatus(
        run_id=run_id,
        status=status,
        alive=alive,
        pid=info.pid,
        heartbeat_at=info.heartbeat_at,
        last_bar=last_bar,
        equity=value,
        cash=cash,
        today_pnl=today,
        positions=_positions(fills, tape),
        open_orders=open_orders.to_dict("records") if len(open_orders) else [],
        risk={
            k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v)
            for k, v in risk.items()
        },
        feeds=feeds,
        currency=run_currency(info.manifest),
        timezone=_zone(info.manifest),
        streams={
            str(p.get("stream")): str(p.get("state"))
            for p in (stream_events["payload"] if len(stream_events) else [])
        },
        alerts_total=len(alert_events),
        alerts=[
            {"at": at.isoformat(), "severity": level, **(payload or {})}
            for at, level, payload in zip(
                alert_events["at"], alert_events["level"], alert_events["payload"], strict=True
            )
        ][::-1][:5],
        log=_newest(run_dir / "logs", "parity.log"),
        daily_report=_newest(run_dir / "reports", "daily-*.txt"),
    )
    if prices is not None and result.positions:
        _mark(result, latest_marks(prices, [p["symbol"] for p in result.positions]))
    return result


def _newest(directory: Path, pattern: str) -> str | None:
    found = sorted(directory.glob(pattern)) if directory.is_dir() else []
    return str(found[-1]) if found else None


def flatten_run(run_dir: Path) -> list[str]:
    """`parity flatten`: ask a live run to flatten itself, or flatten a stopped run at its venue
    (one that outlives the run, as Alpaca does). Either way the kill switch is left on."""
    from parity.journal.reader import JournalReader
    from parity.risk.state import JsonRiskStateStore
    from parity.venues.registry import venue_of_run

    run_id = run_dir.name
    status = run_status(run_dir, run_id)
    store = JsonRiskStateStore.in_run(run_dir)
    state = store.load()
    now = dt.datetime.now().isoformat(timespec="seconds")
    if not state.killed:
        state.halt("flattened by `parity flatten`", now)
    state.flatten_requested = True
    store.save(state)
    if status.alive:
        return [
            f"run {run_id} (pid {status.pid}) cancels its open orders and closes its positions "
            "on its next bar; the kill switch stays on until `parity risk reset`"
        ]
    reader = JournalReader.open(journal_location(run_dir))
    try:
        manifest = Manifest.from_dict(reader.run(run_id).manifest, run_id=run_id)
    finally:
        reader.close()
    config = manifest.config or {}
    venue = venue_of_run(manifest.to_dict())
    lines = venue.flatten_stopped(run_id, config.get("symbols") or []) if venue else None
    if lines is None:
        return [
            f"run {run_id} is not running and its venue ({config.get('venue', '?')}) ended "
            "with it: nothing is open; the kill switch is on"
        ]
    lines.append(
        f"run {run_id} flattened at the venue; resume it with --resume to journal the "
        "fills; the kill switch stays on until `parity risk reset`"
    )
    return lines
