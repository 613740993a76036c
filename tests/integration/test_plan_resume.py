"""`run paper --resume` of a crashed plan run: the run, SIGKILLed five times while its brackets
are open and resumed each time, ends with exactly the trades (entry and exit reasons included),
fills, equity, cash and positions of the same run left alone.

The venue is a standalone lock-step local venue in this process (alpaca-py over loopback); the
paper runs are `parity` processes, so every kill is a real crash. Each kill is placed on a step:
as the venue takes the client's acknowledgement of a chosen bar, it freezes the client
(SIGSTOP), publishes the next step (matching the orders the client left working) and only then
is the client killed. In lock-step that is how far a venue runs while its client is down: it
matches the one step after the last bar acknowledged, then waits for the next acknowledgement.
The kills land
- while brackets are working and nothing fills (day one, 09:40; day two, 10:00 with a stop
  entry still waiting);
- just before a fill, which the venue makes while the client is down: a take-profit of an exit
  pair the previous resume sent again (IBM 10:15), a stop-loss overnight (BAC, the first bar of
  day two), and a market entry of a bracket placed on the bar before the kill (AIG day two).

Paper runs always run Backtrader with preload and runonce off (live feeds); the backtest side
of the plan strategy is checked with both in `test_plan_strategy.py`."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from venue_support import PARITY, run_artifacts, snapshot_account, venue_env

from parity.feeds.loader import load_bars
from parity.venue.config import VenueConfig
from parity.venue.server import VenueServer
from parity.venue.state import VenueState

pytestmark = [pytest.mark.timeout(600), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SYMBOLS = ("IBM", "BAC", "AIG")
DAYS = (dt.date(2013, 10, 4), dt.date(2013, 10, 7))
PLAN = (
    "date,symbol,side,qty,risk,entry_type,entry,tp,sl,valid_until,max_days,tag,score\n"
    "2013-10-04,IBM,long,10,,market,,184.70,183.50,,,ibm-trend,0.8\n"
    "2013-10-04,AIG,long,20,,limit,48.90,49.30,48.50,,,aig-dip,0.6\n"
    "2013-10-04,BAC,long,100,,market,,14.30,13.95,,,bac-overnight,0.4\n"
    "2013-10-07,IBM,long,10,,stop,183.00,183.25,182.30,,,ibm-breakout,0.5\n"
    "2013-10-07,AIG,long,20,,market,,49.10,48.70,,,aig-day-two,0.7\n"
)
KILLS = (  # (the bar whose acknowledgement freezes the client, what the venue does next)
    (dt.datetime(2013, 10, 4, 9, 40), "nothing fills"),
    (dt.datetime(2013, 10, 4, 10, 14), "IBM's take-profit fills"),
    (None, "BAC's stop-loss fills overnight"),  # the last bar acknowledged on day one
    (dt.datetime(2013, 10, 7, 9, 30), "AIG's market entry fills"),
    (dt.datetime(2013, 10, 7, 10, 0), "nothing fills; IBM's stop entry waits"),
)


def _command(plan: Path, runs: Path, run_id: str) -> list[str]:
    return [*PARITY, "run", "paper", "plan", "-p", f"plan={plan}", "--venue", "alpaca",
            "--symbols", ",".join(SYMBOLS), "--cash", "100000", "--slippage", "0",
            "--no-daily-reports", "--run-id", run_id, "--runs-dir", str(runs)]  # fmt: skip


def _venue() -> VenueServer:
    data = load_bars("sample:minute", list(SYMBOLS), start=DAYS[0], end=DAYS[1])
    venue = VenueServer(VenueConfig(data=data, ack_timeout=3600.0))
    venue.start()
    return venue


@pytest.fixture
def acks(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Every bar the client acknowledged, and a freeze (SIGSTOP of `pid`) at those in `freeze`."""
    seen: dict[str, Any] = {"acked": [], "freeze": set(), "frozen": [], "pid": None}
    ack = VenueState.ack

    def watch(self: VenueState, through: dt.datetime) -> dict[str, Any]:
        answer = ack(self, through)  # the venue goes on: it matches the next step
        seen["acked"].append(through)
        if through in seen["freeze"]:
            seen["freeze"].discard(through)
            seen["frozen"].append(through)
            os.kill(seen["pid"], signal.SIGSTOP)  # before the client hears of that step
        return answer

    monkeypatch.setattr(VenueState, "ack", watch)
    yield seen


