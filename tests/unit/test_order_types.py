"""The Backtrader→Alpaca order table (`parity.brokers.alpaca_orders`) and the venue engine's
rules for the order types it added: oco holds shares once, a leg's fill or cancel ends its
pair, trailing stops need a trail, fractional orders are simple day orders."""

from __future__ import annotations

import datetime as dt

import backtrader as bt
import pandas as pd
import pytest
from test_venue_engine import engine, order, step

from parity.brokers.alpaca_orders import oco_request, refused_in, request_for
from parity.engine.fills import Bar
from parity.venue.orders import VenueError
from parity.venues.types import OrderRequest

OCO = {
    "side": "sell", "type": "limit", "limit_price": 103, "order_class": "oco",
    "take_profit": {"limit_price": 103}, "stop_loss": {"stop_price": 98},
}  # fmt: skip


class _Probe(bt.Strategy):
    made: list[bt.Order] = []

    def next(self) -> None:
        if len(self) != 1:
            return
        o = self.buy(size=10, transmit=False)
        c = self.sell(size=10, exectype=bt.Order.Stop, price=98.0, parent=o, transmit=False)
        t = self.sell(size=10, exectype=bt.Order.StopTrail, trailpercent=0.02, transmit=False)
        x = self.buy(size=10, exectype=bt.Order.Close, transmit=False)
        lim = self.sell(size=10, exectype=bt.Order.Limit, price=103.0, transmit=False)
        stl = self.sell(size=10, exectype=bt.Order.StopTrailLimit, trailamount=1, transmit=False)
        stop = self.sell(size=10, exectype=bt.Order.Stop, price=98.0, transmit=False)
        type(self).made = [o, c, t, x, lim, stl, stop]


@pytest.fixture(scope="module")
def made() -> list[bt.Order]:
    index = pd.date_range("2024-01-08 09:30", periods=3, freq="1min")
    frame = pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0,
                          "volume": 1000.0}, index=index)  # fmt: skip
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, name="XYZ"))
    cerebro.addstrategy(_Probe)
    cerebro.run()
    for i, each in enumerate(_Probe.made):
        each.addinfo(client_order_id=f"c-{i}")
    return _Probe.made


def test_the_table(made: list[bt.Order]) -> None:
    entry, child, trail, close, limit, trail_limit, stop = made
    oto = request_for(entry, [entry, child])
    assert isinstance(oto, OrderRequest)
    assert (oto.order_class, oto.type, oto.time_in_force) == ("oto", "market", "gtc")
    assert (oto.stop_loss, oto.take_profit) == (98.0, None)
    trailing = request_for(trail, [trail])
    assert isinstance(trailing, OrderRequest)
    assert (trailing.type, trailing.trail_percent, trailing.trail_price) == (
        "trailing_stop", 2.0, None)  # fmt: skip
    moc = request_for(close, [close])
    assert isinstance(moc, OrderRequest) and (moc.type, moc.time_in_force) == ("market", "cls")
    assert request_for(trail_limit, [trail_limit]) == (
        "StopTrailLimit is not supported: Alpaca's trailing_stop has no limit price; use StopTrail"
    )
    pair = oco_request(limit, stop, "c-9")
    assert isinstance(pair, OrderRequest)
    assert (pair.order_class, pair.limit_price, pair.take_profit, pair.stop_loss) == (
        "oco", 103.0, 103.0, 98.0)  # fmt: skip
    assert "oco= of a Market and a Limit order" in str(oco_request(entry, limit, "c-10"))
    assert "between bracket children" in str(oco_request(limit, child, "c-11"))


def test_refused_in_names_the_file_and_line() -> None:
    import inspect

    reason = refused_in(_Probe)
    lines, first = inspect.getsourcelines(_Probe)
    line = first + next(i for i, text in enumerate(lines) if "StopTrailLimit" in text)
    assert reason == (
        f"{__file__}:{line}: StopTrailLimit is not supported: Alpaca's trailing_stop has no "
        "limit price; use StopTrail"
    )
    assert refused_in(bt.Strategy) is None


