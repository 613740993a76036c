"""The same risk limits give the same rejections, with the same reasons, in a backtest and in a
lock-step paper rehearsal on the local venue (one session of the IBM minute sample, no costs);
with `flatten_on_kill` the kill switch closes the position in both."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.risk import RiskLimits
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(120)]

DAY = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 4)}
COLUMNS = ["symbol", "side", "qty", "submitted_at", "status", "reason"]

PYRAMID = '''
"""Buys `size` shares every `every` bars, closes the position every `exit_every` bars."""

import backtrader as bt


class Pyramid(bt.Strategy):
    params = (("every", 10), ("size", 40), ("exit_every", 70))

    def next(self):
        bar = len(self)
        if bar % self.p.exit_every == 0 and self.position:
            self.close()
        elif bar % self.p.every == 0:
            self.buy(size=self.p.size)
'''

CASES = {
    "sma_cross": (
        "sma_cross",
        {"fast": "5", "slow": "20", "sizing": "fixed", "size": "100"},
        {"max_orders_per_day": 3, "max_position_shares": 100},
    ),
    "pyramid": (
        "pyramid",
        {"every": "10", "size": "40", "exit_every": "70"},
        {"max_position_shares": 100, "max_orders_per_day": 12, "trading_hours": "09:35-15:55"},
    ),
    "kill_and_flatten": (
        "pyramid",
        {"every": "10", "size": "40", "exit_every": "1000"},
        {"max_drawdown": "0.02%", "flatten_on_kill": True},
    ),
}


def _strategy(name: str, root: Path) -> str:
    if name != "pyramid":
        return name
    path = root / "pyramid.py"
    path.write_text(PYRAMID)
    return f"{path}:Pyramid"


def _orders(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "orders.csv", keep_default_na=False)[COLUMNS]


@pytest.fixture(scope="module", params=sorted(CASES))
def twin_orders(request, tmp_path_factory) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    root = tmp_path_factory.mktemp(request.param)
    name, params, options = CASES[request.param]
    strategy, limits = _strategy(name, root), RiskLimits.from_mapping(options)
    common = {"strategy": strategy, "params": params, "symbols": ("IBM",), "risk": limits}
    common["session"] = "extended"  # pre- and post-market bars: the trading-hours window binds
    backtest = run_backtest(
        BacktestConfig(
            data="sample:minute",
            commission="0",
            slippage="0",
            runs_dir=root / "bt",
            **common,
            **DAY,
        )
    )
    paper = run_paper(
        PaperConfig(
            slippage="0",
            venue="local",
            data="sample:minute",
            cash=100_000.0,
            runs_dir=root / "paper",
            **common,
            **DAY,
        )
    )
    return request.param, _orders(backtest.run_dir), _orders(paper.run_dir)


def test_same_orders_statuses_and_reasons_in_backtest_and_paper(twin_orders):
    _case, expected, got = twin_orders
    rejected = expected[expected["status"] == "rejected"]
    assert len(rejected) >= 2, expected
    assert rejected["reason"].str.startswith("risk: ").all()
    assert (expected["status"] == "completed").sum() >= 2
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_every_configured_limit_shows_up(twin_orders):
    case, expected, _ = twin_orders
    reasons = set(expected["reason"])
    wanted = {
        "sma_cross": ["risk: max orders per day 3"],
        "pyramid": [
            "risk: max position 100 shares for IBM (would be 120)",
            "risk: outside trading hours 09:35-15:55",
            "risk: max orders per day 12",
        ],
        "kill_and_flatten": ["risk: kill switch on (max drawdown 0.02% hit"],
    }[case]
    for prefix in wanted:
        assert any(r.startswith(prefix) for r in reasons), (prefix, reasons)


def test_kill_switch_flattens_and_blocks_entries(tmp_path):
    name, params, options = CASES["kill_and_flatten"]
    config = BacktestConfig(
        strategy=_strategy(name, tmp_path),
        params=params,
        symbols=("IBM",),
        risk=RiskLimits.from_mapping(options),
        data="sample:minute",
        commission="0",
        slippage="0",
        runs_dir=tmp_path,
        **DAY,
    )
    expected = _orders(run_backtest(config).run_dir)
    first_kill = expected.index[expected["reason"].str.startswith("risk: kill switch")][0]
    after = expected.loc[first_kill:]
    assert (after[after["side"] == "buy"]["status"] == "rejected").all()
    flatten = expected[(expected["side"] == "sell") & (expected["status"] == "completed")]
    assert len(flatten) == 1
    held = expected[expected["status"] == "completed"]
    signed = held["qty"].where(held["side"] == "buy", -held["qty"])
    assert signed.sum() == 0  # flat at the end
