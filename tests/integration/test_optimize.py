"""`parity optimize` end to end on a Dask cluster (one in-process worker, small data): a grid
study finds the best point a direct loop over `simulate` finds, with the same metrics to the
last digit; a study interrupted by Ctrl+C continues without repeating a trial; a failing trial is
recorded with its error and the study goes on; `--keep-best` writes an ordinary run."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

import parity
from parity.config import BacktestConfig
from parity.errors import ConfigError, Interrupted
from parity.optimize.objective import parse_constraint, parse_objective
from parity.optimize.space import parse_space
from parity.runners.backtest import backtest_bars
from parity.runners.optimize import Execution, OptimizeConfig, run_optimize
from parity.strategies.registry import resolve_strategy

pytestmark = pytest.mark.timeout(300)

START, END = dt.date(2011, 1, 1), dt.date(2012, 12, 31)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


def config(tmp_path: Path, client: Client, space: list[str], **kwargs: object) -> OptimizeConfig:
    backtest = BacktestConfig(strategy="sma_cross", start=START, end=END, runs_dir=tmp_path)
    values: dict[str, object] = {
        "backtest": backtest,
        "space": parse_space(space),
        "objective": parse_objective("sharpe"),
        "execution": Execution(client=client),
        **kwargs,
    }
    return OptimizeConfig(**values)  # type: ignore[arg-type]


def direct(tmp_path: Path, params: dict[str, object]) -> dict[str, object]:
    backtest = BacktestConfig(strategy="sma_cross", start=START, end=END, runs_dir=tmp_path)
    bars = backtest_bars(backtest, resolve_strategy("sma_cross"))
    return parity.simulate(bars, "sma_cross", params, backtest.costs).metrics


SPACE = ["fast=5,10,15", "slow=20:40:20"]


def test_grid_finds_the_best_point_of_a_direct_loop(tmp_path: Path, client: Client) -> None:
    result = run_optimize(config(tmp_path, client, SPACE, study="grid"))
    expected = {
        (fast, slow): direct(tmp_path, {"fast": fast, "slow": slow})
        for fast in (5, 10, 15)
        for slow in (20, 40)
    }
    best_point = max(expected, key=lambda k: expected[k]["sharpe"])
    assert result.ran == 6 and len(result.table) == 6
    assert (result.best[0]["params"]["fast"], result.best[0]["params"]["slow"]) == best_point
    assert result.best[0]["objective"] == expected[best_point]["sharpe"]
    for _, row in result.table.iterrows():
        metrics = expected[(row["fast"], row["slow"])]
        assert row["state"] == "complete" and row["constraints"] == "ok"
        assert row["sharpe"] == metrics["sharpe"]
        assert row["total_return"] == metrics["total_return"]
        assert row["trades"] == metrics["trades"]
    written = json.loads((result.run_dir / "trials.json").read_text())
    assert sorted((r["fast"], r["slow"]) for r in written) == sorted(expected)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["best"][0]["params"] == {"fast": best_point[0], "slow": best_point[1]}
    assert summary["statistics"]["deflated_sharpe"]["trials"] == 6
    assert "probability of backtest overfitting" in summary["statistics"]["pbo"]["reading"]


def test_a_constraint_keeps_a_trial_from_being_chosen(tmp_path: Path, client: Client) -> None:
    unconstrained = run_optimize(config(tmp_path, client, SPACE, study="free"))
    best = unconstrained.best[0]
    bound = best["metrics"]["trades"]
    result = run_optimize(
        config(
            tmp_path,
            client,
            SPACE,
            study="bounded",
            constraints=(parse_constraint(f"trades<{bound}"),),
        )
    )
    row = result.table[result.table["trial"] == best["trial"]].iloc[0]
    assert row["constraints"] == f"broken: trades<{bound:g}"
    assert all(b["metrics"]["trades"] < bound for b in result.best)
    assert result.best[0]["params"] != best["params"]


def test_ctrl_c_then_continue_runs_every_point_once(tmp_path: Path, client: Client) -> None:
    seen: list[int] = []

    def stop_after_two(progress: object) -> None:
        seen.append(progress.done)  # type: ignore[attr-defined]
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="--study resumable to continue"):
        run_optimize(config(tmp_path, client, SPACE, study="resumable"), on_progress=stop_after_two)
    import optuna

    storage = f"sqlite:///{tmp_path / 'studies.sqlite'}"
    study = optuna.load_study(study_name="resumable", storage=storage)
    finished = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(finished) == 2 and len(study.trials) == 2  # nothing in flight was written
    first_points = {(t.params["fast"], t.params["slow"]) for t in finished}

    result = run_optimize(config(tmp_path, client, SPACE, study="resumable"))
    assert result.ran == 4  # only the missing points
    points = [(r["fast"], r["slow"]) for _, r in result.table.iterrows()]
    assert len(points) == 6 and len(set(points)) == 6
    study = optuna.load_study(study_name="resumable", storage=storage)
    completed = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(completed) == 6
    assert first_points <= {(t.params["fast"], t.params["slow"]) for t in completed}
    # a third run has nothing left to do
    assert run_optimize(config(tmp_path, client, SPACE, study="resumable")).ran == 0


def test_random_search_continues_without_repeating(tmp_path: Path, client: Client) -> None:
    space = ["fast=2:30:1", "slow=40:80:1"]
    first = run_optimize(config(tmp_path, client, space, study="rnd", search="random", trials=3))
    again = run_optimize(config(tmp_path, client, space, study="rnd", search="random", trials=6))
    assert (first.ran, again.ran) == (3, 3)
    points = [(r["fast"], r["slow"]) for _, r in again.table.iterrows()]
    assert len(points) == 6 and len(set(points)) == 6


def test_a_failing_trial_is_recorded_and_the_study_goes_on(tmp_path: Path, client: Client) -> None:
    result = run_optimize(config(tmp_path, client, ["fast=10,30", "slow=20"], study="fails"))
    rows = {r["fast"]: r for _, r in result.table.iterrows()}
    assert rows[30]["state"] == "fail"
    assert rows[30]["error"] == ("strategy SmaCross: fast (30) must be shorter than slow (20)")
    assert (
        rows[10]["state"] == "complete"
        and rows[10]["sharpe"] == direct(tmp_path, {"fast": 10, "slow": 20})["sharpe"]
    )
    assert result.best[0]["params"] == {"fast": 10, "slow": 20}


def test_a_different_definition_under_the_same_name_is_refused(
    tmp_path: Path, client: Client
) -> None:
    run_optimize(config(tmp_path, client, ["fast=5,10", "slow=30"], study="same"))
    with pytest.raises(ConfigError, match="study same exists with a different space"):
        run_optimize(config(tmp_path, client, ["fast=5,12", "slow=30"], study="same"))


def test_keep_best_writes_an_ordinary_run(tmp_path: Path, client: Client) -> None:
    result = run_optimize(config(tmp_path, client, SPACE, study="kept", keep_best=1))
    assert result.kept == ("kept-best1",)
    run_dir = tmp_path / "kept-best1"
    for name in ("manifest.json", "metrics.json", "equity.csv", "trades.csv", "fills.csv"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["sharpe"] == result.best[0]["objective"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {k: manifest["params"][k] for k in ("fast", "slow")} == result.best[0]["params"]
    again = run_optimize(config(tmp_path, client, SPACE, study="kept", keep_best=1))
    assert again.ran == 0 and again.kept == ("kept-best1",)  # the same best: the run is kept
    assert json.loads((run_dir / "manifest.json").read_text()) == manifest


def test_objective_from_a_python_file(tmp_path: Path, client: Client) -> None:
    script = tmp_path / "score.py"
    script.write_text("def score(result):\n    return -len(result.trades)\n")
    result = run_optimize(
        config(
            tmp_path, client, SPACE, study="callable", objective=parse_objective(f"{script}:score")
        )
    )
    fewest = min(direct(tmp_path, {"fast": f, "slow": s})["trades"]
                 for f in (5, 10, 15) for s in (20, 40))  # fmt: skip
    assert result.best[0]["objective"] == -fewest


def test_cli_optimize_on_a_local_cluster(tmp_path: Path) -> None:
    """The command as a user types it: a LocalCluster of worker processes, the one-line summary,
    the results on disk, and a one-line error on a bad space."""
    cmd = [sys.executable, "-c", "from parity.cli import main; main()", "optimize", "sma_cross"]
    common = ["--from", "2012-01-01", "--to", "2012-12-31", "--runs-dir", str(tmp_path)]
    done = subprocess.run(
        [
            *cmd,
            "--space",
            "fast=5,10",
            "--space",
            "slow=30",
            "--workers",
            "1",
            "--study",
            "cli",
            "--json",
            *common,
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["study"] == "cli" and payload["trials"] == 2 and payload["ran"] == 2
    assert (tmp_path / "optimize" / "cli" / "trials.csv").is_file()
    bad = subprocess.run(
        [*cmd, "--space", "fast=50:5:5", *common], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: space fast=50:5:5: HIGH 5 is below LOW 50; swap them"


def test_tpe_interrupted_trials_are_marked_and_run_again(tmp_path: Path, client: Client) -> None:
    space = ["fast=2:30:1", "slow=40:80:1"]
    calls: list[int] = []

    def stop_after_one(progress: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        run_optimize(
            config(tmp_path, client, space, study="tpe", search="tpe", trials=4),
            on_progress=stop_after_one,
        )
    import optuna

    study = optuna.load_study(study_name="tpe", storage=f"sqlite:///{tmp_path / 'studies.sqlite'}")
    marked = [t for t in study.trials if t.user_attrs.get("interrupted")]
    assert marked and all(t.state.name == "FAIL" for t in marked)  # the ones in flight
    result = run_optimize(config(tmp_path, client, space, study="tpe", search="tpe", trials=4))
    assert result.ran == 3
    assert len(result.table) == 4 and (result.table["state"] == "complete").all()


def test_cli_ctrl_c_stops_cleanly_and_the_same_command_continues(tmp_path: Path) -> None:
    """SIGINT to the command (and, as a terminal's Ctrl+C does, to its worker processes): exit
    130 with a one-line message naming how to continue; the same command then runs the rest."""
    import signal

    cmd = [sys.executable, "-c", "from parity.cli import main; main()", "optimize", "sma_cross",
           "--space", "fast=2:13:1", "--space", "slow=40", "--from", "2012-01-01", "--to",
           "2012-12-31", "--workers", "1", "--study", "stop",
           "--runs-dir", str(tmp_path)]  # fmt: skip
    # a terminal's Ctrl+C reaches a command whose SIGINT is not ignored: a test runner started
    # in the background (`pytest &` ignores SIGINT, and children inherit that) must not change it
    with subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as process:  # fmt: skip
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("trials 2/12"):
                break
        os.killpg(process.pid, signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=120) == 130, rest
    assert "error: interrupted after" in rest and "--study stop to continue" in rest
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["trials"] == 12 and 0 < payload["ran"] <= 10
    table = (tmp_path / "optimize" / "stop" / "trials.csv").read_text().splitlines()
    assert len(table) == 13 and len(set(table[1:])) == 12


def test_preload_off_gives_the_same_trials(tmp_path: Path, client: Client) -> None:
    """Trials run bar by bar (`--no-preload`, as a live run feeds bars) equal the vectorised
    ones, metric for metric."""
    from dataclasses import replace

    on = run_optimize(config(tmp_path, client, ["fast=5,10", "slow=30"], study="on"))
    off_config = config(tmp_path, client, ["fast=5,10", "slow=30"], study="off")
    off = run_optimize(replace(off_config, backtest=replace(off_config.backtest, preload=False)))
    columns = ["fast", "slow", "objective", "total_return", "sharpe", "trades", "max_drawdown"]
    left = on.table.sort_values("fast")[columns].reset_index(drop=True)
    right = off.table.sort_values("fast")[columns].reset_index(drop=True)
    assert left.equals(right)
    assert (left["trades"] > 0).all()
