"""`parity optimize policy`: a sweep over checkpoints (two training seeds) is an A/B test of
model versions on the same bars, costs and limits; each trial's metrics are exactly those of a
direct `simulate` of that checkpoint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

import parity
from parity.config import BacktestConfig
from parity.models.train import TrainConfig, train_ppo
from parity.optimize.objective import parse_objective
from parity.optimize.space import parse_space
from parity.runners.backtest import backtest_bars
from parity.runners.optimize import Execution, OptimizeConfig, run_optimize
from parity.strategies.registry import resolve_strategy

pytestmark = pytest.mark.timeout(300)

WINDOW = {"symbols": ("IBM",), "start": dt.date(2011, 1, 1), "end": dt.date(2012, 12, 31)}


def test_a_sweep_over_training_seeds_compares_model_versions(tmp_path: Path) -> None:
    checkpoints = []
    for seed in (1, 2):
        out = tmp_path / f"ppo-s{seed}"
        train_ppo(TrainConfig(**WINDOW, timesteps=256, seed=seed, out=out))  # type: ignore[arg-type]
        checkpoints.append(str(out))
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
    bars = backtest_bars(backtest, resolve_strategy("policy"))
    direct = {
        c: parity.simulate(bars, "policy", {"checkpoint": c}, backtest.costs).metrics
        for c in checkpoints
    }
    assert (result.table["state"] == "complete").all(), result.table["error"].tolist()
    for _, row in result.table.iterrows():
        assert row["total_return"] == direct[row["checkpoint"]]["total_return"]
        assert row["trades"] == direct[row["checkpoint"]]["trades"]
    winner = max(checkpoints, key=lambda c: direct[c]["total_return"])
    assert result.best[0]["params"] == {"checkpoint": winner}
