"""Order lifecycles against the local venue, driven end to end through alpaca-py: orders by
`TradingClient`, trade updates through `TradingStream`, bars through `StockDataStream` (msgpack)
in lock-step with `/parity/v1/ack`. Bars are hand-built so every fill price is hand-computed."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import requests
from alpaca.data.live import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus
from alpaca.trading.requests import (
    ClosePositionRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)
from alpaca.trading.stream import TradingStream

from parity.costs import CostModel
from parity.feeds.bars import BarSeries
from parity.feeds.loader import LoadedData
from parity.timeframe import MINUTE
from parity.venue import FaultPlan, VenueConfig, VenueServer

NY = ZoneInfo("America/New_York")
WAIT = 5.0
KEYS = ("key", "secret")
AUTH = {"APCA-API-KEY-ID": KEYS[0], "APCA-API-SECRET-KEY": KEYS[1]}  # control paths too

# open, high, low, close, volume — one bar a minute from 2024-01-08 09:30 New York
BARS = [
    (100.0, 101.0, 99.0, 100.5, 1000),  # 09:30
    (100.5, 102.0, 100.0, 101.5, 1000),  # 09:31
    (101.5, 103.0, 101.0, 102.0, 1000),  # 09:32
    (102.0, 102.5, 98.0, 99.0, 1000),  # 09:33
    (97.0, 98.0, 96.0, 97.5, 1000),  # 09:34  gap down
    (97.5, 99.0, 97.0, 98.5, 1000),  # 09:35
    (98.5, 104.0, 98.0, 103.5, 1000),  # 09:36
    (103.5, 104.0, 103.0, 103.8, 1000),  # 09:37
    (103.8, 104.5, 103.5, 104.0, 1000),  # 09:38
    (104.0, 104.2, 103.6, 104.1, 1000),  # 09:39
]
T0 = datetime(2024, 1, 8, 9, 30)


def hand_data(symbol: str = "XYZ", bars: list[tuple[float, ...]] = BARS) -> LoadedData:
    index = pd.DatetimeIndex(
        [T0 + timedelta(minutes=i) for i in range(len(bars))], name="datetime"
    ).as_unit("ns")
    frame = pd.DataFrame(bars, index=index, columns=["open", "high", "low", "close", "volume"])
    frame = frame.astype("float64")
    return LoadedData(
        series=(BarSeries(symbol=symbol, frame=frame, timeframe=MINUTE, origin="test"),),
        warnings=(),
        source="test",
    )


class Harness:
    """A venue plus alpaca-py's trading client and both streams, stepped bar by bar."""

    def __init__(self, config: VenueConfig, symbols: list[str]) -> None:
        self.server = VenueServer(config)
        self.server.start()
        self.client = TradingClient(*KEYS, paper=True, url_override=self.server.base_url)
        self.client._retry_wait = 0
        self.updates: queue.Queue[Any] = queue.Queue()
        self.bars: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []
        self.trading = TradingStream(*KEYS, url_override=self.server.trading_stream_url)
        self.trading._reconnect_min_backoff = 0.05
        self.data = StockDataStream(*KEYS, url_override=self.server.data_stream_url)
        self.data._reconnect_min_backoff = 0.05

        async def on_update(update: Any) -> None:
            self.updates.put(update)

        async def on_bar(bar: Any) -> None:
            self.bars.put(bar)

        self.trading.subscribe_trade_updates(on_update)
        self.threads = [threading.Thread(target=self.trading.run, daemon=True)]
        self.threads[0].start()
        self.wait_status(lambda s: s["trading_connections"] == 1)
        self.data.subscribe_bars(on_bar, *symbols)
        self.threads.append(threading.Thread(target=self.data.run, daemon=True))
        self.threads[1].start()
        self.last: Any = None

    def status(self) -> dict[str, Any]:
        url = f"{self.server.base_url}/parity/v1/status"
        return requests.get(url, headers=AUTH, timeout=WAIT).json()

    def wait_status(self, check: Any, timeout: float = WAIT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if check(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"venue status never matched: {status}")
            time.sleep(0.02)

    def next_bar(self) -> Any:
        """The next bar from the data stream (acks nothing)."""
        self.last = self.bars.get(timeout=WAIT)
        return self.last

    def ack(self, bar: Any = None) -> dict[str, Any]:
        bar = bar or self.last
        through = bar.timestamp.astimezone(NY).replace(tzinfo=None).isoformat()
        response = requests.post(
            f"{self.server.base_url}/parity/v1/ack",
            json={"through": through},
            headers=AUTH,
            timeout=WAIT,
        )
        response.raise_for_status()
        return response.json()

    def step(self) -> Any:
        """Ack the current bar and return the next one."""
        self.ack()
        return self.next_bar()

    def event(self, order_id: Any, event: str) -> Any:
        """Wait for trade update `event` of `order_id`."""
        for update in self.seen:
            if str(update.order.id) == str(order_id) and update.event == event:
                return update
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                update = self.updates.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(update)
            if str(update.order.id) == str(order_id) and update.event == event:
                return update
        raise AssertionError(
            f"no {event!r} for {order_id}; saw {[(u.event, str(u.order.id)) for u in self.seen]}"
        )

    def events(self, order_id: Any) -> list[str]:
        while True:
            try:
                self.seen.append(self.updates.get_nowait())
            except queue.Empty:
                break
        return [u.event for u in self.seen if str(u.order.id) == str(order_id)]

    def close(self) -> None:
        for stream in (self.trading, self.data):
            with contextlib.suppress(Exception):  # a stream that never got its loop
                stream.stop()
        self.server.stop()
        for thread in self.threads:
            thread.join(8)
        assert not any(t.is_alive() for t in self.threads)


@pytest.fixture
def venue(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """A harness on the hand-built bars; `@pytest.mark.parametrize("venue", [kwargs],
    indirect=True)` overrides VenueConfig fields."""
    overrides = dict(getattr(request, "param", {}) or {})
    data = overrides.pop("data", hand_data())
    config = VenueConfig(data=data, keys=KEYS, ack_timeout=5.0, **overrides)
    harness = Harness(config, [s.symbol for s in data.series])
    try:
        yield harness
    finally:
        harness.close()


def market(qty: float, side: OrderSide = OrderSide.BUY, **kw: Any) -> MarketOrderRequest:
    return MarketOrderRequest(symbol="XYZ", qty=qty, side=side, time_in_force="gtc", **kw)


# ---------------------------------------------------------------------------------- tests
def test_market_order_fills_at_next_open_with_costs_and_lock_step(venue: Harness) -> None:
    costs = CostModel(commission_per_share=0.01, commission_min=1.0, slippage_pct=0.001)
    venue.close()
    h = Harness(VenueConfig(data=hand_data(), keys=KEYS, costs=costs, cash=10_000), ["XYZ"])
    try:
        bar = h.next_bar()
        assert bar.timestamp == datetime(2024, 1, 8, 14, 30, tzinfo=UTC)
        assert h.status()["step"] == 1
        time.sleep(0.2)  # lock-step: nothing advances without an ack
        assert h.status()["step"] == 1 and h.bars.empty()
        order = h.client.submit_order(market(10, client_order_id="m-1"))
        assert order.status == OrderStatus.ACCEPTED
        assert h.event(order.id, "new").order.status == OrderStatus.NEW
        bar = h.step()  # 09:31 open 100.5, high 102
        assert bar.open == 100.5
        fill = h.event(order.id, "fill")
        price = 100.5 * 1.001
        assert fill.price == pytest.approx(price, abs=1e-9)
        assert fill.qty == 10 and fill.position_qty == 10
        # the fill is visible over REST as soon as the bar arrives
        got = h.client.get_order_by_client_id("m-1")
        assert got.status == OrderStatus.FILLED
        assert float(got.filled_avg_price) == pytest.approx(price, abs=1e-9)
        commission = max(10 * 0.01, 1.0)
        account = h.client.get_account()
        assert float(account.cash) == pytest.approx(10_000 - 10 * price - commission, abs=1e-6)
        position = h.client.get_open_position("XYZ")
        assert float(position.qty) == 10
        assert float(position.avg_entry_price) == pytest.approx(price, abs=1e-9)
        snap = h.server.snapshot()
        assert snap["fills"][0]["commission"] == pytest.approx(commission)
        assert snap["fills"][0]["time"] == "2024-01-08T09:31:00"
        # sell: open 101.5 * (1 - 0.001), floored at the low 101
        sell = h.client.submit_order(market(10, OrderSide.SELL))
        h.step()
        assert h.event(sell.id, "fill").price == pytest.approx(101.5 * 0.999, abs=1e-9)
        assert h.client.get_all_positions() == []
    finally:
        h.close()


def test_clock_follows_replay_and_history_has_no_future(venue: Harness) -> None:
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame

    venue.next_bar()
    clock = venue.client.get_clock()
    assert clock.timestamp == datetime(2024, 1, 8, 9, 31, tzinfo=NY)
    assert clock.is_open
    venue.step()
    venue.step()
    data = StockHistoricalDataClient(*KEYS, url_override=venue.server.base_url)
    bars = data.get_stock_bars(
        StockBarsRequest(symbol_or_symbols="XYZ", timeframe=TimeFrame.Minute, start=T0)
    ).data["XYZ"]
    assert [b.open for b in bars] == [100.0, 100.5, 101.5]  # bars 09:30..09:32 only


def test_limit_buy_fills_on_touch_at_limit_and_gap_at_open(venue: Harness) -> None:
    venue.next_bar()
    touch = venue.client.submit_order(
        LimitOrderRequest(symbol="XYZ", qty=5, side="buy", time_in_force="gtc", limit_price=100.2)
    )
    gap = venue.client.submit_order(
        LimitOrderRequest(symbol="XYZ", qty=5, side="buy", time_in_force="gtc", limit_price=110)
    )
    venue.step()  # 09:31: open 100.5 > 100.2, low 100.0 touches; open <= 110 fills at open
    assert venue.event(touch.id, "fill").price == 100.2
    assert venue.event(gap.id, "fill").price == 100.5
    sell = venue.client.submit_order(
        LimitOrderRequest(symbol="XYZ", qty=10, side="sell", time_in_force="gtc", limit_price=102.8)
    )
    venue.step()  # 09:32 high 103 touches 102.8
    assert venue.event(sell.id, "fill").price == 102.8


def test_stop_orders_trigger_on_touch_and_on_gap(venue: Harness) -> None:
    venue.next_bar()
    venue.client.submit_order(market(20))
    venue.step()  # bought 20 at 100.5
    stop_touch = venue.client.submit_order(
        StopOrderRequest(symbol="XYZ", qty=10, side="sell", time_in_force="gtc", stop_price=98.5)
    )
    stop_gap = venue.client.submit_order(
        StopOrderRequest(symbol="XYZ", qty=10, side="sell", time_in_force="gtc", stop_price=97.2)
    )
    venue.step()  # 09:32 low 101: nothing
    assert venue.events(stop_touch.id) == ["new"]
    venue.step()  # 09:33 low 98 touches 98.5 -> fills at the stop; 97.2 not touched
    assert venue.event(stop_touch.id, "fill").price == 98.5
    venue.step()  # 09:34 opens 97 below 97.2 -> fills at the open
    assert venue.event(stop_gap.id, "fill").price == 97.0
    buy_stop = venue.client.submit_order(
        StopLimitOrderRequest(
            symbol="XYZ",
            qty=3,
            side="buy",
            time_in_force="gtc",
            stop_price=100.0,
            limit_price=101.0,
        )
    )
    venue.step()  # 09:35 high 99: not triggered
    assert venue.events(buy_stop.id) == ["new"]
    venue.step()  # 09:36 o 98.5 c 103.5 high 104 >= stop; limit >= stop -> stop price
    assert venue.event(buy_stop.id, "fill").price == 100.0


def test_cancel_replace_and_cancel_all(venue: Harness) -> None:
    venue.next_bar()
    order = venue.client.submit_order(
        LimitOrderRequest(symbol="XYZ", qty=5, side="buy", time_in_force="gtc", limit_price=90)
    )
    new = venue.client.replace_order_by_id(order.id, ReplaceOrderRequest(limit_price=91, qty=6))
    assert new.replaces == order.id and new.id != order.id
    old = venue.client.get_order_by_id(order.id)
    assert old.status == OrderStatus.REPLACED and old.replaced_by == new.id
    assert venue.event(order.id, "replaced")
    assert venue.event(new.id, "new").order.limit_price == "91"
    assert venue.client.cancel_order_by_id(new.id) is None
    assert venue.event(new.id, "canceled").order.status == OrderStatus.CANCELED
    others = [
        venue.client.submit_order(
            LimitOrderRequest(symbol="XYZ", qty=1, side="buy", time_in_force="day", limit_price=p)
        )
        for p in (80, 81)
    ]
    result = venue.client.cancel_orders()
    assert {r.id for r in result} == {o.id for o in others}
    assert all(r.status == 200 for r in result)
    for other in others:
        venue.event(other.id, "canceled")
    assert venue.client.get_orders() == []
    from alpaca.common.exceptions import APIError

    with pytest.raises(APIError) as err:
        venue.client.cancel_order_by_id(new.id)
    assert err.value.status_code == 422


def test_bracket_take_profit_cancels_stop_loss(venue: Harness) -> None:
    venue.next_bar()
    parent = venue.client.submit_order(
        market(
            10,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=102.5),
            stop_loss=StopLossRequest(stop_price=97.0),
        )
    )
    assert parent.order_class == OrderClass.BRACKET and len(parent.legs) == 2
    take, stop = parent.legs
    venue.step()  # 09:31 parent fills at 100.5; legs go live for later bars
    assert venue.event(parent.id, "fill").price == 100.5
    venue.event(take.id, "new")
    venue.step()  # 09:32 high 103 touches 102.5
    assert venue.event(take.id, "fill").price == 102.5
    assert venue.event(stop.id, "canceled")
    assert venue.client.get_all_positions() == []
    got = venue.client.get_order_by_id(parent.id)
    assert [leg.status for leg in got.legs] == [OrderStatus.FILLED, OrderStatus.CANCELED]


def test_bracket_stop_loss_cancels_take_profit(venue: Harness) -> None:
    venue.next_bar()
    parent = venue.client.submit_order(
        market(
            10,
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=110.0),
            stop_loss=StopLossRequest(stop_price=98.5),
        )
    )
    take, stop = parent.legs
    venue.step()
    venue.step()
    venue.step()  # 09:33 low 98 <= 98.5
    assert venue.event(stop.id, "fill").price == 98.5
    assert venue.event(take.id, "canceled")
    assert float(venue.client.get_account().cash) == pytest.approx(100_000 - 1005 + 985)


