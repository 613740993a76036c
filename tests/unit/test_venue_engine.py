"""The venue's pure parts: Backtrader-identical fill prices, the matching engine (validation,
buying power, partial fills, brackets, replace, expiry, latency), calendar and history paging."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import backtrader as bt
import pandas as pd
import pytest

from parity.brokers.sim import build_sim_broker
from parity.costs import CostModel
from parity.engine.fills import Bar, FillModel
from parity.feeds.bars import BarSeries
from parity.feeds.loader import LoadedData
from parity.timeframe import MINUTE
from parity.venue.clock import MarketCalendar, ny
from parity.venue.engine import Engine
from parity.venue.marketdata import MarketData
from parity.venue.orders import VenueError

SLIP = CostModel(slippage_pct=0.01)
FILL = FillModel(costs=SLIP)
T = ny(datetime(2024, 1, 8, 9, 30))
BAR = Bar(100.0, 102.0, 98.0, 101.0, 1000.0)


# ------------------------------------------------------------------------- fill rules
def test_market_slippage_capped_at_high_and_low() -> None:
    assert FILL.market(True, BAR) == pytest.approx(101.0)
    assert FILL.market(False, BAR) == pytest.approx(99.0)
    big = FillModel(costs=CostModel(slippage_fixed=5.0))
    assert big.market(True, BAR) == 102.0
    assert big.market(False, BAR) == 98.0


@pytest.mark.parametrize(
    ("buy", "limit", "expected"),
    [
        (True, 100.5, 100.5),  # open <= limit: slipped open 101 capped at min(high, limit)
        (True, 105.0, 101.0),  # slipped open
        (True, 99.0, 99.0),  # touched by the low: the limit
        (True, 97.0, None),  # never touched
        (False, 99.5, 99.5),  # open >= limit: slipped open 99 floored at the limit
        (False, 95.0, 99.0),
        (False, 101.5, 101.5),  # touched by the high
        (False, 103.0, None),
    ],
)
def test_limit_rules(buy: bool, limit: float, expected: float | None) -> None:
    assert FILL.limit(buy, BAR, limit) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("buy", "stop", "expected"),
    [
        (True, 99.0, 101.0),  # gapped through: slipped open
        (True, 101.0, 102.0),  # touched: slipped stop 102.01 capped at the high
        (True, 103.0, None),
        (False, 101.0, 99.0),  # gapped through: slipped open
        (False, 99.0, 98.01),  # touched: slipped stop
        (False, 97.0, None),
    ],
)
def test_stop_rules(buy: bool, stop: float, expected: float | None) -> None:
    assert FILL.stop(buy, BAR, stop) == pytest.approx(expected)


def _backtrader_fill(exectype: int, buy: bool, price: float, plimit: float | None) -> float | None:
    """The price Backtrader's sim broker (parity's configuration) gives an order on bar 2."""
    index = pd.date_range("2024-01-08 09:30", periods=3, freq="1min")
    frame = pd.DataFrame(
        [[100.0, 100.5, 99.5, 100.0, 1e6], list(BAR), [101.0, 101.0, 101.0, 101.0, 1e6]],
        index=index,
        columns=["open", "high", "low", "close", "volume"],
    )
    got: list[float] = []

    class Probe(bt.Strategy):
        def next(self) -> None:
            if len(self) == 1:
                make = self.buy if buy else self.sell
                make(size=1, exectype=exectype, price=price, plimit=plimit)

        def notify_order(self, order: bt.Order) -> None:
            if order.status == order.Completed:
                got.append(order.executed.price)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes))
    cerebro.broker = build_sim_broker(cash=1e6, costs=SLIP, allow_short=True)
    cerebro.addstrategy(Probe)
    cerebro.run()
    return got[0] if got and len(got) else None


@pytest.mark.parametrize(
    ("exectype", "buy", "price", "plimit"),
    [
        (bt.Order.Limit, True, 100.5, None),
        (bt.Order.Limit, False, 99.5, None),
        (bt.Order.Limit, False, 101.5, None),
        (bt.Order.Stop, True, 101.0, None),
        (bt.Order.Stop, False, 99.0, None),
        (bt.Order.StopLimit, True, 101.0, 101.5),
        (bt.Order.StopLimit, False, 99.0, 98.5),
    ],
)
def test_prices_equal_backtrader(exectype: int, buy: bool, price: float, plimit: float) -> None:
    expected = _backtrader_fill(exectype, buy, price, plimit)
    if exectype == bt.Order.Limit:
        mine = FILL.limit(buy, BAR, price)
    elif exectype == bt.Order.Stop:
        mine = FILL.stop(buy, BAR, price)
    else:
        mine = FILL.stop_limit(buy, BAR, price, plimit)[1]
    assert expected is not None and mine == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------------- engine
def engine(**kw: object) -> Engine:
    calendar = MarketCalendar([date(2024, 1, 8), date(2024, 1, 9)])
    options: dict = {"cash": 10_000.0, "costs": CostModel(), "reference_prices": {"XYZ": 100.0}}
    options.update(kw)
    return Engine(["XYZ"], calendar=calendar, now=T, **options)


def order(**kw: object) -> dict:
    body = {"symbol": "XYZ", "qty": 10, "side": "buy", "type": "market", "time_in_force": "gtc"}
    body.update(kw)
    return body


def step(e: Engine, minute: int, bar: Bar = BAR) -> None:
    when = T + timedelta(minutes=minute)
    e.advance(when + timedelta(minutes=1))
    e.on_step(when, {"XYZ": bar})


def test_submit_validates_and_checks_funds() -> None:
    e = engine()
    with pytest.raises(VenueError) as err:
        e.submit(order(qty=101))
    assert err.value.status == 403 and err.value.extra["cost_basis"] == "10100"
    with pytest.raises(VenueError) as err:
        e.submit(order(side="sell"))
    assert err.value.status == 403 and err.value.extra["available"] == "0"
    e.submit(order(client_order_id="a"))
    with pytest.raises(VenueError) as err:
        e.submit(order(client_order_id="a"))
    assert (err.value.status, err.value.code) == (422, 40010001)
    with pytest.raises(VenueError):
        e.submit(order(type="stop_limit", stop_price=1))
    assert [ev.event for ev in e.drain_events()] == ["new"]


def test_commission_cash_and_position() -> None:
    e = engine(costs=CostModel(commission_per_share=0.01, commission_pct=0.001, commission_min=2))
    e.submit(order(qty=10))
    step(e, 1)
    fee = max(10 * 0.01 + 10 * 100.0 * 0.001, 2.0)
    assert e.fills[0]["commission"] == fee
    assert e.cash == pytest.approx(10_000 - 1000 - fee)
    assert e.positions["XYZ"].qty == 10 and e.equity() == pytest.approx(e.cash + 10 * 101.0)
    e.submit(order(qty=4, side="sell"))
    with pytest.raises(VenueError):  # 4 of 10 are held for the open sell
        e.submit(order(qty=7, side="sell"))
    step(e, 2)
    assert e.positions["XYZ"].qty == 6 and e.positions["XYZ"].avg_price == 100.0


def test_volume_share_partial_fills() -> None:
    e = engine(volume_share=0.1)
    placed = e.submit(order(qty=25))
    step(e, 1, Bar(100.0, 100.0, 100.0, 100.0, 100.0))  # 10 shares
    step(e, 2, Bar(100.0, 100.0, 100.0, 100.0, 55.0))  # floor(5.5) = 5 shares
    assert placed.status == "partially_filled" and placed.filled_qty == 15
    step(e, 3)
    assert placed.status == "filled"
    kinds = [ev.event for ev in e.drain_events()]
    assert kinds == ["new", "partial_fill", "partial_fill", "fill"]


def test_latency_and_day_expiry() -> None:
    e = engine(latency_ms=61_000)
    placed = e.submit(order(type="limit", limit_price=50.0, time_in_force="day"))
    late = e.submit(order(qty=1))
    step(e, 0)
    step(e, 1)  # 09:31 < 09:31:01
    assert late.status == "new"
    step(e, 2)
    assert late.status == "filled"
    e.advance(ny(datetime(2024, 1, 8, 16, 1)))
    e.on_step(ny(datetime(2024, 1, 8, 16, 0)), {"XYZ": BAR})
    assert placed.status == "expired"


def test_bracket_legs_oco_and_cancel() -> None:
    e = engine()
    parent = e.submit(
        order(
            order_class="bracket",
            take_profit={"limit_price": 101.5},
            stop_loss={"stop_price": 90.0},
        )
    )
    take, stop = parent.legs
    assert take.status == stop.status == "held"
    step(e, 1)  # parent fills; legs wait for the next bar although the high touched 101.5
    assert parent.status == "filled" and take.status == "new" and take.filled_qty == 0
    step(e, 2)
    assert take.status == "filled" and stop.status == "canceled"
    other = e.submit(
        order(order_class="bracket", take_profit={"limit_price": 120}, stop_loss={"stop_price": 80})
    )
    e.cancel(other.id)
    assert [o.status for o in (other, *other.legs)] == ["canceled"] * 3
    with pytest.raises(VenueError) as err:
        e.cancel(other.id)
    assert err.value.status == 422


def test_replace_keeps_fills_and_links() -> None:
    e = engine()
    old = e.submit(order(type="limit", limit_price=50.0))
    new = e.replace(old.id, {"limit_price": 100.5})
    assert old.status == "replaced" and old.replaced_by == new.id and new.replaces == old.id
    step(e, 1)
    assert new.status == "filled" and new.filled_avg_price == 100.0
    assert [ev.event for ev in e.drain_events()] == ["new", "replaced", "new", "fill"]


# ------------------------------------------------------------------------- clock and data
def test_calendar() -> None:
    cal = MarketCalendar([date(2024, 1, 5), date(2024, 1, 8)])
    assert cal.is_open(ny(datetime(2024, 1, 8, 9, 30)))
    assert not cal.is_open(ny(datetime(2024, 1, 8, 16, 0)))
    assert cal.next_open(ny(datetime(2024, 1, 5, 12))) == ny(datetime(2024, 1, 8, 9, 30))
    assert cal.next_close(ny(datetime(2024, 1, 5, 17))) == ny(datetime(2024, 1, 8, 16))
    assert cal.next_open(ny(datetime(2024, 1, 8, 17))) == ny(datetime(2024, 1, 9, 9, 30))
    assert cal.session_date_for(ny(datetime(2024, 1, 5, 16, 30))) == date(2024, 1, 8)


def test_history_pages_and_steps() -> None:
    index = pd.date_range("2024-01-08 09:30", periods=6, freq="1min", name="datetime")
    frame = pd.DataFrame(
        {c: [float(i + 1) for i in range(6)] for c in ("open", "high", "low", "close", "volume")},
        index=index,
    )
    loaded = LoadedData((BarSeries("XYZ", frame, MINUTE, "t"),), (), "t")
    data = MarketData(loaded, start="2024-01-08T09:33:00")
    assert [s.time.minute for s in data.steps] == [33, 34, 35]
    assert data.reference_prices == {"XYZ": 3.0}
    before = datetime(2024, 1, 8, 9, 35)
    page, token = data.history(
        ["XYZ"], "1Min", before=before, start=None, end=None, limit=2, page_token=None
    )
    assert [b["o"] for b in page["XYZ"]] == [1.0, 2.0] and token
    page, token = data.history(
        ["XYZ"], "1Min", before=before, start=None, end=None, limit=2, page_token=token
    )
    assert [b["o"] for b in page["XYZ"]] == [3.0, 4.0] and token
    page, token = data.history(
        ["XYZ"], "1Min", before=before, start=None, end=None, limit=2, page_token=token
    )
    assert [b["o"] for b in page["XYZ"]] == [5.0] and token is None
    agg, _ = data.history(
        ["XYZ"], "5Min", before=before, start=None, end=None, limit=None, page_token=None
    )
    assert agg["XYZ"][0]["v"] == 15 and agg["XYZ"][0]["h"] == 5.0
    with pytest.raises(VenueError):
        data.history(
            ["XYZ"], "1Week", before=before, start=None, end=None, limit=1, page_token=None
        )
