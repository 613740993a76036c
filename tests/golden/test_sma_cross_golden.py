"""Golden numbers for `sma_cross` on the bundled IBM sample, checked three ways:

1. an independent numpy re-implementation of the same rules (SMA 10/30 crossover, 95 % of equity
   per entry, next-open fills with 5 bps slippage capped at the bar's range) must produce the same
   trade list and equity curve as the Backtrader run;
2. Sharpe, Sortino, volatility and max drawdown must equal QuantStats' on the same daily returns;
3. the headline figures are pinned (values obtained by running the code) so a change that moves
   them is noticed.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import quantstats as qs

from parity.config import BacktestConfig
from parity.feeds.sample import sample_path
from parity.runners.backtest import run_backtest

FAST, SLOW, CASH, SLIP, PCT = 10, 30, 100_000.0, 0.0005, 0.95


def independent_sma_cross(bars: pd.DataFrame) -> tuple[list[dict], np.ndarray]:
    """Plain-numpy simulation of the sma_cross rules; returns closed trades and equity per bar."""
    o, h, lo, c = (bars[k].to_numpy(float) for k in ("open", "high", "low", "close"))
    n = len(c)
    windows = np.lib.stride_tricks.sliding_window_view
    fast = np.full(n, np.nan)
    slow = np.full(n, np.nan)
    fast[FAST - 1 :] = windows(c, FAST).mean(axis=1)
    slow[SLOW - 1 :] = windows(c, SLOW).mean(axis=1)
    diff = fast - slow
    cash, qty = CASH, 0
    pending: tuple[str, int] | None = None
    trades: list[dict] = []
    entry: dict | None = None
    equity = np.empty(n)
    last_nonzero = diff[SLOW - 1]
    for i in range(n):
        if pending is not None:  # market order from the previous bar fills at this open
            side, size = pending
            if side == "buy":
                price = min(o[i] * (1 + SLIP), h[i])
                cash -= size * price
                qty += size
                entry = {"entry_time": bars.index[i], "entry_price": price, "qty": size}
            else:
                price = max(o[i] * (1 - SLIP), lo[i])
                cash += size * price
                qty -= size
                assert entry is not None
                entry.update(
                    exit_time=bars.index[i],
                    exit_price=price,
                    pnl=size * (price - entry["entry_price"]),
                )
                trades.append(entry)
                entry = None
            pending = None
        equity[i] = cash + qty * c[i]
        if i >= SLOW:  # CrossOver needs the previous non-zero difference
            up = last_nonzero < 0 and diff[i] > 0
            down = last_nonzero > 0 and diff[i] < 0
            if up and qty == 0:
                pending = ("buy", math.floor(equity[i] * PCT / c[i]))
            elif down and qty > 0:
                pending = ("sell", qty)
        if i >= SLOW - 1 and diff[i] != 0:
            last_nonzero = diff[i]
    return trades, equity


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    config = BacktestConfig(runs_dir=runs)  # the defaults: sma_cross, sample IBM, 5 bps, no fee
    result = run_backtest(config)
    bars = pd.read_csv(sample_path("IBM"), index_col="datetime", parse_dates=["datetime"])
    return result, bars


def test_trade_list_matches_independent_simulation(run):
    result, bars = run
    expected, _ = independent_sma_cross(bars)
    trades = pd.read_csv(result.run_dir / "trades.csv", parse_dates=["entry_time", "exit_time"])
    assert len(trades) == len(expected) == 60
    for row, exp in zip(trades.itertuples(), expected, strict=True):
        assert row.entry_time == exp["entry_time"]
        assert row.exit_time == exp["exit_time"]
        assert row.qty == exp["qty"]
        assert row.entry_price == pytest.approx(exp["entry_price"], rel=1e-12)
        assert row.exit_price == pytest.approx(exp["exit_price"], rel=1e-12)
        assert row.pnl_net == pytest.approx(exp["pnl"], rel=1e-9, abs=1e-6)


def test_equity_curve_matches_independent_simulation(run):
    result, bars = run
    _, equity = independent_sma_cross(bars)
    recorded = pd.read_csv(result.run_dir / "equity.csv", index_col="datetime")
    assert len(recorded) == len(bars)
    np.testing.assert_allclose(recorded["value"].to_numpy(), equity, rtol=1e-10)


def test_risk_metrics_equal_quantstats(run):
    result, bars = run
    _, equity = independent_sma_cross(bars)
    closes = pd.Series(equity, index=bars.index)
    returns = closes / closes.shift(1).fillna(CASH) - 1
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["sharpe"] == pytest.approx(qs.stats.sharpe(returns), rel=1e-9)
    assert metrics["sortino"] == pytest.approx(qs.stats.sortino(returns), rel=1e-9)
    assert metrics["volatility"] == pytest.approx(qs.stats.volatility(returns), rel=1e-9)
    assert metrics["max_drawdown"] == pytest.approx(qs.stats.max_drawdown(returns), rel=1e-9)
    assert metrics["total_return"] == pytest.approx(equity[-1] / CASH - 1, rel=1e-12)


def test_trade_metrics_equal_hand_computation(run):
    result, bars = run
    expected, _ = independent_sma_cross(bars)
    pnl = np.array([t["pnl"] for t in expected])
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["trades"] == len(pnl)
    assert metrics["win_rate"] == pytest.approx((pnl > 0).mean())
    assert metrics["profit_factor"] == pytest.approx(pnl[pnl > 0].sum() / -pnl[pnl < 0].sum())
    assert metrics["expectancy"] == pytest.approx(pnl.mean())
    assert metrics["avg_win"] == pytest.approx(pnl[pnl > 0].mean())
    assert metrics["avg_loss"] == pytest.approx(pnl[pnl < 0].mean())


def test_pinned_golden_metrics(run):
    """Values recorded from a run of this code; any change to them must be explained."""
    result, _ = run
    m = result.metrics
    golden = {
        "total_return": GOLDEN_TOTAL_RETURN,
        "sharpe": GOLDEN_SHARPE,
        "sortino": GOLDEN_SORTINO,
        "max_drawdown": GOLDEN_MAX_DRAWDOWN,
        "win_rate": 0.5,
        "profit_factor": GOLDEN_PROFIT_FACTOR,
        "exposure": GOLDEN_EXPOSURE,
    }
    for name, value in golden.items():
        assert m[name] == pytest.approx(value, rel=1e-9), name
    assert m["trades"] == 60
    assert m["max_drawdown_duration_days"] == GOLDEN_DD_DAYS


GOLDEN_TOTAL_RETURN = 1.168242436150011
GOLDEN_SHARPE = 0.45350386027652073
GOLDEN_SORTINO = 0.6828185662586517
GOLDEN_MAX_DRAWDOWN = -0.22070713066274328
GOLDEN_PROFIT_FACTOR = 1.7950026475894778
GOLDEN_EXPOSURE = 0.5516819571865443
GOLDEN_DD_DAYS = 1775