@pytest.mark.parametrize("venue", [{"volume_share": 0.25}], indirect=True)
def test_partial_fills_follow_volume_share(venue: Harness) -> None:
    venue.next_bar()
    order = venue.client.submit_order(market(600))
    venue.step()  # 250 of 1000 at 100.5
    partial = venue.event(order.id, "partial_fill")
    assert partial.qty == 250 and partial.price == 100.5
    assert partial.order.filled_qty == "250"
    assert venue.client.get_order_by_id(order.id).status == OrderStatus.PARTIALLY_FILLED
    venue.step()  # 250 more at 101.5
    venue.step()  # last 100 at 102.0
    fill = venue.event(order.id, "fill")
    assert fill.qty == 100 and fill.position_qty == 600
    done = venue.client.get_order_by_id(order.id)
    avg = (250 * 100.5 + 250 * 101.5 + 100 * 102.0) / 600
    assert float(done.filled_avg_price) == pytest.approx(avg)
    assert venue.events(order.id) == ["new", "partial_fill", "partial_fill", "fill"]


@pytest.mark.parametrize("venue", [{"latency_ms": 90_000}], indirect=True)
def test_latency_delays_the_first_fillable_bar(venue: Harness) -> None:
    venue.next_bar()  # clock 09:31; fillable from 09:32:30 -> first bar 09:33
    order = venue.client.submit_order(market(1))
    venue.step()
    venue.step()
    assert venue.events(order.id) == ["new"]
    venue.step()
    assert venue.event(order.id, "fill").price == 102.0


