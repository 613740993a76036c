"""A first hour without surprises (issue 20): what `parity run paper` prints on a replay (a few
lines, a progress bar, the routine chatter only at --log-level debug), `run paper --config`
with the backtest's run file, and `run backtest policy`'s checks of its checkpoint."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from parity.runners.paper import PaperConfig, run_paper

pytestmark = [pytest.mark.timeout(240), pytest.mark.filterwarnings("ignore::DeprecationWarning")]
PARITY = [sys.executable, "-c", "from parity.cli import main; main()"]
PAPER = [
    "run", "paper", "sma_cross", "--venue", "local", "--data", "sample:minute",
    "--symbols", "IBM", "--from", "2013-10-04", "--to", "2013-10-04",
]  # fmt: skip
CHATTER = ("starting data websocket", "connecting to ws://", "subscribed to bars",
           "started trading stream", "stream connected", "feed: live", "daily report 2013")  # fmt: skip


def parity(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(Path(__file__).resolve().parents[2] / "src"), os.environ.get("PYTHONPATH")]))}  # fmt: skip
    env.pop("PARITY_LOG_LEVEL", None)
    return subprocess.run([*PARITY, *args], capture_output=True, text=True, env=env, timeout=200)


def test_a_paper_replay_prints_a_few_lines_and_the_chatter_only_at_debug(tmp_path: Path) -> None:
    quiet = parity(*PAPER, "--runs-dir", str(tmp_path / "a"))
    assert quiet.returncode == 0, quiet.stderr
    lines = quiet.stderr.splitlines()
    assert not [line for line in lines if any(c in line for c in CHATTER)], lines
    assert len(lines) <= 9, lines  # venue, account, clock, symbol, log file, run, replay end
    assert lines[-1].startswith("replay finished after ")
    # the same run with --log-level debug shows every one of them
    loud = parity("--log-level", "debug", *PAPER, "--runs-dir", str(tmp_path / "b"))
    assert loud.returncode == 0, loud.stderr
    for needle in ("connecting to ws://", "subscribed to bars", "stream connected",
                   "IBM feed: live", "daily report 2013-10-04"):  # fmt: skip
        assert needle in loud.stderr, needle
    # and it ends with the next commands, as a backtest does
    out = quiet.stdout.splitlines()
    run_id = next(line.split()[1] for line in out if " written to " in line)
    assert out[out.index("next:") + 1].split("#")[0].strip() == (
        f"parity report tearsheet {run_id} --runs-dir {tmp_path / 'a'}"
    )
    assert f"parity compare {run_id} --runs-dir {tmp_path / 'a'}" in quiet.stdout


def test_a_replay_moves_a_progress_bar_to_its_last_step(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def factory(total: int):  # type: ignore[no-untyped-def]
        seen.append(("total", total))
        return lambda done: seen.append(("done", done))

    config = PaperConfig(
        strategy="sma_cross", symbols=("IBM",), venue="local", data="sample:minute",
        start=dt.date(2013, 10, 4), end=dt.date(2013, 10, 4), runs_dir=tmp_path,
    )  # fmt: skip
    run_paper(config, progress=factory)
    assert seen[0][0] == "total" and seen[0][1] > 300
    done = [n for kind, n in seen if kind == "done"]
    assert done and done[-1] == seen[0][1]  # the bar ends full
    assert done == sorted(done)  # and only moves forward
