"""An instrument's multiplier (100 for a US equity option) is booked wherever cash moves: the
simulated broker's cash, value and commission, `simulate`'s equity and trades, and the live
broker core's `settle`. A share (multiplier 1) is untouched."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from parity import simulate
from parity.brokers.core import settle
from parity.brokers.sim import ParityCommission, build_sim_broker
from parity.costs import CostModel
from parity.feeds.bars import BarSeries
from parity.instruments import Instrument, bind_instrument, instrument_for, instrument_of
from parity.timeframe import parse_timeframe

DAY = parse_timeframe("1d")
COSTS = CostModel(commission_pct=0.001)  # 0.1 % of the cash notional: scales with the multiplier
OPTION = Instrument(
    symbol="XYZ",
    asset_class="option",
    currency="USD",
    exchange="OPRA",
    multiplier=100.0,
    underlying="XYZ",
    expiry=pd.Timestamp("2025-01-17").date(),
    strike=10.0,
    right="call",
)


def _bars(symbol: str = "XYZ") -> BarSeries:
    index = pd.date_range("2024-01-02", periods=12, freq="B", name="datetime")
    close = np.array([10, 10.5, 11, 11.5, 12, 12.5, 13, 12, 11, 10.5, 10, 9.5])
    frame = pd.DataFrame(
        {"open": close, "high": close + 0.5, "low": close - 0.5, "close": close, "volume": 1e6},
        index=index,
    ).astype("float64")
    return BarSeries(symbol, frame, DAY, "test")


class BuyThenSell(bt.Strategy):
    """Buys 2 units on the second bar, sells them on the sixth."""

    def next(self) -> None:
        if len(self) == 2:
            self.buy(size=2)
        elif len(self) == 6:
            self.sell(size=2)


def test_simulate_books_pnl_and_commission_times_the_multiplier() -> None:
    share = simulate(_bars(), BuyThenSell, costs=COSTS, cash=100_000.0)
    option = simulate(
        _bars(), BuyThenSell, costs=COSTS, cash=100_000.0, instruments={"XYZ": OPTION}
    )
    # bought at bar 3's open (11), sold at bar 7's open (13): 2 x 2 = 4 a share
    assert share.trades["pnl_gross"].tolist() == [pytest.approx(4.0)]
    assert option.trades["pnl_gross"].tolist() == [pytest.approx(400.0)]
    assert share.fills["commission"].tolist() == pytest.approx([0.022, 0.026])
    assert option.fills["commission"].tolist() == pytest.approx([2.2, 2.6])
    assert option.trades["pnl_net"].iloc[0] == pytest.approx(400.0 - 4.8)
    # cash and equity: the premium paid and received is price x 2 x 100
    assert share.equity["value"].iloc[-1] == pytest.approx(100_000.0 + 4.0 - 0.048)
    assert option.equity["value"].iloc[-1] == pytest.approx(100_000.0 + 400.0 - 4.8)
    held = option.equity.iloc[3]  # bar 4 (close 11.5), holding 2 bought at 11
    assert held["cash"] == pytest.approx(100_000.0 - 2 * 11 * 100 - 2.2)
    assert held["value"] == pytest.approx(held["cash"] + 2 * 11.5 * 100)
    # the same fill prices: the multiplier is accounting, not pricing
    assert option.fills["price"].tolist() == share.fills["price"].tolist()


def test_an_occ_symbol_trades_as_an_option_by_itself() -> None:
    occ = "XYZ250117C00010000"
    assert instrument_for(occ).multiplier == 100.0
    result = simulate(_bars(occ), BuyThenSell, costs=COSTS, cash=100_000.0)
    assert result.trades["pnl_gross"].tolist() == [pytest.approx(400.0)]


def test_sim_broker_commission_scheme_follows_the_data_instrument() -> None:
    broker = build_sim_broker(cash=100_000.0, costs=COSTS)
    share_feed = bind_instrument(bt.feeds.PandasData(dataname=_bars().frame), "XYZ")
    option_feed = bind_instrument(bt.feeds.PandasData(dataname=_bars().frame), "XYZ", OPTION)
    share: Any = broker.getcommissioninfo(share_feed)
    option: Any = broker.getcommissioninfo(option_feed)
    assert isinstance(option, ParityCommission) and option.p.mult == 100.0
    assert share.p.mult == 1.0
    assert option.getcommission(3, 2.0) == pytest.approx(100 * share.getcommission(3, 2.0))
    assert option.getoperationcost(3, 2.0) == pytest.approx(600.0)
    assert option.profitandloss(3, 2.0, 2.5) == pytest.approx(150.0)
    assert broker.getcommissioninfo(option_feed) is option  # one scheme per multiplier
    assert instrument_of(option_feed) is OPTION


class Settles(bt.Strategy):
    """Applies a buy (bar 1) and a sell (bar 2) of 2 units through the live core's `settle`."""

    def __init__(self) -> None:
        self.moved: list[float] = []
        self.pnl: list[float] = []

    def next(self) -> None:
        if len(self) > 2:
            return
        kind = bt.BuyOrder if len(self) == 1 else bt.SellOrder
        order = kind(owner=self, data=self.data, size=2, price=None, exectype=bt.Order.Market)
        order.addcomminfo(self.broker.getcommissioninfo(self.data))
        price = 3.0 if len(self) == 1 else 3.5
        self.moved.append(settle(self.broker, order, 2.0, price, 1.25, None)[0])
        self.pnl.append(order.executed.pnl)