def test_close_position_and_close_all(venue: Harness) -> None:
    venue.next_bar()
    venue.client.submit_order(market(10))
    venue.step()
    close = venue.client.close_position("XYZ", ClosePositionRequest(qty="4"))
    assert close.side == OrderSide.SELL and float(close.qty) == 4
    venue.step()
    venue.event(close.id, "fill")
    assert float(venue.client.get_open_position("XYZ").qty) == 6
    venue.client.submit_order(
        LimitOrderRequest(symbol="XYZ", qty=1, side="buy", time_in_force="gtc", limit_price=50)
    )
    responses = venue.client.close_all_positions(cancel_orders=True)
    assert [r.symbol for r in responses] == ["XYZ"] and responses[0].status == 200
    venue.step()
    assert venue.client.get_all_positions() == []
    assert venue.client.get_orders() == []


@pytest.mark.parametrize("venue", [{"faults": FaultPlan(reject_orders=("bad-1",))}], indirect=True)
def test_rejected_order_is_200_with_rejected_update(venue: Harness) -> None:
    venue.next_bar()
    order = venue.client.submit_order(market(1, client_order_id="bad-1"))
    assert order.status == OrderStatus.REJECTED
    assert venue.event(order.id, "rejected")
    venue.step()
    assert venue.events(order.id) == ["rejected"]


