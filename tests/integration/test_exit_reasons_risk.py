"""trades.csv says when the risk layer closed a position: `kill switch` when the tripped kill
switch closes it (`flatten_on_kill`, backtest and lock-step paper alike), `flatten` when an
operator's `parity flatten` does (a polled sim-venue run flattened while it runs)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.risk import RiskLimits
from parity.runners.backtest import run_backtest
from parity.runners.operate import flatten_run
from parity.runners.paper import PaperConfig, run_paper
from parity.venues.sim.session import PollingSession
from parity.venues.types import StreamBar

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

DAY = dt.date(2013, 10, 4)
PYRAMID = '''
import backtrader as bt


class Pyramid(bt.Strategy):
    """Buys 40 shares every 10 bars and never sells on its own."""

    def next(self):
        if len(self) % 10 == 0:
            self.buy(size=40)
'''


def _pyramid(root: Path) -> str:
    path = root / "pyramid.py"
    path.write_text(PYRAMID)
    return f"{path}:Pyramid"


def _trades(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "trades.csv", keep_default_na=False)


def test_the_kill_switch_closing_a_position_is_its_exit_reason(tmp_path: Path) -> None:
    common = {
        "strategy": _pyramid(tmp_path),
        "symbols": ("IBM",),
        "data": "sample:minute",
        "slippage": "0",
        "start": DAY,
        "end": DAY,
        "risk": RiskLimits.from_mapping({"max_drawdown": "0.02%", "flatten_on_kill": True}),
    }
    backtest = run_backtest(BacktestConfig(**common, commission="0", runs_dir=tmp_path / "bt"))
    paper = run_paper(
        PaperConfig(**common, venue="local", cash=100_000.0, runs_dir=tmp_path / "pp")
    )
    for run_dir in (backtest.run_dir, paper.run_dir):
        trades = _trades(run_dir)
        assert len(trades) == 1
        assert trades["exit_reason"].tolist() == ["kill switch"]
        assert trades["entry_reason"].tolist() == [""]  # the strategy gave its entries none
    pd.testing.assert_frame_equal(_trades(backtest.run_dir), _trades(paper.run_dir))


class FlattenedSource:
    """The sample's IBM minute bars of one day served as if live (5 minutes a poll); at 11:00
    an operator runs `parity flatten` on the run."""

    def __init__(self, run_dir: Path) -> None:
        frame = pd.read_csv(
            Path(__file__).resolve().parents[2] / "src/parity/data/minute/IBM.csv",
            index_col="datetime",
            parse_dates=["datetime"],
        )
        self.frame = frame[frame.index.date == DAY]
        self.clock = dt.datetime.combine(DAY, dt.time(9, 25))
        self.run_dir = run_dir
        self.flattened: list[str] = []

    def now(self) -> dt.datetime:
        return self.clock

    def fetch(self, symbol: str) -> list[StreamBar]:
        self.clock += dt.timedelta(minutes=5)
        if self.clock >= dt.datetime.combine(DAY, dt.time(11, 0)) and not self.flattened:
            self.flattened = flatten_run(self.run_dir)
        seen = self.frame[self.frame.index < self.clock]
        return [
            StreamBar(symbol, t.to_pydatetime(), r.open, r.high, r.low, r.close, r.volume)
            for t, r in seen.iterrows()
        ]


def test_parity_flatten_closing_a_position_is_its_exit_reason(tmp_path: Path) -> None:
    source = FlattenedSource(tmp_path / "flat")
    run = run_paper(
        PaperConfig(
            strategy=_pyramid(tmp_path),
            symbols=("IBM",),
            venue="sim",
            cash=100_000.0,
            slippage="0",
            runs_dir=tmp_path,
            run_id="flat",
            daily_reports=False,
        ),
        session=PollingSession(
            source.fetch,
            poll_seconds=0,
            until=dt.datetime.combine(DAY, dt.time(12, 0)),
            now=source.now,
        ),
    )
    assert "closes its positions on its next bar" in source.flattened[0]
    trades = _trades(run.run_dir)
    assert trades["exit_reason"].tolist() == ["flatten"]
    exit_time = pd.Timestamp(trades["exit_time"].iloc[0])
    assert dt.time(10, 50) <= exit_time.time() <= dt.time(11, 5)
    orders = pd.read_csv(run.run_dir / "orders.csv", keep_default_na=False)
    done = orders[orders["status"] == "completed"]
    sells = done[done["side"] == "sell"]
    assert len(sells) == 1  # the whole position, once
    assert sells["qty"].iloc[0] == done.loc[done["side"] == "buy", "qty"].sum()
    later = orders[orders["side"] == "buy"].iloc[-1]  # the kill switch stays on: no new entry
    assert later["status"] == "rejected" and later["reason"].startswith("risk: kill switch on")