def test_live_core_settles_cash_times_the_multiplier() -> None:
    cerebro = bt.Cerebro(stdstats=False)
    feed = bind_instrument(bt.feeds.PandasData(dataname=_bars().frame), "XYZ", OPTION)
    cerebro.adddata(feed, name="XYZ")
    cerebro.addstrategy(Settles)
    strategy = cerebro.run()[0]
    assert strategy.moved == pytest.approx([-(2 * 3.0 * 100 + 1.25), 2 * 3.5 * 100 - 1.25])
    assert strategy.pnl == pytest.approx([0.0, 2 * 0.5 * 100])


def test_local_venue_books_an_option_times_100_and_serves_its_class() -> None:
    from datetime import date, datetime, timedelta

    from parity.engine.fills import Bar
    from parity.venue.clock import MarketCalendar, ny
    from parity.venue.engine import Engine
    from parity.venue.models import asset_json, order_json, position_json

    occ, start = "XYZ250117C00010000", ny(datetime(2024, 1, 8, 9, 30))
    venue = Engine(
        [occ, "IBM"],
        calendar=MarketCalendar([date(2024, 1, 8)]),
        now=start,
        cash=10_000.0,
        costs=COSTS,
        reference_prices={occ: 3.0, "IBM": 100.0},
    )
    placed = venue.submit({"symbol": occ, "qty": 2, "side": "buy", "type": "market",
                           "time_in_force": "day"})  # fmt: skip
    venue.advance(start + timedelta(minutes=1))
    venue.on_step(start, {occ: Bar(3.0, 3.2, 2.9, 3.1, 1e4), "IBM": Bar(100, 101, 99, 100, 1e4)})
    fee = 2 * 3.0 * 100 * 0.001  # 0.1 % of the premium paid
    assert venue.fills[0]["commission"] == pytest.approx(fee)
    assert venue.cash == pytest.approx(10_000.0 - 600.0 - fee)
    assert venue.equity() == pytest.approx(venue.cash + 2 * 3.1 * 100)
    position = position_json(venue, occ)
    assert position["asset_class"] == "us_option" and position["market_value"] == "620"
    assert order_json(placed)["asset_class"] == "us_option"
    assert asset_json("IBM")["class"] == "us_equity" and asset_json("BTC/USD")["class"] == "crypto"
