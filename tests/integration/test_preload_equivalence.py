"""preload=True (array-filled feeds, runonce) and preload=False (bar by bar, as live) must give
the same run: identical equity, returns, trades, fills, orders and metrics for every bundled
strategy."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.runners.backtest import BacktestResult, run_backtest
from parity.timeframe import parse_timeframe

STRATEGIES = ["sma_cross", "rsi_reversion", "buy_and_hold"]
DATASETS = {
    "daily-IBM": {"data": "sample", "symbols": ("IBM",)},
    "daily-AAPL+MSFT": {"data": "sample", "symbols": ("AAPL", "MSFT")},
    # GOOG starts in 2004-08: AAPL trades from 2000 on (per-symbol readiness)
    "daily-AAPL+GOOG": {
        "data": "sample",
        "symbols": ("GOOG", "AAPL"),
        "end": dt.date(2006, 12, 29),
    },
    "minute-IBM-1Min": {"data": "sample:minute", "symbols": ("IBM",), "timeframe": "1Min"},
    "minute-IBM-5Min": {"data": "sample:minute", "symbols": ("IBM",), "timeframe": "5Min"},
}
# files that carry no run id and must be byte-identical
BYTE_IDENTICAL = ("equity.csv", "returns.csv", "trades.csv", "metrics.json")


def config(tmp_path: Path, strategy: str, dataset: str, **overrides: Any) -> BacktestConfig:
    values: dict[str, Any] = {"strategy": strategy, **DATASETS[dataset]}
    if "timeframe" in values:
        values["timeframe"] = parse_timeframe(values["timeframe"])
    values["runs_dir"] = tmp_path / "runs"
    values.update(overrides)
    return BacktestConfig(**values)


def without_ids(result: BacktestResult, name: str) -> pd.DataFrame:
    """orders/fills with the run id removed: client_order_id dropped, order ids renumbered in
    order of first appearance (Backtrader's order refs are a process-wide counter)."""
    frame = pd.read_csv(result.run_dir / name)
    assert frame["client_order_id"].str.startswith(f"{result.run_id}-").all()
    frame = frame.drop(columns=["client_order_id"])
    frame["order_id"] = pd.factorize(frame["order_id"])[0]
    return frame


def assert_same_run(a: BacktestResult, b: BacktestResult) -> None:
    for name in BYTE_IDENTICAL:
        assert (a.run_dir / name).read_bytes() == (b.run_dir / name).read_bytes(), name
    for name in ("fills.csv", "orders.csv"):
        pd.testing.assert_frame_equal(without_ids(a, name), without_ids(b, name))
    assert a.metrics == b.metrics
    manifests = [json.loads((r.run_dir / "manifest.json").read_text()) for r in (a, b)]
    for key in ("params", "symbols", "timeframe", "data", "costs", "start", "end", "cash"):
        assert manifests[0][key] == manifests[1][key], key


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_preload_and_bar_by_bar_give_identical_runs(
    tmp_path: Path, strategy: str, dataset: str
) -> None:
    preloaded = run_backtest(config(tmp_path, strategy, dataset, preload=True))
    streamed = run_backtest(config(tmp_path, strategy, dataset, preload=False))
    assert preloaded.run_id != streamed.run_id
    assert json.loads((preloaded.run_dir / "manifest.json").read_text())["preload"] is True
    assert json.loads((streamed.run_dir / "manifest.json").read_text())["preload"] is False

    assert_same_run(preloaded, streamed)

    # not vacuous: every case placed and filled orders on every symbol
    fills = pd.read_csv(preloaded.run_dir / "fills.csv")
    assert set(fills["symbol"]) == set(DATASETS[dataset]["symbols"])
    equity = pd.read_csv(preloaded.run_dir / "equity.csv")
    assert len(equity) > 100
    assert equity["value"].nunique() > 1
    if strategy == "buy_and_hold":
        # buys once per symbol and holds: fills but no closed round trip
        assert len(fills) == len(DATASETS[dataset]["symbols"])
        assert preloaded.metrics["trades"] == 0
    else:
        assert preloaded.metrics["trades"] > 0
        assert len(pd.read_csv(preloaded.run_dir / "trades.csv")) == preloaded.metrics["trades"]


@pytest.mark.parametrize("preload", [True, False])
def test_progress_callback_is_called_and_changes_nothing(tmp_path: Path, preload: bool) -> None:
    totals: list[int] = []
    calls: list[int] = []

    def factory(total: int) -> Any:
        totals.append(total)
        return calls.append

    plain = run_backtest(config(tmp_path, "sma_cross", "daily-IBM", preload=preload))
    with_progress = run_backtest(
        config(tmp_path, "sma_cross", "daily-IBM", preload=preload), progress=factory
    )
    assert_same_run(plain, with_progress)
    bars = len(pd.read_csv(plain.run_dir / "equity.csv"))
    assert totals == [bars]  # the factory is called once, with the number of bars
    # daily IBM has 3270 bars; updates come every max(total // 200, 1000) = 1000 bars
    assert bars == 3270
    assert calls == [1000, 2000, 3000]


def test_order_ids_are_deterministic_within_a_process(tmp_path: Path) -> None:
    first = run_backtest(config(tmp_path, "sma_cross", "daily-IBM"), run_id="fixed-id")
    first_fills = pd.read_csv(first.run_dir / "fills.csv")
    second = run_backtest(config(tmp_path / "again", "sma_cross", "daily-IBM"), run_id="fixed-id")
    second_fills = pd.read_csv(second.run_dir / "fills.csv")
    assert second_fills["client_order_id"].tolist() == first_fills["client_order_id"].tolist()
    assert second_fills["order_id"].tolist() == first_fills["order_id"].tolist()


def test_window_shorter_than_warm_up_behaves_the_same_in_both_modes(tmp_path: Path) -> None:
    import datetime as dt

    window = {"start": dt.date(2012, 1, 3), "end": dt.date(2012, 1, 20)}  # < slow=30 bars
    streamed = run_backtest(config(tmp_path, "sma_cross", "daily-IBM", preload=False, **window))
    assert streamed.metrics["trades"] == 0
    preloaded = run_backtest(config(tmp_path, "sma_cross", "daily-IBM", preload=True, **window))
    assert_same_run(preloaded, streamed)
