"""The same plan gives the same trades in a backtest and in a lock-step paper rehearsal against
the local venue (alpaca-py over loopback): brackets, the stop entry's oco exits, the expiry
sale, and the ambiguous bar decided by the same rule (`finer-data` on the venue's hourly bars
too), with the same reasons in trades.csv."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from plan_series import ENTRY_REASONS, SESSIONS, write_series

from parity.config import BacktestConfig
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(300),
]


@pytest.mark.parametrize("rule", ["stop-first", "target-first", "finer-data"])
def test_backtest_and_lock_step_rehearsal_trade_the_plan_identically(
    tmp_path: Path, rule: str
) -> None:
    root = write_series(tmp_path)
    common = {
        "strategy": "plan",
        "params": {"plan": str(root / "trade_plan.csv")},
        "data": str(root / "daily"),
        "symbols": ("ACME",),
        "commission": "0",
        "slippage": "0",
        "start": SESSIONS[0],
        "end": SESSIONS[33],
        "ambiguous": rule,
        "finer": str(root / "hourly") if rule == "finer-data" else None,
        "cash": 100_000.0,
    }
    backtest = run_backtest(BacktestConfig(**common, runs_dir=tmp_path / "bt")).run_dir
    paper = run_paper(
        PaperConfig(
            **common, venue="local", timeframe=parse_timeframe("1Day"), runs_dir=tmp_path / "pp"
        )
    ).run_dir
    bt_trades = pd.read_csv(backtest / "trades.csv", keep_default_na=False)
    pp_trades = pd.read_csv(paper / "trades.csv", keep_default_na=False)
    assert len(bt_trades) == 6
    pd.testing.assert_frame_equal(bt_trades, pp_trades)
    assert bt_trades["ambiguous"].tolist() == ["", "", "", rule, "", rule]
    # the bracket's ambiguous bar (the hours say target first) and the oco pair's (every hour
    # reaches both: the stop-loss, unless target-first)
    exit_price = 96.0 if rule == "stop-first" else 104.0
    oco_exit = 105.0 if rule == "target-first" else 98.0
    assert bt_trades["exit_price"].tolist() == [104.0, 96.0, 100.0, exit_price, 105.0, oco_exit]
    bt_equity = pd.read_csv(backtest / "equity.csv")["value"]
    pp_equity = pd.read_csv(paper / "equity.csv")["value"]
    assert bt_equity.iloc[-1] == pytest.approx(pp_equity.iloc[-1], abs=0.01)
    assert dt.date.fromisoformat(bt_trades["exit_time"].iloc[-1]) == SESSIONS[32]
    # the daily report says why each trade was taken and closed
    report = (paper / "reports" / f"daily-{SESSIONS[4]}.txt").read_text(encoding="utf-8")
    assert f"{ENTRY_REASONS['target-row']} -> target" in report
    report = (paper / "reports" / f"daily-{SESSIONS[19]}.txt").read_text(encoding="utf-8")
    reason = "stop" if rule == "stop-first" else "target"  # the bracket's ambiguous bar
    assert f"{ENTRY_REASONS['ambiguous-row']} -> {reason}, ambiguous bar: {rule}" in report
