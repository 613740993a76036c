"""Alpaca's trailing stops, `cls`, `oco`/`oto` classes and notional orders on the local venue,
submitted by alpaca-py's own `TradingClient` over loopback; each fill is checked against what
plain Backtrader's simulated broker does with the same order on the same hand-built bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import backtrader as bt
import pandas as pd
import pytest
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from test_venue_lifecycle import BARS, KEYS, NY, T0, Harness, hand_data

from parity.feeds.bars import BarSeries
from parity.feeds.loader import LoadedData
from parity.timeframe import MINUTE
from parity.venue import VenueConfig

Place = Callable[[bt.Strategy, int], None]


def backtrader_fills(bars: list[tuple[float, ...]], index: list[datetime], place: Place) -> list:
    """(bar time, price, size) of every fill plain Backtrader makes; `place(strategy, bar)`."""
    frame = pd.DataFrame(bars, index=pd.DatetimeIndex(index), columns=[*"ohlc", "volume"])
    frame.columns = ["open", "high", "low", "close", "volume"]
    got: list[tuple[datetime, float, float]] = []

    class Plain(bt.Strategy):
        def next(self) -> None:
            place(self, len(self) - 1)

        def notify_order(self, order: bt.Order) -> None:
            if order.status == order.Completed:
                when = bt.num2date(order.executed.dt)
                got.append((when, order.executed.price, order.executed.size))

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes))
    cerebro.addstrategy(Plain)
    cerebro.broker.setcash(100_000)
    cerebro.run()
    return got


def venue_fills(venue: Harness, bars: int, place: Callable[[int], None]) -> list:
    """Step the venue bar by bar, `place(bar)` after each bar is seen; every fill as above."""
    got = []
    for i in range(bars):
        venue.next_bar() if i == 0 else venue.step()
        place(i)
    venue.ack()
    venue.events("")  # drain
    for update in venue.seen:
        if update.event == "fill":
            when = update.timestamp.astimezone(NY).replace(tzinfo=None)
            size = float(update.qty) * (1 if update.order.side == OrderSide.BUY else -1)
            got.append((when, float(update.price), size))
    return got


def minutes(n: int, start: datetime = T0) -> list[datetime]:
    return [start + timedelta(minutes=i) for i in range(n)]


def market(qty: float, side: OrderSide = OrderSide.BUY, **kw: Any) -> MarketOrderRequest:
    return MarketOrderRequest(symbol="XYZ", qty=qty, side=side, time_in_force="gtc", **kw)


@pytest.fixture
def venue() -> Iterator[Harness]:
    harness = Harness(VenueConfig(data=hand_data(), keys=KEYS, ack_timeout=5.0), ["XYZ"])
    try:
        yield harness
    finally:
        harness.close()


@pytest.mark.parametrize(
    ("alpaca", "backtrader"),
    [({"trail_price": 1.5}, {"trailamount": 1.5}), ({"trail_percent": 2}, {"trailpercent": 0.02})],
)
def test_trailing_stop_tracks_the_high_water_mark_as_backtrader(
    venue: Harness, alpaca: dict, backtrader: dict
) -> None:
    def bt_place(s: bt.Strategy, i: int) -> None:
        if i == 0:
            s.buy(size=10)
        elif i == 1:
            s.sell(size=10, exectype=bt.Order.StopTrail, **backtrader)

    trail: list[Any] = []

    def place(i: int) -> None:
        if i == 0:
            venue.client.submit_order(market(10))
        elif i == 1:
            request = TrailingStopOrderRequest(
                symbol="XYZ", qty=10, side="sell", time_in_force="gtc", **alpaca
            )
            trail.append(venue.client.submit_order(request))
        elif i == 2:  # 09:32 closed at 102: the mark moved up from 101.5, the stop with it
            order = venue.client.get_order_by_id(trail[0].id)
            assert order.hwm == "102"
            expected = 100.5 if "trail_price" in alpaca else 102 - 102 * 0.02
            assert float(order.stop_price) == pytest.approx(expected)

    expected = backtrader_fills(BARS, minutes(len(BARS)), bt_place)
    assert len(expected) == 2 and expected[1][0] == T0 + timedelta(minutes=3)
    assert venue_fills(venue, len(BARS), place) == expected
    done = venue.client.get_order_by_id(trail[0].id)
    assert done.status == OrderStatus.FILLED and done.type.value == "trailing_stop"


@pytest.mark.parametrize(("take", "stop"), [(103.0, 98.5), (105.0, 98.5)])
def test_oco_exit_pair_fills_one_leg_as_backtrader(venue: Harness, take: float, stop: float):
    def bt_place(s: bt.Strategy, i: int) -> None:
        if i == 0:
            s.buy(size=10)
        elif i == 1:
            tp = s.sell(size=10, exectype=bt.Order.Limit, price=take)
            s.sell(size=10, exectype=bt.Order.Stop, price=stop, oco=tp)

    pair: list[Any] = []

    def place(i: int) -> None:
        if i == 0:
            venue.client.submit_order(market(10))
        elif i == 1:
            request = LimitOrderRequest(
                symbol="XYZ", qty=10, side="sell", time_in_force="gtc", limit_price=take,
                order_class=OrderClass.OCO, take_profit=TakeProfitRequest(limit_price=take),
                stop_loss=StopLossRequest(stop_price=stop),
            )  # fmt: skip
            pair.append(venue.client.submit_order(request))
            assert venue.client.get_open_position("XYZ").qty_available == "0"  # held once

    expected = backtrader_fills(BARS, minutes(len(BARS)), bt_place)
    assert len(expected) == 2
    assert venue_fills(venue, len(BARS), place) == expected
    order = venue.client.get_order_by_id(pair[0].id)
    statuses = [order.status, order.legs[0].status]
    filled = OrderStatus.FILLED, OrderStatus.CANCELED
    assert statuses == list(filled if take == 103.0 else reversed(filled))
    assert venue.client.get_all_positions() == []


def test_oto_entry_with_one_stop_leg_as_backtrader(venue: Harness) -> None:
    def bt_place(s: bt.Strategy, i: int) -> None:
        if i == 0:
            entry = s.buy(size=10, transmit=False)
            s.sell(size=10, exectype=bt.Order.Stop, price=98.5, parent=entry)

    def place(i: int) -> None:
        if i == 0:
            order = venue.client.submit_order(
                market(10, order_class=OrderClass.OTO, stop_loss=StopLossRequest(stop_price=98.5))
            )
            assert order.order_class == OrderClass.OTO and len(order.legs) == 1
            assert order.legs[0].status == OrderStatus.HELD

    expected = backtrader_fills(BARS, minutes(len(BARS)), bt_place)
    assert [price for _, price, _ in expected] == [100.5, 98.5]
    assert venue_fills(venue, len(BARS), place) == expected


CLOSE_BARS = [
    (100.0, 100.5, 99.5, 100.2, 1000),  # 15:48 (the order is sent at its end, before 15:50)
    (100.2, 100.8, 100.0, 100.6, 1000),  # 15:49
    (100.6, 101.0, 100.4, 100.9, 1000),  # 15:59  the official close: 100.9
    (101.5, 102.0, 101.0, 101.8, 1000),  # 09:30 next session
    (101.8, 102.2, 101.6, 102.0, 1000),  # 09:31
]
CLOSE_TIMES = [datetime(2024, 1, 8, 15, m) for m in (48, 49, 59)] + [
    datetime(2024, 1, 9, 9, 30),
    datetime(2024, 1, 9, 9, 31),
]


def test_market_on_close_fills_at_the_sessions_last_close_as_backtrader() -> None:
    frame = pd.DataFrame(
        CLOSE_BARS, index=pd.DatetimeIndex(CLOSE_TIMES, name="datetime").as_unit("ns"),
        columns=["open", "high", "low", "close", "volume"],
    ).astype("float64")  # fmt: skip
    data = LoadedData(
        series=(BarSeries(symbol="XYZ", frame=frame, timeframe=MINUTE, origin="test"),),
        warnings=(),
        source="test",
    )
    venue = Harness(VenueConfig(data=data, keys=KEYS, ack_timeout=5.0), ["XYZ"])
    try:

        def place(i: int) -> None:
            if i == 0:
                order = venue.client.submit_order(
                    MarketOrderRequest(symbol="XYZ", qty=10, side="buy", time_in_force="cls")
                )
                assert order.time_in_force.value == "cls"

        got = venue_fills(venue, len(CLOSE_BARS), place)
    finally:
        venue.close()

    def bt_place(s: bt.Strategy, i: int) -> None:
        if i == 0:
            s.buy(size=10, exectype=bt.Order.Close)

    expected = backtrader_fills(CLOSE_BARS, CLOSE_TIMES, bt_place)
    assert expected == [(datetime(2024, 1, 8, 15, 59), 100.9, 10.0)]
    assert got == expected


def test_notional_market_order_buys_fractional_shares(venue: Harness) -> None:
    venue.next_bar()
    order = venue.client.submit_order(
        MarketOrderRequest(symbol="XYZ", notional=1000, side="buy", time_in_force="day")
    )
    assert order.notional == "1000" and order.qty is None
    venue.step()  # 09:31 open 100.5
    fill = venue.event(order.id, "fill")
    assert fill.price == 100.5 and fill.qty == pytest.approx(9.950248756)
    position = venue.client.get_open_position("XYZ")
    assert position.qty == "9.950248756"
    cash = float(venue.client.get_account().cash)
    assert cash == pytest.approx(100_000 - 9.950248756 * 100.5, abs=1e-6)
    half = venue.client.submit_order(
        MarketOrderRequest(symbol="XYZ", qty=4.5, side="sell", time_in_force="day")
    )
    venue.step()  # 09:32 open 101.5
    assert venue.event(half.id, "fill").qty == 4.5
    assert float(venue.client.get_open_position("XYZ").qty) == pytest.approx(5.450248756)
