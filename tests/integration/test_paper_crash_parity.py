"""A crash never changes the outcome: a paper run against a standalone lock-step venue, killed
with SIGKILL at ten random points (start-up included) while it holds positions, with a
drawdown limit on, and resumed each time, ends with exactly the trades, fills, cash and
positions of the same run left alone; no client order id is sent twice, the kill switch never
trips, and `parity compare` passes.

The venues run in this test's process (lock-step, waiting as long as the client needs); the
paper runs are `parity` processes, so every kill is a real crash."""

from __future__ import annotations

import datetime as dt
import json
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from venue_support import (
    PARITY,
    lockstep_venue,
    run_artifacts,
    snapshot_account,
    venue_env,
    write_slow_strategy,
)

from parity.journal.reader import JournalReader

pytestmark = pytest.mark.timeout(600)

DAY = dt.date(2013, 10, 4)  # 411 minute bars of IBM


def _start(tmp: Path, runs: Path, run_id: str) -> list[str]:
    return [*PARITY, "run", "paper", f"{tmp / 'slow.py'}:SlowSmaCross", "--venue", "alpaca",
            "--symbols", "IBM", "-p", "fast=5", "-p", "slow=20", "--cash", "100000",
            "--max-drawdown", "3%", "--flatten-on-kill", "--no-daily-reports",
            "--slippage", "0",  # the twin's costs are the venue's: a frictionless VenueConfig
            "--run-id", run_id, "--runs-dir", str(runs)]  # fmt: skip


def _query(journal: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the journal the child is writing (WAL: a reader never blocks it); [] before the
    journal or its tables exist."""
    if not journal.is_file():
        return []
    try:
        conn = sqlite3.connect(journal, timeout=5.0)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def _bars_done(journal: Path) -> int:
    rows = _query(journal, "SELECT count(*) FROM equity")
    return int(rows[0][0]) if rows else 0


def _run_recorded(journal: Path) -> bool:
    return bool(_query(journal, "SELECT id FROM runs"))


def _wait(until: Callable[[], bool], proc: subprocess.Popen[bytes], limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None and not until():
        time.sleep(0.005)


def test_ten_kills_and_resumes_change_nothing(tmp_path: Path) -> None:
    write_slow_strategy(tmp_path, 5, "a kill can land inside a bar's processing")
    runs = tmp_path / "runs"
    logs = tmp_path / "logs"
    logs.mkdir()

    def launch(command: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.txt").open("w") as log:  # the child keeps its own copy
            return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)

    # the same run, left alone
    venue = lockstep_venue(DAY)
    try:
        alone = launch(_start(tmp_path, runs, "alone"), venue_env(venue, "crash-test"), "alone")
        assert alone.wait(timeout=300) == 0, (logs / "alone.txt").read_text()[-3000:]
        reference = venue.snapshot()
    finally:
        venue.stop()

    # the same run, killed ten times
    journal = runs / "k10" / "journal.sqlite"
    bars = len(pd.read_csv(runs / "alone" / "equity.csv"))
    rng = random.Random(11)
    # kill points: two in start-up (the first launch, and a resume), eight at random bars
    targets = sorted(rng.sample(range(15, bars - 15), 8))
    plan: list[tuple[str, float]] = [("startup", rng.uniform(0.3, 2.0))]
    plan += [("bar", float(t)) for t in targets[:4]]
    plan += [("startup", rng.uniform(0.3, 1.5))]
    plan += [("bar", float(t)) for t in targets[4:]]
    venue = lockstep_venue(DAY)
    env = venue_env(venue, "crash-test")
    resume = [*PARITY, "run", "paper", "--resume", "k10", "--runs-dir", str(runs)]
    kills: list[dict[str, object]] = []
    resumes = 0
    back_in: list[float] = []  # seconds from a resume's launch to its first bar processed
    try:
        proc = launch(_start(tmp_path, runs, "k10"), env, "0")
        launched, done_at_kill = time.monotonic(), 0
        for number, (kind, value) in enumerate(plan, start=1):
            if kind == "startup":
                time.sleep(value)
            else:
                if resumes and done_at_kill:
                    _wait(lambda d=done_at_kill: _bars_done(journal) > d, proc, 120)  # type: ignore[misc]
                    back_in.append(time.monotonic() - launched)
                _wait(lambda v=value: _bars_done(journal) >= v, proc, 120)  # type: ignore[misc]
                time.sleep(rng.uniform(0.0, 0.02))  # anywhere inside the next bar
            assert proc.poll() is None, (logs / f"{number - 1}.txt").read_text()[-3000:]
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            held = _query(journal, "SELECT positions FROM equity ORDER BY id DESC LIMIT 1")
            done_at_kill = _bars_done(journal)
            kills.append({"kind": kind, "bars": done_at_kill, "held": held})
            launched = time.monotonic()
            if _run_recorded(journal):
                proc = launch(resume, env, str(number))
                resumes += 1
            else:  # killed before the run was recorded: nothing to resume, start it again
                proc = launch(_start(tmp_path, runs, "k10"), env, str(number))
        code = proc.wait(timeout=300)
        assert code == 0, (logs / f"{len(plan)}.txt").read_text()[-3000:]
        killed = venue.snapshot()
        compare = subprocess.run(
            [*PARITY, "compare", "k10", "--runs-dir", str(runs)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        venue.stop()

    print(f"kills {kills}; a resume is back on its first bar in {back_in} s")
    assert len(kills) == 10
    assert resumes >= 8
    # positions were held across kills
    held = [k for k in kills if k["held"] and json.loads(str(k["held"][0][0]) or "{}")]
    assert len(held) >= 3, kills

    alone_out, killed_out = run_artifacts(runs / "alone"), run_artifacts(runs / "k10")
    assert len(alone_out["trades"]) >= 5
    for name in ("trades", "fills", "equity"):
        pd.testing.assert_frame_equal(killed_out[name], alone_out[name], check_exact=False)
    assert snapshot_account(killed) == snapshot_account(reference)  # cash to the cent, positions
    assert killed_out["equity"]["datetime"].is_unique
    assert killed_out["equity"]["datetime"].is_monotonic_increasing

    ids = [o["client_order_id"] for o in killed["orders"]]  # type: ignore[union-attr]
    assert len(ids) == len(set(ids))

    reader = JournalReader.open(journal)
    try:
        risk = reader.events("k10", kind="risk")
        resumed = reader.events("k10", kind="resumed")
    finally:
        reader.close()
    assert not any(p.get("event") == "risk.kill_switch" for p in risk["payload"])
    state = json.loads((runs / "k10" / "risk_state.json").read_text())
    assert not state.get("killed"), state
    # a kill during a resume's start-up (before it journaled anything) leaves no trace
    assert 5 <= len(resumed) <= resumes
    for name in ("manifest.json", "metrics.json", "trades.csv"):
        assert (runs / "k10" / name).is_file()

    assert compare.returncode == 0, compare.stdout[-2000:] + compare.stderr[-2000:]
    assert "PASS" in compare.stdout
