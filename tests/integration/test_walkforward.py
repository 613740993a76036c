"""`parity walk-forward` on the bundled sample (small windows, one in-process Dask worker): each
window's optimisation ran only on bars before its test window (read back from the study's
recorded data, so a window that leaked would fail here), the out-of-sample pieces tile the test
span and chain to the stitched total return, and the chosen params are a direct loop's best."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import parity
from parity.config import BacktestConfig
from parity.optimize.objective import parse_objective
from parity.optimize.space import parse_space
from parity.optimize.walkforward import cut
from parity.runners.backtest import backtest_bars
from parity.runners.optimize import Execution, OptimizeConfig
from parity.runners.walkforward import WalkForwardConfig, WalkForwardResult, run_walkforward
from parity.strategies.registry import resolve_strategy

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WalkForwardResult, Path]]:
    runs = tmp_path_factory.mktemp("runs")
    backtest = BacktestConfig(
        strategy="sma_cross", start=dt.date(2009, 1, 1), end=dt.date(2011, 12, 31), runs_dir=runs
    )
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as client,
    ):
        optimize = OptimizeConfig(
            backtest=backtest, space=parse_space(["fast=5,10", "slow=20,40"]),
            objective=parse_objective("sharpe"), execution=Execution(client=client),
        )  # fmt: skip
        config = WalkForwardConfig(
            optimize=optimize, train=pd.DateOffset(years=1), test=pd.DateOffset(months=6),
            step=pd.DateOffset(months=6), name="wf",
        )  # fmt: skip
        yield run_walkforward(config), runs


def test_training_never_sees_its_test_window(walked: tuple[WalkForwardResult, Path]) -> None:
    result, runs = walked
    assert len(result.windows) == 4
    storage = f"sqlite:///{runs / 'studies.sqlite'}"
    for r in result.windows:
        data = optuna.load_study(study_name=r.study, storage=storage).user_attrs["parity"]["data"]
        assert pd.Timestamp(data["last"]) < r.window.test_start, (r.study, data)
        assert pd.Timestamp(data["first"]) >= r.window.train_start
    tested = [r.window for r in result.windows]
    for a, b in itertools.pairwise(tested):
        assert a.test_end == b.test_start and b.train_end == b.test_start
    index = result.equity.index
    assert index.is_monotonic_increasing and not index.has_duplicates
    assert index[0] >= tested[0].test_start and index[-1] < tested[-1].test_end


def test_pieces_chain_to_the_stitched_return(walked: tuple[WalkForwardResult, Path]) -> None:
    result, _ = walked
    product = math.prod(1 + r.out_of_sample["total_return"] for r in result.windows)
    assert result.metrics["total_return"] == pytest.approx(product - 1, rel=1e-12)
    cagrs = [r.in_sample["cagr"] for r in result.windows]
    mean = sum(cagrs) / len(cagrs)
    expected = result.metrics["cagr"] / mean if mean > 0 else None
    assert result.efficiency == (pytest.approx(expected, rel=1e-12) if expected else None)
    assert set(result.stability) == {"fast", "slow"}
    assert result.stability["fast"]["values"] == [r.params["fast"] for r in result.windows]


def test_each_window_chose_a_direct_loops_best(walked: tuple[WalkForwardResult, Path]) -> None:
    result, runs = walked
    backtest = BacktestConfig(
        strategy="sma_cross", start=dt.date(2009, 1, 1), end=dt.date(2011, 12, 31), runs_dir=runs
    )
    bars = backtest_bars(backtest, resolve_strategy("sma_cross"))
    for r in result.windows[:2]:
        train = cut(bars, r.window.train_start, r.window.train_end)
        scores = {
            (f, s): parity.simulate(train, "sma_cross", {"fast": f, "slow": s}).metrics["sharpe"]
            for f in (5, 10)
            for s in (20, 40)
        }
        best = max(scores, key=lambda k: scores[k] if scores[k] is not None else -math.inf)
        assert (r.params["fast"], r.params["slow"]) == best
        assert r.in_sample["sharpe"] == scores[best]


def test_written_results(walked: tuple[WalkForwardResult, Path]) -> None:
    result, _ = walked
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["metrics"]["total_return"] == result.metrics["total_return"]
    assert len(summary["windows"]) == 4
    equity = pd.read_csv(result.run_dir / "equity.csv", index_col="datetime")
    assert len(equity) == len(result.equity)
    page = (result.run_dir / "report.html").read_text()
    assert "walk-forward efficiency" in page and "out-of-sample equity" in page
