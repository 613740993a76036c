"""The edges of `parity run paper --resume`: a kill while the journal is being created, a run
killed before it was recorded, a run that finished cleanly, a venue that moved on while the run
was down, and a position valued before its first bar."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from venue_support import PARITY, lockstep_venue, venue_env

from parity.brokers.alpaca import AlpacaBroker
from parity.cli import cli
from parity.errors import JournalError
from parity.feeds.loader import load_bars
from parity.journal import Journal, JournalReader
from parity.venue.config import VenueConfig
from parity.venue.server import VenueServer
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.types import PositionInfo

pytestmark = pytest.mark.timeout(300)

# The creator stops itself (SIGSTOP) at a chosen step of creating the journal and the test kills
# it there: every step is hit on every run, not only those a random sleep happened to land on.
CREATE = """
import os, signal, sys
import parity.journal.database as database
from parity.journal import Journal
step = sys.argv[2]
def pause(name):
    if name == step:
        print("at " + name, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
real_prepare, real_link, real_remove = database.prepare_schema, os.link, database._remove_sqlite
def prepare(engine, target, *, create):
    pause("schema")
    real_prepare(engine, target, create=create)
    pause("schema-done")
def link(src, dst):
    pause("link")
    real_link(src, dst)
    pause("linked")
database.prepare_schema = prepare
os.link = link
print("ready", flush=True)
Journal.open(sys.argv[1], create=True).close()
print("created", flush=True)
"""
STEPS = ["schema", "schema-done", "link", "linked"]
DAY = "2013-10-04"


def test_a_kill_while_the_journal_is_created_leaves_none_or_a_whole_one(tmp_path: Path) -> None:
    for step in STEPS:
        path = tmp_path / step / "journal.sqlite"
        child = subprocess.Popen(
            [sys.executable, "-c", CREATE, str(path), step], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert child.stdout.readline().strip() == f"at {step}"
        child.send_signal(signal.SIGKILL)
        assert "created" not in child.communicate()[0]
        # a journal file is either absent or whole: never a half-made schema under the real name
        assert path.exists() == (step == "linked")
        # the run can be started again under the same id, without hand repair
        journal = Journal.open(path, create=True)
        try:
            journal.start_run(f"run-{step}", {"strategy": {"name": "x"}}, "paper", "local")
        finally:
            journal.close()
        reader = JournalReader.open(path)
        try:
            assert reader.run(f"run-{step}").status == "running"
        finally:
            reader.close()
        assert [p.name for p in path.parent.iterdir() if "partial" in p.name] == []


def test_a_journal_left_half_made_by_an_older_version_is_completed_not_refused(
    tmp_path: Path,
) -> None:
    import sqlalchemy as sa

    from parity.journal.schema import Base

    path = tmp_path / "k" / "journal.sqlite"
    path.parent.mkdir()
    engine = sa.create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)  # the tables, and no schema version: a kill came here
    engine.dispose()
    with pytest.raises(JournalError, match=r"never completed .* same --run-id"):
        JournalReader.open(path)
    journal = Journal.open(path, create=True)
    try:
        journal.start_run("k", {"strategy": {"name": "x"}}, "paper", "local")
    finally:
        journal.close()


def _local(runs: Path, run_id: str, *extra: str) -> list[str]:
    return ["run", "paper", "sma_cross", "--venue", "local", "--symbols", "IBM", "--from", DAY,
            "--slippage", "0", "--to", DAY, "-p", "fast=5", "-p", "slow=20", "--no-daily-reports",
            "--run-id", run_id, "--runs-dir", str(runs), *extra]  # fmt: skip


def test_resume_of_a_run_killed_before_it_was_recorded_says_start_it_again(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    Journal.open(runs / "early" / "journal.sqlite", create=True).close()  # died right here
    runner = CliRunner()
    resumed = runner.invoke(cli, ["run", "paper", "--resume", "early", "--runs-dir", str(runs)])
    assert resumed.exit_code == 2, resumed.output
    assert len(resumed.stderr.strip().splitlines()) == 1
    assert "nothing to resume" in resumed.stderr and "--run-id early" in resumed.stderr
    again = runner.invoke(cli, _local(runs, "early"))
    assert again.exit_code == 0, again.output
    assert (runs / "early" / "trades.csv").is_file()

    # a run that finished cleanly is not continued
    finished = runner.invoke(cli, ["run", "paper", "--resume", "early", "--runs-dir", str(runs)])
    assert finished.exit_code == 2, finished.output
    assert len(finished.stderr.strip().splitlines()) == 1
    assert "finished cleanly" in finished.stderr and "crashed run only" in finished.stderr


def test_bars_the_venue_published_while_the_run_was_down_are_processed_and_journaled(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    # the venue waits 0.2 s for an acknowledgement, then moves on
    venue = lockstep_venue(dt.date.fromisoformat(DAY), ack_timeout=0.2)
    env = venue_env(venue, "edge-test")
    start = [*PARITY, "run", "paper", "sma_cross", "--venue", "alpaca", "--symbols", "IBM",
             "-p", "fast=5", "-p", "slow=20", "--cash", "100000", "--no-daily-reports",
             "--session", "extended",  # the venue replays every bar of the day
             "--run-id", "gap", "--runs-dir", str(runs)]  # fmt: skip
    journal = runs / "gap" / "journal.sqlite"
    try:
        proc = subprocess.Popen(
            start, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and venue.status()["step"] < 100:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        down_from = venue.status()["step"]
        time.sleep(2.0)  # about ten steps published to nobody
        resumed = subprocess.run(
            [*PARITY, "run", "paper", "--resume", "gap", "--runs-dir", str(runs)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        steps = venue.status()["steps"]
    finally:
        venue.stop()
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    reader = JournalReader.open(journal)
    try:
        backlog = reader.events("gap", kind="resume_backlog")
        tape = reader.tape("gap")
    finally:
        reader.close()
    assert len(backlog) == 1
    note = backlog["payload"][0]
    assert note["bars"] >= 5 and "processed live now" in note["reason"]
    assert "processed live now" in resumed.stderr
    # the bars re-read up to the crash are warm-up: the decisions on them are not news
    assert "decided on a warm-up" not in resumed.stderr
    equity = pd.read_csv(runs / "gap" / "equity.csv", parse_dates=["datetime"])
    # every bar of the replay processed once: none lost while down, none recorded twice
    assert len(equity) == steps and equity["datetime"].is_unique
    assert equity["datetime"].is_monotonic_increasing
    assert not tape.duplicated(["symbol", "datetime"]).any() and len(tape) == steps
    assert down_from < steps


def test_an_adopted_position_is_valued_at_its_last_price_before_its_first_bar() -> None:
    store = AlpacaStore(AlpacaCredentials("k", "s"), AlpacaEndpoints("http://127.0.0.1:9"))
    broker = AlpacaBroker(store)
    broker.cash = 4_963.25
    broker.adopt({"IBM": PositionInfo("IBM", 500.0, 180.0)})
    broker.p.marks = {"IBM": 190.5}
    assert broker.getvalue() == pytest.approx(4_963.25 + 500 * 190.5)
    broker.p.marks = None  # no price journaled: the average cost, never zero
    assert broker.getvalue() == pytest.approx(4_963.25 + 500 * 180.0)


STALL = '''
import datetime as dt
import time

import backtrader as bt


class BuyThenStall(bt.Strategy):
    """Buys 10 at 09:35 and stalls on that bar (the test kills it there); sells at 09:50."""

    def next(self):
        now = self.data.datetime.time(0)
        if now == dt.time(9, 35) and not self.position:
            self.buy(size=10)
            time.sleep(120)
        elif now == dt.time(9, 50) and self.position:
            self.close()
'''


def test_a_fill_made_while_the_run_was_down_is_numbered_and_the_run_ends_with_its_trades(
    tmp_path: Path,
) -> None:
    import json
    import urllib.request

    (tmp_path / "stall.py").write_text(STALL)
    runs = tmp_path / "runs"
    day = dt.date.fromisoformat(DAY)
    venue = VenueServer(VenueConfig(data=load_bars("sample:minute", ["IBM"], start=day, end=day)))
    venue.start()
    env = venue_env(venue, "edge-test")
    start = [*PARITY, "run", "paper", f"{tmp_path / 'stall.py'}:BuyThenStall", "--venue",
             "alpaca", "--symbols", "IBM", "--cash", "100000", "--no-daily-reports",
             "--session", "extended",  # the venue replays every bar of the day
             "--run-id", "down", "--runs-dir", str(runs)]  # fmt: skip
    try:
        proc = subprocess.Popen(
            start, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not venue.snapshot()["orders"]:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # stalled on the bar it decided on: never acknowledged
        proc.wait()
        # the venue moves on without the client (as its --ack-timeout would): the order fills
        through = json.dumps({"through": venue.status()["time"]}).encode()
        ack = urllib.request.Request(
            f"{venue.base_url}/parity/v1/ack", data=through, method="POST",
            headers={"Content-Type": "application/json", "APCA-API-KEY-ID": "edge-test",
                     "APCA-API-SECRET-KEY": "edge-test"},
        )  # fmt: skip
        urllib.request.urlopen(ack, timeout=10).close()
        while time.monotonic() < deadline and not venue.snapshot()["fills"]:
            time.sleep(0.01)
        resumed = subprocess.run(
            [*PARITY, "run", "paper", "--resume", "down", "--runs-dir", str(runs)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        venue.stop()
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "filled at" in resumed.stderr and "while the run was down" in resumed.stderr
    fills = pd.read_csv(runs / "down" / "fills.csv", parse_dates=["datetime"])
    assert list(fills["bar"]) == [9, 24]  # 09:36 and 09:51, as a run left alone numbers them
    trades = pd.read_csv(runs / "down" / "trades.csv")
    assert len(trades) == 1 and trades["bars_held"].tolist() == [15]
    assert trades["qty"].tolist() == [10]
    for name in ("manifest.json", "metrics.json"):
        assert (runs / "down" / name).is_file()
