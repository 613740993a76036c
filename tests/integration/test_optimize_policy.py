"""`parity optimize policy`: a sweep over checkpoints (two training seeds) is an A/B test of
model versions on the same bars, costs and limits; each trial's metrics are exactly those of a
direct `simulate` of that checkpoint, through the API and through the command as typed. A
walk-forward over the checkpoints chooses, window by window, the checkpoint a direct loop
chooses, and its stitched out-of-sample curve is the per-window test runs chained."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from distributed import Client, LocalCluster

import parity
from parity.analyzers.metrics import compute_metrics
from parity.config import BacktestConfig
from parity.models.train import TrainConfig, train_ppo
from parity.optimize.objective import parse_objective
from parity.optimize.space import parse_space
from parity.optimize.walkforward import cut, with_warmup
from parity.runners.backtest import backtest_bars
from parity.runners.optimize import Execution, OptimizeConfig, run_optimize
from parity.runners.walkforward import WalkForwardConfig, run_walkforward
from parity.strategies.registry import resolve_strategy

pytestmark = pytest.mark.timeout(300)

WINDOW = {"symbols": ("IBM",), "start": dt.date(2011, 1, 1), "end": dt.date(2012, 12, 31)}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two model versions: the same training run with seeds 1 and 2."""
    root = tmp_path_factory.mktemp("ppo")
    found = []
    for seed in (1, 2):
        out = root / f"ppo-s{seed}"
        train_ppo(TrainConfig(**WINDOW, timesteps=256, seed=seed, out=out))  # type: ignore[arg-type]
        found.append(str(out))
    return found


def direct_metrics(checkpoints: list[str], tmp_path: Path) -> dict[str, dict[str, object]]:
    backtest = BacktestConfig(strategy="policy", runs_dir=tmp_path / "runs", **WINDOW)  # type: ignore[arg-type]
    bars = backtest_bars(backtest, resolve_strategy("policy"))
    return {
        c: parity.simulate(bars, "policy", {"checkpoint": c}, backtest.costs).metrics
        for c in checkpoints
    }


def test_a_sweep_over_training_seeds_compares_model_versions(
    tmp_path: Path, checkpoints: list[str]
) -> None:
    backtest = BacktestConfig(strategy="policy", runs_dir=tmp_path / "runs", **WINDOW)  # type: ignore[arg-type]
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as client,
    ):
        result = run_optimize(
            OptimizeConfig(
                backtest=backtest,
                space=parse_space([f"checkpoint={','.join(checkpoints)}"]),
                objective=parse_objective("total_return"),
                execution=Execution(client=client),
                study="ab",
            )
        )
    direct = direct_metrics(checkpoints, tmp_path)
    assert (result.table["state"] == "complete").all(), result.table["error"].tolist()
    for _, row in result.table.iterrows():
        assert row["total_return"] == direct[row["checkpoint"]]["total_return"]
        assert row["trades"] == direct[row["checkpoint"]]["trades"]
    winner = max(checkpoints, key=lambda c: direct[c]["total_return"])
    assert result.best[0]["params"] == {"checkpoint": winner}


