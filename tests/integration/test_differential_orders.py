"""Differential: strategies written for plain Backtrader (`differential/strategies.py`, no parity
base class) give the same fills (time, price, size) and final equity to the cent in plain
Backtrader, in `parity run backtest` (default flags, preload on and off) and in a lock-step
rehearsal against the local venue (1Day, 1Min, 5Min)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.errors import BrokerError
from parity.feeds.sample import sample_path
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(240),
]

FILE = Path(__file__).with_name("differential_strategies.py")
_spec = importlib.util.spec_from_file_location("differential_strategies", FILE)
assert _spec is not None and _spec.loader is not None
strategies = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = strategies  # Backtrader's metaclasses look the module up
_spec.loader.exec_module(strategies)
CASH = 100_000.0
DAILY = {"start": dt.date(2004, 1, 1), "end": dt.date(2004, 3, 31)}
MINUTE = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 4)}
BAND = {"1Day": 1.0, "1Min": 0.1, "5Min": 0.3}  # price offsets scaled to the bar's range
ALL = [
    "MarketRoundTrips",
    "LimitAndStop",
    "StopLimitEntries",
    "TargetOrders",
    "SizedEntries",
    "TwoDatas",
    "Bracket",
    "ParentWithStop",
    "OcoExits",
]


def symbols_of(name: str, timeframe: str) -> tuple[str, ...]:
    if name != "TwoDatas":
        return ("IBM",)
    return ("IBM", "MSFT") if timeframe == "1Day" else ("IBM", "BAC")


class _Fills(bt.Analyzer):
    def start(self) -> None:
        self.rows: list[tuple[str, str, float, float]] = []

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            stamp = bt.num2date(order.executed.dt).strftime("%Y-%m-%d %H:%M:%S")
            size = round(abs(order.executed.size), 6)
            self.rows.append((stamp, order.data._name, size, round(order.executed.price, 6)))

    def get_analysis(self) -> Any:
        return self.rows


def plain(
    name: str, timeframe: str, *, preload: bool
) -> tuple[list[tuple[str, str, float, float]], float]:
    """The strategy in plain Backtrader: same cash, no costs, market orders at the next open."""
    cerebro = bt.Cerebro(stdstats=False, preload=preload, runonce=preload)
    daily = timeframe == "1Day"
    span = DAILY if daily else MINUTE
    for symbol in symbols_of(name, timeframe):
        path = sample_path(symbol, "daily" if daily else "minute")
        frame = pd.read_csv(path, parse_dates=["datetime"]).set_index("datetime")
        days = frame.index.date
        frame = frame[(days >= span["start"]) & (days <= span["end"])]
        feed = bt.feeds.PandasData(
            dataname=frame,
            openinterest=None,
            timeframe=bt.TimeFrame.Days if daily else bt.TimeFrame.Minutes,
        )
        cerebro.adddata(feed, name=symbol)
    cerebro.broker.setcash(CASH)
    cerebro.addstrategy(getattr(strategies, name), band=BAND[timeframe])
    cerebro.addanalyzer(_Fills, _name="fills")
    result = cerebro.run()[0]
    return sorted(result.analyzers.fills.get_analysis()), round(cerebro.broker.getvalue(), 2)


def fills(run_dir: Path, timeframe: str) -> list[tuple[str, str, float, float]]:
    """Fills of a parity run; times labelled with the bar they filled in."""
    frame = pd.read_csv(run_dir / "fills.csv", parse_dates=["datetime"])
    rule = "1D" if timeframe == "1Day" else timeframe.replace("Min", "min")
    label = frame["datetime"].dt.floor(rule)
    return sorted(
        (t.strftime("%Y-%m-%d %H:%M:%S"), s, round(float(q), 6), round(float(p), 6))
        for t, s, q, p in zip(label, frame["symbol"], frame["qty"], frame["price"], strict=True)
    )


def equity(run_dir: Path) -> float:
    return round(float(pd.read_csv(run_dir / "equity.csv")["value"].iloc[-1]), 2)


def window(timeframe: str, session: str = "extended") -> dict[str, Any]:
    if timeframe == "1Day":
        return {**DAILY, "data": "sample:daily"}
    # by default every minute bar of the sample (pre- and post-market too), as plain Backtrader
    # reads it; "regular" is what `parity run backtest` trades by default
    return {**MINUTE, "data": "sample:minute", "session": session}


def backtest(
    root: Path, name: str, timeframe: str, *, preload: bool = True, session: str = "extended"
) -> Path:
    config = BacktestConfig(
        strategy=f"{FILE}:{name}",
        symbols=symbols_of(name, timeframe),
        params={"band": str(BAND[timeframe])},
        commission="0",
        slippage="0",
        cash=CASH,
        timeframe=parse_timeframe(timeframe),
        preload=preload,
        runs_dir=root / f"bt-{preload}",
        **window(timeframe, session),
    )
    return run_backtest(config).run_dir


def rehearsal(root: Path, name: str, timeframe: str, session: str = "extended") -> Path:
    config = PaperConfig(
        slippage="0",
        strategy=f"{FILE}:{name}",
        symbols=symbols_of(name, timeframe),
        params={"band": str(BAND[timeframe])},
        venue="local",
        cash=CASH,
        timeframe=parse_timeframe(timeframe),
        runs_dir=root / "paper",
        **window(timeframe, session),
    )
    return run_paper(config).run_dir


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("preload", [True, False])
@pytest.mark.parametrize("timeframe", ["1Day", "1Min"])
def test_parity_backtest_fills_as_plain_backtrader(
    tmp_path: Path, name: str, preload: bool, timeframe: str
):
    want_fills, want_equity = plain(name, timeframe, preload=preload)
    run_dir = backtest(tmp_path, name, timeframe, preload=preload)
    assert len(want_fills) >= 2
    assert fills(run_dir, timeframe) == want_fills
    assert equity(run_dir) == want_equity


REHEARSED = [
    ("MarketRoundTrips", "1Day"),
    ("LimitAndStop", "1Day"),
    ("StopLimitEntries", "1Day"),
    ("TargetOrders", "1Day"),
    ("SizedEntries", "1Day"),
    ("TwoDatas", "1Day"),
    ("ParentWithStop", "1Day"),  # sent as Alpaca's `oto` class
    ("Bracket", "1Day"),
    *[
        (name, timeframe)
        for timeframe in ("1Min", "5Min")
        for name in (
            "MarketRoundTrips",
            "LimitAndStop",
            "StopLimitEntries",
            "TargetOrders",
            "SizedEntries",
            "TwoDatas",
        )
    ],
    ("Bracket", "1Min"),
    ("Bracket", "5Min"),  # the venue replays the run's 5Min bars: legs match on them
]


@pytest.mark.parametrize(("name", "timeframe"), REHEARSED)
def test_rehearsal_fills_as_the_backtest(tmp_path: Path, name: str, timeframe: str):
    expected = backtest(tmp_path, name, timeframe)
    got = rehearsal(tmp_path, name, timeframe)
    assert len(fills(expected, timeframe)) >= 2
    assert fills(got, timeframe) == fills(expected, timeframe)
    assert equity(got) == equity(expected)


@pytest.mark.parametrize("name", ["Bracket", "OcoExits", "ParentWithStop", "LimitAndStop"])
def test_regular_session_rehearsal_fills_as_the_backtest(tmp_path: Path, name: str):
    """On the regular session a bar at 09:38 touches both legs of a bracket: Backtrader fills
    the stop-loss (placed first by `buy_bracket`); the venue, told which leg was placed first,
    fills the same one (it filled the take-profit before, and every later trade shifted)."""
    expected = backtest(tmp_path, name, "1Min", session="regular")
    got = rehearsal(tmp_path, name, "1Min", session="regular")
    assert len(fills(expected, "1Min")) >= 2
    assert fills(got, "1Min") == fills(expected, "1Min")
    assert equity(got) == equity(expected)


def test_cheat_on_close_is_refused_in_paper_before_any_order(tmp_path: Path):
    with pytest.raises(BrokerError, match=r"set_coc\(True\) is not supported in paper"):
        rehearsal(tmp_path, "CheatOnClose", "1Min")
    orders = list((tmp_path / "paper").glob("*/orders.csv"))
    assert all(len(pd.read_csv(path)) == 0 for path in orders)


@pytest.mark.parametrize("preload", [True, False])
def test_a_refused_child_takes_its_waiting_parent_along(preload: bool):
    """The stop child would open a short: it is refused, and its parent (held back until the
    child transmits) is rejected and notified too, so a strategy waiting on it never stalls."""
    from parity.brokers.sim import build_sim_broker
    from parity.costs import CostModel

    cerebro = bt.Cerebro(stdstats=False, preload=preload, runonce=preload)
    frame = pd.read_csv(sample_path("IBM", "daily"), parse_dates=["datetime"])
    frame = frame.set_index("datetime").iloc[:10]
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None), name="IBM")
    cerebro.broker = build_sim_broker(cash=CASH, costs=CostModel())
    cerebro.addstrategy(strategies.OversizedChild)
    result = cerebro.run()[0]
    assert result.states == [("parent", "Rejected"), ("child", "Rejected")]
    assert cerebro.broker.getvalue() == CASH
    assert cerebro.broker.getposition(result.data).size == 0
