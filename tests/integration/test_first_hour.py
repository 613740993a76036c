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
CHATTER = (
    "starting data websocket", "connecting to ws://", "subscribed to bars",
    "started trading stream", "stream connected", "feed: live", "daily report 2013",
)  # fmt: skip


def parity(*args: str) -> subprocess.CompletedProcess[str]:
    tree = str(Path(__file__).resolve().parents[2] / "src")
    path = os.pathsep.join(filter(None, [tree, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
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


RUN_FILE = """\
strategy: sma_cross
params: {fast: 5, slow: 20}
data: sample:minute
symbols: IBM
timeframe: 1Min
from: 2013-10-04
to: 2013-10-04
cash: 100000
commission: "0"
slippage: "0"
session: extended
fill: open
"""


def test_paper_and_backtest_read_one_run_file(tmp_path: Path) -> None:
    """`run paper --config` takes the file `run backtest --config` takes: the same strategy,
    params, bars, window, cash and costs, so the lock-step rehearsal ends at the backtest's
    equity to the cent; a key only a backtest has is named and ignored."""
    import json

    import pandas as pd

    run_file = tmp_path / "run.yaml"
    run_file.write_text(RUN_FILE)
    backtest = parity("run", "backtest", "--config", str(run_file), "--runs-dir",
                      str(tmp_path / "bt"), "--json")  # fmt: skip
    assert backtest.returncode == 0, backtest.stderr
    paper = parity("run", "paper", "--venue", "local", "--config", str(run_file), "--runs-dir",
                   str(tmp_path / "paper"), "--json")  # fmt: skip
    assert paper.returncode == 0, paper.stderr
    assert "run file keys fill apply to backtests; the paper run ignores them" in paper.stderr
    dirs = [Path(json.loads(r.stdout.splitlines()[-1])["run_dir"]) for r in (backtest, paper)]
    manifests = [json.loads((d / "manifest.json").read_text()) for d in dirs]
    for key in ("params", "symbols", "timeframe", "commission", "slippage", "cash", "session"):
        assert manifests[0][key] == manifests[1][key], key
    assert manifests[1]["mode"] == "paper" and manifests[1]["params"]["fast"] == 5
    ends = [pd.read_csv(d / "equity.csv")["value"].iloc[-1] for d in dirs]
    assert round(ends[0], 2) == round(ends[1], 2)
    trades = [len(pd.read_csv(d / "trades.csv")) for d in dirs]
    assert trades[0] == trades[1] > 5


def test_paper_config_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: sma_cross\nspeed: 3\n")
    result = parity("run", "paper", "--venue", "local", "--config", str(bad))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: run file {bad}: unknown key speed; valid: strategy, params")
    )
    missing = parity("run", "paper", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "does not exist; check --config" in missing.stderr


def test_compare_two_backtests_is_a_what_if(tmp_path: Path) -> None:
    """Two backtests compare as a what-if of params or costs: the manifest diff, the metrics of
    both side by side and the ledger; one backtest alone is told how to do that."""
    import json

    runs = str(tmp_path)
    common = ["--from", "2011-01-01", "--to", "2012-12-31", "--runs-dir", runs, "--json"]
    a, b = (
        json.loads(parity("run", "backtest", "-p", f"fast={fast}", *common).stdout)["run_id"]
        for fast in (10, 5)
    )
    alone = parity("compare", a, "--runs-dir", runs)
    assert alone.returncode == 12
    assert alone.stderr.strip() == (
        f"error: run {a} is a backtest run: it has no twin; compare it with another run instead "
        f"(a what-if of params or costs): parity compare {a} --against OTHER_RUN"
    )
    done = parity("compare", a, "--against", b, "--runs-dir", runs)
    assert done.returncode in (0, 1, 2), done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith(f"verdict: {('PASS', 'WARN', 'FAIL')[done.returncode]} (run {a} vs")
    assert out[out.index("what differs (manifest diff)") + 1] == f"  params.fast: {a} 10, {b} 5"
    header = next(line for line in out if line.startswith("metric "))
    assert header.split() == ["metric", a, b, "diff", "rel"]
    metrics = [json.loads((tmp_path / r / "metrics.json").read_text()) for r in (a, b)]
    sharpe = next(line for line in out if line.startswith("Sharpe ratio"))
    assert sharpe.split()[2:4] == [f"{metrics[0]['sharpe']:.2f}", f"{metrics[1]['sharpe']:.2f}"]
    assert any(line.startswith("round trips: ") for line in out)  # the ledger's counts
    page = tmp_path / a / f"divergence-against-{b}.html"
    assert page.is_file() and "What differs" in page.read_text()


@pytest.fixture(scope="module")
def daily_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small PPO checkpoint trained on IBM's daily bars of 2011-2012."""
    from parity.models.train import TrainConfig, train_ppo

    out = tmp_path_factory.mktemp("ppo") / "ibm-daily"
    train_ppo(TrainConfig(symbols=("IBM",), start=dt.date(2011, 1, 1), end=dt.date(2012, 12, 31),
                          timesteps=512, seed=3, out=out))  # fmt: skip
    return out


def test_backtest_policy_checks_its_checkpoint_against_the_bars(
    daily_checkpoint: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from parity.cli import cli

    def backtest(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli, ["run", "backtest", "policy", "--param",
                                        f"checkpoint={daily_checkpoint}", "--runs-dir",
                                        str(tmp_path), *args])  # fmt: skip

    inside = backtest("--from", "2012-06-01", "--to", "2012-12-31")
    assert inside.exit_code == 0, inside.stderr
    assert (
        f"warning: the run's bars 2012-06-01..2012-12-31 overlap the training bars of checkpoint "
        f"{daily_checkpoint} (2011-01-03.."
    ) in inside.stderr
    assert "an in-sample test flatters the policy; start after" in inside.stderr
    after = backtest("--from", "2013-01-01")  # the sample's bars after the training's
    assert after.exit_code == 0, after.stderr
    assert "overlap" not in after.stderr and "warning" not in after.stderr
    minutes = backtest("--data", "sample:minute", "--symbols", "IBM", "--timeframe", "1Min")
    assert minutes.exit_code == 4
    assert minutes.stderr.strip().splitlines()[-1] == (
        f"error: checkpoint {daily_checkpoint} was trained on 1Day bars; this run is on 1Min "
        "bars, where its features mean something else: run with --timeframe 1Day, retrain it "
        "with `parity train ppo` on 1Min bars, or --param any_timeframe=true to run it anyway"
    )
    anyway = backtest("--data", "sample:minute", "--symbols", "IBM", "--timeframe", "1Min",
                      "--from", "2013-10-07", "--to", "2013-10-07",
                      "--param", "any_timeframe=true")  # fmt: skip
    assert anyway.exit_code == 0, anyway.stderr
    other = backtest("--symbols", "AAPL", "--from", "2013-01-01")
    assert other.exit_code == 0, other.stderr
    assert f"checkpoint {daily_checkpoint} was trained on IBM; this run trades AAPL" in other.stderr