def test_cli_optimize_policy_over_checkpoints(tmp_path: Path, checkpoints: list[str]) -> None:
    """`parity optimize policy --space checkpoint=A,B` on a LocalCluster of worker processes
    (each loads torch and the checkpoints itself)."""
    done = subprocess.run(
        [sys.executable, "-c", "from parity.cli import main; main()", "optimize", "policy",
         "--space", f"checkpoint={','.join(checkpoints)}", "--objective", "total_return",
         "--symbols", "IBM", "--from", "2011-01-01", "--to", "2012-12-31", "--study", "ab",
         "--runs-dir", str(tmp_path / "runs"), "--json"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "runs" / "optimize" / "ab" / "trials.csv",
                        float_precision="round_trip")  # fmt: skip
    direct = direct_metrics(checkpoints, tmp_path)
    assert sorted(table["checkpoint"]) == sorted(checkpoints)
    for _, row in table.iterrows():
        assert row["state"] == "complete", row["error"]
        assert row["total_return"] == direct[row["checkpoint"]]["total_return"]
        assert row["trades"] == direct[row["checkpoint"]]["trades"]
    winner = max(checkpoints, key=lambda c: float(direct[c]["total_return"]))  # type: ignore[arg-type]
    assert json.loads(done.stdout)["best"][0]["params"] == {"checkpoint": winner}


def test_walk_forward_over_checkpoints(tmp_path: Path, checkpoints: list[str]) -> None:
    """Train a year, test the next six months, step six months, on 2011-2012: two windows;
    each picks the checkpoint with the best in-sample total return on its training bars only,
    and the stitched curve is each window's test run (warmed up on the bars before it, as the
    walk-forward documents) scaled to start where the previous one ended."""
    backtest = BacktestConfig(strategy="policy", runs_dir=tmp_path / "runs", **WINDOW)  # type: ignore[arg-type]
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as client,
    ):
        optimize = OptimizeConfig(
            backtest=backtest, space=parse_space([f"checkpoint={','.join(checkpoints)}"]),
            objective=parse_objective("total_return"), execution=Execution(client=client),
        )  # fmt: skip
        result = run_walkforward(WalkForwardConfig(
            optimize=optimize, train=pd.DateOffset(years=1), test=pd.DateOffset(months=6),
            step=pd.DateOffset(months=6), name="wf-ppo",
        ))  # fmt: skip
    spans = [r.window.describe() for r in result.windows]
    assert spans == [  # the bars start on 2011-01-03 and end on 2012-12-31
        {"train": "2011-01-03..2012-01-02", "test": "2012-01-03..2012-07-02"},
        {"train": "2011-07-03..2012-07-02", "test": "2012-07-03..2012-12-31"},
    ], spans
    bars = backtest_bars(backtest, resolve_strategy("policy"))
    pieces, trades, level = [], 0, 1.0
    for r in result.windows:
        w = r.window
        assert w.train_end == w.test_start
        train = cut(bars, w.train_start, w.train_end)
        scores = {
            c: parity.simulate(train, "policy", {"checkpoint": c}, backtest.costs).metrics
            for c in checkpoints
        }
        winner = max(checkpoints, key=lambda c: float(scores[c]["total_return"]))
        assert r.params == {"checkpoint": winner}
        assert r.in_sample["total_return"] == scores[winner]["total_return"]
        assert r.in_sample["trades"] == scores[winner]["trades"]
        # the test run: the chosen checkpoint on the test window, warmed up on the bars before
        bare = parity.simulate(cut(bars, w.test_start, w.test_end), "policy",
                               {"checkpoint": winner}, backtest.costs)  # fmt: skip
        run = parity.simulate(
            with_warmup(bars, w.test_start, w.test_end, max(bare.warmup - 1, 0)), "policy",
            {"checkpoint": winner}, backtest.costs,
        )  # fmt: skip
        piece = run.equity[run.equity.index >= w.test_start]
        assert piece.index[0] >= w.test_start and piece.index[-1] < w.test_end
        oos = compute_metrics(piece, run.trades, run.fills, starting_cash=backtest.cash)
        assert r.out_of_sample["total_return"] == oos["total_return"]
        assert r.out_of_sample["trades"] == oos["trades"] == len(run.trades)
        pieces.append(piece[["value", "cash"]] * level)
        level *= float(piece["value"].iloc[-1]) / backtest.cash
        trades += len(run.trades)
    stitched = pd.concat(pieces)
    pd.testing.assert_frame_equal(result.equity, stitched, check_exact=True, check_freq=False)
    assert result.metrics["trades"] == trades
    assert result.metrics["total_return"] == pytest.approx(level - 1, rel=1e-12)
    written = pd.read_csv(result.run_dir / "windows.csv")
    assert list(written["param_checkpoint"]) == [r.params["checkpoint"] for r in result.windows]
