"""`--resume` of a crashed options paper run (issue 17): `put_credit_spread` (two-leg `mleg`
combos, short puts, profit-target closes, expiries) on the local venue, lock-step, killed with
SIGKILL at a precise point and resumed, ends with exactly the option trades, fills, cash and
positions of the same run never killed.

Each kill is a real crash of client and venue together (`--venue local` runs the venue in the
`parity` process; it restarts from its state file on resume). The kill point is exact: the
child runs `parity` with one hook that SIGKILLs its own process (`KILL_AT`):

- `bar:N` right after the N-th bar's equity row is journaled (a combo decided on it working);
- `send:N` as the N-th option order is about to be sent (journaled, not at the venue);
- `settle:N` as the desk is about to apply the N-th expiry/exercise/assignment activity: the
  venue has settled the contract and saved it, the run has not heard (the outage spans the
  expiry);
- `leg:N` between the two legs' fills of the N-th combo fill the desk journals. The venue
  fills a combo all or none, at once (one `mleg` order, one fill event with both legs), so
  "between the legs" can only be on the run's side: its journal commits a fill's legs in one
  transaction (`Journal.atomic`), so the kill leaves neither leg journaled, and the resumed
  run reads the fill from the venue: both legs, once.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(900)]

WINDOW = ("--from", "2012-01-03", "--to", "2012-04-27")
MEASURED = ["mid", "spread_cost", "slippage_cost"]  # against the last quote seen: see below

CHILD = r"""
import os, signal, sys

kind, _, count = os.environ.get("KILL_AT", "").partition(":")
calls = [0]


def die_on(cls, name, *, after=False, when=lambda *a, **k: True):
    original = getattr(cls, name)

    def hooked(self, *args, **kwargs):
        if not when(self, *args, **kwargs):
            return original(self, *args, **kwargs)
        calls[0] += 1
        last = calls[0] == int(count)
        if last and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        out = original(self, *args, **kwargs)
        if last:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(cls, name, hooked)


if kind == "bar":
    from parity.analyzers.recorder import Recorder
    die_on(Recorder, "_journal_live_bar", after=True)
elif kind == "settle":
    from parity.venues.alpaca.option_desk import VenueOptionsDesk
    die_on(VenueOptionsDesk, "_settle_one")
elif kind == "send":
    from parity.venues.alpaca.option_desk import VenueOptionsDesk
    die_on(VenueOptionsDesk, "_send")
elif kind == "leg":
    from parity.analyzers.option_journal import OptionRecorder
    die_on(OptionRecorder, "_fill", when=lambda self, cid, *a, **k: cid.endswith("-L2"))
from parity.cli import main
sys.argv = ["parity", *sys.argv[1:]]
main()
"""


def _command(tmp: Path, *args: str) -> list[str]:
    child = tmp / "child.py"
    child.write_text(CHILD)
    return [sys.executable, str(child), *args]


def _start(tmp: Path, run_id: str) -> list[str]:
    return _command(
        tmp, "run", "paper", "put_credit_spread", "--venue", "local", "--symbols", "IBM",
        "--data", "sample:daily", "--timeframe", "1Day", *WINDOW, "--cash", "100000",
        "--commission", "0", "--slippage", "0", "--no-daily-reports",
        "--run-id", run_id, "--runs-dir", str(tmp / "runs"),
    )  # fmt: skip


def _run(command: list[str], kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KILL_AT": kill_at or ""}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def _csv(run: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(run / name)


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("alone")
    done = _run(_start(tmp, "alone"))
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "runs" / "alone"


def _killed_and_resumed(
    tmp: Path, kill_at: str, between: Callable[[Path], None] = lambda _run: None
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The run killed at `kill_at`, `between(run_dir)` looking at what the crash left, and
    the run resumed to its end."""
    run_id = "k"
    crashed = _run(_start(tmp, run_id), kill_at)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    between(tmp / "runs" / run_id)
    resumed = _run(_command(tmp, "run", "paper", "--resume", run_id,
                            "--runs-dir", str(tmp / "runs")))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return tmp / "runs" / run_id, resumed


