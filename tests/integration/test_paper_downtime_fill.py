"""A fill the venue makes while the paper client is down changes nothing.

The window is a few milliseconds wide in a real run (the client has sent its order, journaled
the bar and acknowledged it; the venue fills at the next bar's open; the client dies before it
journals the fill), so this test holds it open: the venue, in this process, freezes the client
(SIGSTOP) as it takes the acknowledgement of the bar its first order was decided on, fills the
order at the next open, and only then is the client killed.
The resumed run must then end with exactly the trades, fills, equity, cash and position of the
same run left alone. Before the fix the resumed run took its cash from the journal before
reconciliation recorded that fill: it valued the position twice (equity near 200,000 on 100,000)
and its drawdown limit tripped the kill switch."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from venue_support import PARITY, lockstep_venue, venue_env

from parity.venue.engine import Engine
from parity.venue.state import VenueState

pytestmark = pytest.mark.timeout(300)

DAY = dt.date(2013, 10, 4)  # 411 minute bars of IBM


def _start(runs: Path, run_id: str) -> list[str]:
    return [*PARITY, "run", "paper", "sma_cross", "--venue", "alpaca", "--symbols", "IBM",
            "-p", "fast=5", "-p", "slow=20", "--cash", "100000", "--slippage", "0",
            "--max-drawdown", "3%", "--flatten-on-kill", "--no-daily-reports",
            "--run-id", run_id, "--runs-dir", str(runs)]  # fmt: skip


def _artifacts(run_dir: Path) -> dict[str, pd.DataFrame]:
    fills = pd.read_csv(run_dir / "fills.csv")
    return {
        "trades": pd.read_csv(run_dir / "trades.csv"),
        "fills": fills.drop(columns=["order_id", "client_order_id"]),
        "equity": pd.read_csv(run_dir / "equity.csv"),
    }


def _account(snapshot: dict[str, Any]) -> tuple[float, dict[str, float]]:
    held = {s: float(p["qty"]) for s, p in snapshot["positions"].items() if float(p["qty"])}
    return round(float(snapshot["account"]["cash"]), 2), held


def test_a_fill_made_while_the_client_is_down_is_counted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"

    def run(command: list[str], env: dict[str, str]) -> None:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-3000:]

    venue = lockstep_venue(DAY)
    try:
        run(_start(runs, "alone"), venue_env(venue, "downtime"))
        reference = venue.snapshot()
    finally:
        venue.stop()

    client: dict[str, int] = {}
    submit, ack = Engine.submit, VenueState.ack

    def note_order(self: Engine, body: Mapping[str, Any]) -> Any:
        client["orders"] = client.get("orders", 0) + 1
        return submit(self, body)

    def freeze_after_ack(self: VenueState, through: dt.datetime) -> dict[str, Any]:
        answer = ack(self, through)  # the venue moves on: it fills the order at the next open
        if client.get("orders") and "frozen" not in client:
            client["frozen"] = 1
            os.kill(client["pid"], signal.SIGSTOP)  # before the client hears of the fill
        return answer

    monkeypatch.setattr(Engine, "submit", note_order)
    monkeypatch.setattr(VenueState, "ack", freeze_after_ack)
    venue = lockstep_venue(DAY)
    env = venue_env(venue, "downtime")
    try:
        proc = subprocess.Popen(
            _start(runs, "k"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client["pid"] = proc.pid
        deadline = time.monotonic() + 180
        filled: dict[str, Any] = {}
        while proc.poll() is None and time.monotonic() < deadline:
            if "frozen" in client:
                filled = venue.snapshot()
                if filled["orders"] and float(filled["orders"][0]["filled_qty"]) > 0:
                    break
            time.sleep(0.01)
        assert filled and float(filled["orders"][0]["filled_qty"]) > 0, "no fill while frozen"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(runs / "k" / "journal.sqlite") as conn:
            assert conn.execute("SELECT count(*) FROM fills").fetchone()[0] == 0
        resumed = subprocess.run(
            [*PARITY, "run", "paper", "--resume", "k", "--runs-dir", str(runs)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "filled at" in resumed.stderr + resumed.stdout  # reconciliation recorded it
        killed = venue.snapshot()
    finally:
        venue.stop()

    alone, after = _artifacts(runs / "alone"), _artifacts(runs / "k")
    assert len(alone["trades"]) >= 5
    for name in ("trades", "fills", "equity"):
        pd.testing.assert_frame_equal(after[name], alone[name], check_exact=False)
    assert _account(killed) == _account(reference)
    assert float(after["equity"]["value"].max()) < 101_000  # never valued twice
    state = json.loads((runs / "k" / "risk_state.json").read_text())
    assert not state.get("killed"), state
