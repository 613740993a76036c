"""Crash recovery: a paper run against a standalone venue is killed with SIGKILL at random
moments and resumed each time (`parity run paper --resume RUN`). At the end the journal and the
venue agree on every order, fill and position; no client order id was sent twice, no fill lost.

The venue runs in this test's process (lock-step, waiting as long as it takes for the client to
come back); the paper run is a separate `parity` process, so killing it is a real crash."""

from __future__ import annotations

import datetime as dt
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from venue_support import PARITY, lockstep_venue, venue_env, write_slow_strategy

from parity.journal.reader import JournalReader

pytestmark = pytest.mark.timeout(600)


def _recorded(journal: Path) -> bool:
    return _writer(journal) is not None


def _writer(journal: Path) -> int | None:
    """The pid of the process the journal says runs the run (None before it is recorded)."""
    if not journal.is_file():
        return None
    conn = sqlite3.connect(journal)
    try:
        row = conn.execute("SELECT pid FROM runs").fetchone()
        return None if row is None else int(row[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def test_killed_twenty_times_and_resumed_loses_and_duplicates_nothing(tmp_path: Path):
    write_slow_strategy(tmp_path, 20, "kills land all over the rehearsal")
    runs = tmp_path / "runs"
    venue = lockstep_venue(dt.date(2013, 10, 4), dt.date(2013, 10, 8))
    env = venue_env(venue, "crash-test")
    start = [*PARITY, "run", "paper", f"{tmp_path / 'slow.py'}:SlowSmaCross", "--venue", "alpaca",
             "--symbols", "IBM", "-p", "fast=5", "-p", "slow=20", "--cash", "100000",
             "--run-id", "k9", "--runs-dir", str(runs)]  # fmt: skip
    resume = [*PARITY, "run", "paper", "--resume", "k9", "--runs-dir", str(runs)]
    rng = random.Random(20)
    kills = 0
    logs = tmp_path / "logs"
    logs.mkdir()

    def launch(command: list[str], number: int) -> subprocess.Popen[bytes]:
        with (logs / f"{number}.txt").open("w") as log:  # the child keeps its own copy
            return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)

    try:
        proc = launch(start, 0)
        journal = runs / "k9" / "journal.sqlite"
        while kills < 20:
            # once it is up (a busy machine takes seconds to start Python; kills during start-up
            # are test_paper_crash_parity's), at a random moment
            deadline = time.monotonic() + 60
            while _writer(journal) != proc.pid and proc.poll() is None:
                assert time.monotonic() < deadline, "the run did not start within 60 s"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.5, 4.0))
            if proc.poll() is not None:
                break  # the replay ended before this kill
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            # killed before the run was recorded (a busy machine's slow start-up): nothing to
            # resume, `--resume` says so; the run is started again under the same id
            proc = launch(resume if _recorded(journal) else start, kills)
        code = proc.wait(timeout=300)
        assert code == 0, (logs / f"{kills}.txt").read_text()[-2000:]
        snapshot = venue.snapshot()
    finally:
        venue.stop()
    assert kills >= 10, f"only {kills} kills landed before the replay ended"

    reader = JournalReader.open(runs / "k9" / "journal.sqlite")
    try:
        intents = reader.intents("k9")
        fills = reader.fills("k9")
        positions = reader.positions("k9")
        events = reader.events("k9", kind="resumed")
    finally:
        reader.close()
    # a kill during start-up (imports, before the journal is opened) leaves no trace: fine
    assert 5 <= len(events) <= kills

    venue_orders = [o for o in snapshot["orders"] if o["client_order_id"].startswith("k9-")]
    venue_ids = [o["client_order_id"] for o in venue_orders]
    assert len(venue_ids) == len(set(venue_ids))  # no client order id sent twice
    assert set(venue_ids) <= set(intents["client_order_id"])  # journaled before it was sent
    assert len(venue_orders) > 5

    journaled = fills.groupby("client_order_id")["qty"].sum().to_dict()
    for order in venue_orders:  # no fill lost, none counted twice
        assert journaled.get(order["client_order_id"], 0.0) == pytest.approx(
            float(order["filled_qty"])
        ), order["client_order_id"]
    venue_position = float(snapshot["positions"].get("IBM", {}).get("qty", 0.0))
    assert positions.get("IBM", 0.0) == pytest.approx(venue_position)
    venue_fills = [f for f in snapshot["fills"] if f["client_order_id"].startswith("k9-")]
    assert len(fills) == len(venue_fills)