def test_five_kills_of_a_plan_run_with_open_brackets_change_nothing(
    tmp_path: Path, acks: dict[str, Any]
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(PLAN)
    runs = tmp_path / "runs"
    logs: list[str] = []

    def launch(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        path = tmp_path / f"log-{len(logs)}.txt"
        logs.append(str(path))
        with path.open("w") as log:
            proc = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
            )
        acks["pid"] = proc.pid
        return proc

    venue = _venue()
    try:
        alone = launch(_command(plan, runs, "alone"), venue_env(venue, "plan-resume"))
        assert alone.wait(timeout=300) == 0, Path(logs[-1]).read_text()[-3000:]
        reference = venue.snapshot()
    finally:
        venue.stop()
    day_one = [t for t in acks["acked"] if t.date() == DAYS[0]]
    freezes = [when or max(day_one) for when, _ in KILLS]
    assert all(t in acks["acked"] for t in freezes), "a kill bar the client never acknowledged"
    acks["acked"].clear()

    venue = _venue()
    env = venue_env(venue, "plan-resume")
    acks["freeze"] = set(freezes)
    killed_with: list[tuple[int, dict[str, float]]] = []  # venue fills and positions at a kill
    try:
        proc = launch(_command(plan, runs, "k"), env)
        for number, when in enumerate(freezes, start=1):
            deadline = time.monotonic() + 120
            while len(acks["frozen"]) < number and proc.poll() is None:
                assert time.monotonic() < deadline, f"no freeze at {when}"
                time.sleep(0.01)
            assert proc.poll() is None, Path(logs[-1]).read_text()[-3000:]
            while (venue.snapshot()["time"] or "") <= when.isoformat():  # the next step matched
                assert time.monotonic() < deadline, f"the venue did not go on after {when}"
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            now = venue.snapshot()
            killed_with.append((len(now["fills"]), snapshot_account(now)[1]))
            working_at_last_kill = [
                (o["symbol"], o["type"], o["side"])
                for o in now["orders"]
                if o["status"] in ("new", "accepted")
            ]
            proc = launch([*PARITY, "run", "paper", "--resume", "k", "--runs-dir", str(runs)], env)
        assert proc.wait(timeout=300) == 0, Path(logs[-1]).read_text()[-3000:]
        killed = venue.snapshot()
    finally:
        venue.stop()

    assert acks["frozen"] == freezes
    # what each kill left at the venue (after the step matched while the client was down):
    # brackets open on day one, the fills of the dead client's orders, and on day two a stop
    # entry working with nothing held
    assert [held for _, held in killed_with] == [
        {"IBM": 10.0, "BAC": 100.0, "AIG": 20.0},
        {"BAC": 100.0, "AIG": 20.0},
        {},
        {"AIG": 20.0},
        {},
    ]
    assert [fills for fills, _ in killed_with] == [3, 4, 6, 7, 8]
    assert working_at_last_kill == [("IBM", "stop", "buy")]
    downtime = [Path(p).read_text() for p in logs[2:]]  # the resumes' output
    filled_down = [sum("while the run was down" in line for line in text.splitlines())
                   for text in downtime]  # fmt: skip
    assert filled_down == [0, 1, 1, 1, 0], filled_down

    alone_out, killed_out = run_artifacts(runs / "alone"), run_artifacts(runs / "k")
    for name in ("trades", "fills", "equity"):
        pd.testing.assert_frame_equal(killed_out[name], alone_out[name], check_exact=False)
    assert snapshot_account(killed) == snapshot_account(reference)  # cash to the cent, positions
    trades = pd.read_csv(runs / "k" / "trades.csv", keep_default_na=False)
    assert list(zip(trades["tag"], trades["exit_reason"], strict=True)) == [
        ("ibm-trend", "target"),
        ("aig-dip", "target"),
        ("bac-overnight", "stop"),
        ("aig-day-two", "target"),
        ("ibm-breakout", "target"),
    ]
    assert trades["entry_reason"].iloc[4] == (
        "plan 2013-10-07 line 5: long 10 IBM stop 183, tp 183.25 sl 182.3 (ibm-breakout, score 0.5)"
    )