def _assert_same_run(got: Path, expected: Path) -> None:
    """Option trades, option fills and events, every fill of the run, cash every bar and the
    positions at the end: as the run never killed. The quotes a fill is measured against
    (`MEASURED`) are the last the run saw before it; a resumed run has not seen the quotes
    seen before the crash again, so they are left out, as the rehearsal tests leave them out
    against the backtest."""
    trades = _csv(expected, "options_trades.csv").drop(columns=["spread_cost", "slippage_cost"])
    assert len(trades) > 10
    pd.testing.assert_frame_equal(
        _csv(got, "options_trades.csv").drop(columns=["spread_cost", "slippage_cost"]), trades
    )
    fills = _csv(expected, "options_fills.csv").drop(columns=MEASURED)
    pd.testing.assert_frame_equal(_csv(got, "options_fills.csv").drop(columns=MEASURED), fills)
    # every fill of the run; those of one moment in a stable order (a share fill the venue
    # made while the run was down is journaled at start-up, before the combo fill of the same
    # open the desk reads at the first bar: same fills, journaled in another order)
    columns = ["datetime", "symbol", "side", "qty", "price", "commission", "kind"]

    def run_fills(run: Path) -> pd.DataFrame:
        frame = _csv(run, "fills.csv")[columns]
        return frame.sort_values(columns, kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(run_fills(got), run_fills(expected))
    equity, reference = _csv(got, "equity.csv"), _csv(expected, "equity.csv")
    assert list(equity["datetime"]) == list(reference["datetime"])
    assert (equity["cash"] - reference["cash"]).abs().max() < 0.005
    assert (equity["value"] - reference["value"]).abs().max() < 0.005
    for name in ("orders", "greeks"):
        assert len(_csv(got, f"options_{name}.csv")) == len(_csv(expected, f"options_{name}.csv"))

    def held(run: Path) -> dict[str, float]:
        f = _csv(run, "fills.csv")
        signed = f["qty"].where(f["side"] == "buy", -f["qty"])
        out = signed.groupby(f["symbol"]).sum()
        return {str(s): float(q) for s, q in out.items() if q}

    assert held(got) == held(expected)


def _journal(run: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(run / "journal.sqlite") as conn:
        return conn.execute(sql).fetchall()


def test_a_kill_mid_run_with_a_combo_working_changes_nothing(alone: Path, tmp_path: Path) -> None:
    tape = _csv(alone, "option_tape.csv")
    assert len(tape) > 200 and "chain" in set(tape["source"])
    killed_at = pd.Timestamp("2012-02-15 16:00")  # the close of bar 31, the last one done

    def tape_kept(run: Path) -> None:
        """The crashed run's tape holds every quote received up to the kill, as received."""
        kept = _csv(run, "option_tape.csv")
        decided = pd.to_datetime(tape["decided_at"])
        assert pd.to_datetime(kept["decided_at"]).max() == killed_at
        pd.testing.assert_frame_equal(kept, tape[decided <= killed_at].reset_index(drop=True))

    # bar 31 (2012-02-15): a combo decided on it is working at the venue (checked below)
    run, resumed = _killed_and_resumed(tmp_path, "bar:31", tape_kept)
    _assert_same_run(run, alone)
    # the resumed run taped on after the crash: the whole tape, nothing twice
    pd.testing.assert_frame_equal(_csv(run, "option_tape.csv"), tape)
    said = resumed.stderr + resumed.stdout
    assert "options: book rebuilt from the journal" in said
    assert re.search(r"options: \S+ is \w+ at the venue: kept working", said), said[-3000:]


def test_a_kill_before_an_order_is_sent_sends_it_on_resume_once(
    alone: Path, tmp_path: Path
) -> None:
    run, resumed = _killed_and_resumed(tmp_path, "send:4")
    _assert_same_run(run, alone)
    assert "never reached the venue: sent now" in resumed.stderr + resumed.stdout
    intents = _journal(run, "SELECT client_order_id FROM order_intents")
    assert len(intents) == len(set(intents))


def test_a_kill_across_an_expiry_applies_its_activities_once(alone: Path, tmp_path: Path) -> None:
    run, resumed = _killed_and_resumed(tmp_path, "settle:3")
    _assert_same_run(run, alone)
    events = _journal(run, "SELECT kind, payload FROM events WHERE kind LIKE 'option_%' "
                           "AND kind NOT IN ('option_book', 'options_session')")  # fmt: skip
    expected = _csv(alone, "options_fills.csv")
    settled = expected[expected["kind"] != "trade"]
    assert len(events) == len(settled) >= 3  # each expiry/assignment once, none twice
    said = re.search(r"(\d+) expiry/exercise/assignment activities of the venue to apply",
                     resumed.stderr + resumed.stdout)  # fmt: skip
    assert said is not None and int(said.group(1)) >= 1, resumed.stderr[-3000:]


def test_a_kill_between_a_combos_legs_leaves_neither_then_both(alone: Path, tmp_path: Path) -> None:
    run_id = "k"
    crashed = _run(_start(tmp_path, run_id), "leg:3")
    assert crashed.returncode == -signal.SIGKILL
    run = tmp_path / "runs" / run_id
    legs = _journal(run, "SELECT client_order_id FROM fills WHERE client_order_id LIKE '%-L_'")
    parents = {str(c).rsplit("-", 1)[0] for (c,) in legs}
    for parent in parents:  # every combo journaled with both legs, or not at all
        assert {f"{parent}-L1", f"{parent}-L2"} <= {str(c) for (c,) in legs}
    assert len(parents) == 2  # the third combo fill's legs: neither
    resumed = _run(_command(tmp_path, "run", "paper", "--resume", run_id,
                            "--runs-dir", str(tmp_path / "runs")))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_same_run(run, alone)
    fills = _journal(run, "SELECT client_order_id, cum_qty FROM fills")
    assert len(fills) == len(set(fills))


def test_the_uninterrupted_run_holds_each_kill_point(alone: Path) -> None:
    """The kill points above land where they mean to: some settlements, many combo fills."""
    fills = _csv(alone, "options_fills.csv")
    assert (fills["kind"] != "trade").sum() >= 3
    assert fills["order"].nunique() >= 3
    assert dt.date.fromisoformat(str(fills["datetime"].iloc[0])[:10]) < dt.date(2012, 3, 1)