@pytest.mark.parametrize(
    "venue",
    [{"faults": FaultPlan(drop_bars=("2024-01-08T09:32:00",), disconnect_data_after=(4,))}],
    indirect=True,
)
def test_dropped_bar_and_data_disconnect(venue: Harness) -> None:
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame

    received = [venue.next_bar()]
    received.append(venue.step())  # 09:31; 09:32 is dropped and the venue moves on by itself
    received.append(venue.step())  # 09:33
    received.append(venue.step())  # 09:34, then the venue closes the data stream
    received.append(venue.step())  # 09:35 after alpaca-py reconnected and resubscribed
    minutes = [b.timestamp.astimezone(NY).strftime("%H:%M") for b in received]
    assert minutes == ["09:30", "09:31", "09:33", "09:34", "09:35"]
    data = StockHistoricalDataClient(*KEYS, url_override=venue.server.base_url)
    history = data.get_stock_bars(
        StockBarsRequest(symbol_or_symbols="XYZ", timeframe=TimeFrame.Minute, start=T0)
    ).data["XYZ"]
    assert datetime(2024, 1, 8, 14, 32, tzinfo=UTC) in {b.timestamp for b in history}


@pytest.mark.parametrize(
    "venue", [{"faults": FaultPlan(disconnect_trading_after=(2,))}], indirect=True
)
def test_trading_stream_reconnects_after_disconnect(venue: Harness) -> None:
    venue.next_bar()
    venue.step()  # step 2 published, then trading connections closed
    venue.wait_status(lambda s: s["trading_connections"] == 1)
    order = venue.client.submit_order(market(1))
    venue.step()
    assert venue.event(order.id, "fill").price == 101.5


def test_replay_finishes(venue: Harness) -> None:
    venue.next_bar()
    for _ in range(len(BARS) - 1):
        venue.step()
    venue.ack()
    status = venue.wait_status(lambda s: s["finished"])
    assert status["step"] == status["steps"] == len(BARS)
    assert venue.server.finished