def test_oco_holds_shares_once_and_a_leg_fill_ends_the_pair() -> None:
    e = engine()
    e.submit(order())
    step(e, 1, Bar(100.0, 100.0, 100.0, 100.0, 1000.0))  # 10 shares at 100
    pair = e.submit(order(**OCO))
    assert e.held_for_orders("XYZ") == 10 and pair.legs[0].status == "new"
    with pytest.raises(VenueError, match="insufficient qty"):
        e.submit(order(side="sell", qty=1))
    step(e, 2, Bar(99.0, 99.5, 97.0, 98.0, 1000.0))  # the stop leg fills at 98
    assert (pair.status, pair.legs[0].status) == ("canceled", "filled")
    assert e.positions == {} and e.cash == pytest.approx(10_000 - 1000 + 980)


@pytest.mark.parametrize(("stop_first", "price"), [(False, 103.0), (True, 98.0)])
def test_an_oco_pair_fills_the_leg_placed_first_when_both_trigger(
    stop_first: bool, price: float
) -> None:
    """A bar reaching both the take-profit (103) and the stop (98): Backtrader fills the order
    placed first. The limit is, unless the client said the stop was (`leg_first_ids`)."""
    e = engine()
    e.submit(order())
    step(e, 1, Bar(100.0, 100.0, 100.0, 100.0, 1000.0))  # 10 shares at 100
    if stop_first:
        e.leg_first_ids.add("pair")
    pair = e.submit(order(**OCO, client_order_id="pair"))
    assert pair.leg_first is stop_first and not e.leg_first_ids
    step(e, 2, Bar(100.0, 104.0, 97.0, 100.0, 1000.0))
    fills = [(f["side"], f["price"]) for f in e.fills[1:]]
    assert fills == [("sell", price)]
    assert e.cash == pytest.approx(10_000 - 1000 + 10 * price)


def test_cancelling_an_oco_leg_cancels_the_pair() -> None:
    e = engine()
    e.submit(order())
    step(e, 1, Bar(100.0, 100.0, 100.0, 100.0, 1000.0))
    pair = e.submit(order(**OCO))
    e.cancel(pair.legs[0].id)
    assert (pair.status, pair.legs[0].status) == ("canceled", "canceled")
    assert e.held_for_orders("XYZ") == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"qty": 1.5}, "fractional orders must be simple DAY orders"),
        ({"qty": 1.5, "time_in_force": "day", "type": "trailing_stop", "trail_price": 1},
         "fractional orders must be simple DAY orders"),
        ({"notional": 100, "qty": None, "time_in_force": "day", "type": "limit",
          "limit_price": 99}, "notional orders must be market orders"),
        ({"type": "trailing_stop", "trail_price": 1, "trail_percent": 1},
         "exactly one of trail_price or trail_percent"),
        ({"type": "trailing_stop", "trail_price": 1, "stop_price": 90},
         "trailing_stop orders require no stop or limit price"),
        ({"order_class": "oto"}, "oto orders require exactly one of take_profit or stop_loss"),
        ({"order_class": "oco", "side": "sell"}, "oco orders must be limit orders"),
        ({"time_in_force": "cls", "type": "stop", "stop_price": 90},
         "cls orders must be market or limit orders"),
    ],
)  # fmt: skip
def test_new_order_types_are_validated(change: dict, message: str) -> None:
    with pytest.raises(VenueError, match=message):
        engine().submit(order(**change))


def test_day_cls_orders_do_not_expire_at_the_close() -> None:
    e = engine()
    moc = e.submit(order(time_in_force="cls"))
    assert moc.session_date == dt.date(2024, 1, 8)
    assert moc.is_open


def test_trailing_stop_replace_keeps_the_mark() -> None:
    e = engine()
    e.submit(order())
    step(e, 1, Bar(100.0, 100.0, 100.0, 100.0, 1000.0))
    trail = e.submit(order(side="sell", type="trailing_stop", trail_price=2))
    assert (trail.hwm, trail.stop_price) == (100.0, 98.0)
    step(e, 2, Bar(100.0, 103.0, 99.0, 102.5, 1000.0))  # low 99 > 98: the mark moves to 102.5
    assert (trail.hwm, trail.stop_price) == (102.5, 100.5)
    new = e.replace(trail.id, {"trail": 1})
    assert (new.type, new.hwm, new.trail_price) == ("trailing_stop", 102.5, 1)
    assert new.stop_price == 101.5
    step(e, 3, Bar(102.0, 102.0, 101.0, 101.2, 1000.0))  # the new stop 101.5 is touched
    assert new.status == "filled" and new.filled_avg_price == 101.5
