"""Symbols whose data starts at different dates: each trades as soon as its own indicators are
ready (Backtrader alone waits for every symbol's warm-up), the same trades as when it runs alone,
with preload/runonce on and off; the run summary names each symbol's bars."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.runners.backtest import BacktestResult, run_backtest

END = dt.date(2006, 12, 29)
GOOG_FIRST = "2004-08-19"
FIXED = {"sizing": "fixed", "size": 100}  # the same order sizes alone and together


def run(
    tmp_path: Path, strategy: str, symbols: tuple[str, ...], **overrides: Any
) -> BacktestResult:
    values: dict[str, Any] = {
        "strategy": strategy,
        "data": "sample",
        "symbols": symbols,
        "end": END,
        "params": FIXED,
        "runs_dir": tmp_path / "runs",
        **overrides,
    }
    return run_backtest(BacktestConfig(**values))


def fills(result: BacktestResult, symbol: str) -> pd.DataFrame:
    frame = pd.read_csv(result.run_dir / "fills.csv")
    frame = frame[frame["symbol"] == symbol]
    return frame[["datetime", "side", "qty", "price"]].reset_index(drop=True)


@pytest.mark.parametrize("preload", [True, False])
@pytest.mark.parametrize("strategy", ["sma_cross", "rsi_reversion", "buy_and_hold"])
def test_each_symbol_trades_from_its_own_warm_up(
    tmp_path: Path, strategy: str, preload: bool
) -> None:
    together = run(tmp_path, strategy, ("GOOG", "AAPL"), preload=preload)
    for symbol in ("AAPL", "GOOG"):
        alone = run(tmp_path, strategy, (symbol,), preload=preload)
        pd.testing.assert_frame_equal(fills(together, symbol), fills(alone, symbol))
    aapl = fills(together, "AAPL")
    # before the fix nothing traded until GOOG (from 2004-08-19) had warmed up
    assert aapl["datetime"].iloc[0] < "2001-01-01"
    expected = {"buy_and_hold": 1, "rsi_reversion": 4, "sma_cross": 52}[strategy]
    assert (aapl["datetime"] < GOOG_FIRST).sum() == expected


def test_buy_and_hold_buys_each_symbol_on_its_second_bar(tmp_path: Path) -> None:
    result = run(tmp_path, "buy_and_hold", ("GOOG", "AAPL"))
    frame = pd.read_csv(result.run_dir / "fills.csv")
    assert frame[["datetime", "symbol", "qty"]].values.tolist() == [
        ["2000-03-02", "AAPL", 100],
        ["2004-08-20", "GOOG", 100],
    ]
    assert result.summary[-1] == (
        "bars: GOOG 2004-08-19..2006-12-29 (597 bars), AAPL 2000-03-01..2006-12-29 (1,719 bars)"
    )


PLAIN = """
import backtrader as bt


class Plain(bt.Strategy):
    def next(self):
        for data in self.datas:
            if not self.getposition(data).size:
                self.buy(data=data, size=10)
"""


def test_a_plain_backtrader_strategy_is_told_it_waits_for_every_symbol(tmp_path: Path) -> None:
    path = tmp_path / "plain.py"
    path.write_text(PLAIN)
    warnings: list[str] = []
    result = run_backtest(
        BacktestConfig(
            strategy=f"{path}:Plain",
            data="sample",
            symbols=("GOOG", "AAPL"),
            end=END,
            runs_dir=tmp_path / "runs",
        ),
        on_warning=warnings.append,
    )
    expected = (
        "Plain calls next() only once every symbol has warmed up, so nothing trades before "
        "GOOG's data (from 2004-08-19) is ready; subclass parity.strategies.ParityStrategy, set "
        "per_symbol_warmup = True and skip a data until self.ready(data) to trade each symbol "
        "from its own start"
    )
    assert warnings[-1] == expected
    first = pd.read_csv(result.run_dir / "fills.csv")["datetime"].min()
    assert first == "2004-08-20"  # Backtrader's own rule, unchanged for plain strategies


SUBCLASS = """
import backtrader as bt

from parity.strategies import ParityStrategy


class Subclass(ParityStrategy):
    def __init__(self):
        super().__init__()
        self.sma = bt.ind.SMA(self.data.close, period=30)

    def next(self):
        if not self.getposition(self.data).size and not self.has_pending(self.data):
            self.buy(size=1)  # no ready() check: must never run before the SMA is warm
"""


def test_a_subclass_without_the_opt_in_keeps_backtraders_warm_up(tmp_path: Path) -> None:
    path = tmp_path / "subclass.py"
    path.write_text(SUBCLASS)
    config = BacktestConfig(
        strategy=f"{path}:Subclass", symbols=("IBM",), end=END, runs_dir=tmp_path / "runs"
    )
    result = run_backtest(config)
    first = pd.read_csv(result.run_dir / "fills.csv")["datetime"].iloc[0]
    equity = pd.read_csv(result.run_dir / "equity.csv")["datetime"]
    assert first == equity.iloc[30]  # decided on bar 30 (the SMA's first value), filled next
