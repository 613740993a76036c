"""One process writes a run at a time: a second `parity run paper --resume RUN` while the first
is running is refused with one line naming the holder's pid and writes nothing, while `parity
status` and the dashboard keep reading the run. The lock is a file lock beside a SQLite journal
and an advisory lock on PostgreSQL; the holder's death (even SIGKILL) frees it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from test_journal_postgres import pg_url  # noqa: F401 - the throwaway PostgreSQL server
from venue_support import PARITY, lockstep_venue, venue_env, write_slow_strategy

from parity.errors import JournalError
from parity.journal.lock import lock_run
from parity.journal.reader import JournalReader
from parity.runners.dashboard import dashboard_server

pytestmark = pytest.mark.timeout(600)

HOLD = """
import sys, time
from parity.journal.lock import lock_run
held = lock_run(sys.argv[1], "held")
print("locked", flush=True)
time.sleep(600)
"""


def _run_row(path: Path | str, run_id: str) -> tuple[int | None, int]:
    """The run's recorded pid and its number of fills ((None, 0) while it is being created)."""
    if isinstance(path, Path) and not path.is_file():
        return None, 0
    try:
        reader = JournalReader.open(path)
    except JournalError:
        return None, 0
    try:
        return reader.run(run_id).pid, len(reader.fills(run_id))
    except JournalError:
        return None, 0
    finally:
        reader.close()


def _wait(condition, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 300
    while not condition():
        assert proc.poll() is None, f"{what}: the run ended: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what}: not within 300 s"
        time.sleep(0.2)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str | None:
    """None: each run's own SQLite file; else the PostgreSQL database (`PARITY_DB_URL`)."""
    return str(request.getfixturevalue("pg_url")) if request.param == "postgresql" else None


def test_a_second_resume_is_refused_while_status_and_the_dashboard_read(
    tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_slow_strategy(tmp_path, 30, "the run is still going when it is checked")
    runs = tmp_path / "runs"
    journal: Path | str = db_url or runs / "k" / "journal.sqlite"
    if db_url:
        monkeypatch.setenv("PARITY_DB_URL", db_url)  # the runs, status and the dashboard
    venue = lockstep_venue(dt.date(2013, 10, 4))
    env = venue_env(venue, "k", "s")
    resume = [*PARITY, "run", "paper", "--resume", "k", "--runs-dir", str(runs)]
    first_log, second_log = tmp_path / "first.txt", tmp_path / "second.txt"
    dashboard = dashboard_server(runs)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with first_log.open("w") as log:
            crashed = subprocess.Popen(
                [*PARITY, "run", "paper", f"{tmp_path / 'slow.py'}:SlowSmaCross",
                 "--venue", "alpaca", "--symbols", "IBM", "-p", "fast=5", "-p", "slow=20",
                 "--cash", "100000", "--run-id", "k", "--runs-dir", str(runs)],
                env=env, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        procs.append(crashed)
        _wait(lambda: _run_row(journal, "k")[1] >= 1, "a first fill", crashed, first_log)
        crashed.send_signal(signal.SIGKILL)
        crashed.wait()
        with second_log.open("w") as log:
            writer = subprocess.Popen(resume, env=env, stdout=subprocess.DEVNULL, stderr=log)
        procs.append(writer)
        _wait(lambda: _run_row(journal, "k")[0] == writer.pid, "the resume", writer, second_log)

        refused = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=120)
        status = subprocess.run(
            [*PARITY, "status", "k", "--runs-dir", str(runs)],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        dashboard.start()
        summary = requests.get(f"{dashboard.url}api/runs/k/summary", timeout=60)
        code = writer.wait(timeout=300)  # the replay's end ends it
    finally:
        dashboard.stop()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        venue.stop()

    assert refused.returncode == 8, refused.stderr
    lines = refused.stderr.splitlines()
    assert lines == [
        f"error: run k is being written by process {writer.pid}; one process writes a run at a "
        f"time: stop that process (kill {writer.pid}) or wait for it to end (parity status "
        "reads the run meanwhile)"
    ], lines
    assert status.returncode == 0, status.stderr
    assert f"run        k: running, process alive (pid {writer.pid})" in status.stdout
    assert summary.status_code == 200, summary.text
    assert code == 0, second_log.read_text()[-3000:]

    reader = JournalReader.open(journal)
    try:
        resumed = reader.events("k", kind="resumed")
        info = reader.run("k")
    finally:
        reader.close()
    assert len(resumed) == 1  # the refused resume wrote nothing
    assert info.status == "finished" and info.pid == writer.pid
    lock_run(journal, "k").release()  # free again once the writer ended


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "journal.sqlite")


def test_the_lock_names_its_holder_and_dies_with_it(location: str, tmp_path: Path) -> None:
    script = tmp_path / "hold.py"
    script.write_text(textwrap.dedent(HOLD))
    holder = subprocess.Popen(
        [sys.executable, str(script), location], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(JournalError) as refused:
            lock_run(location, "held")
        assert str(refused.value).startswith(f"run held is being written by process {holder.pid}; ")
        if "://" in location:  # a database holds many runs: a lock is one run's
            lock_run(location, "another-run").release()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    mine = lock_run(location, "held")  # freed by the holder's death
    try:
        with pytest.raises(JournalError, match=f"by process {os.getpid()};"):
            lock_run(location, "held")  # held within one process too
    finally:
        mine.release()
    lock_run(location, "held").release()
