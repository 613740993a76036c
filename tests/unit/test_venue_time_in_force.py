"""The local venue's `ioc`, `fok` and `opg` times in force, with Alpaca's rules: ioc fills what
the next match can and cancels the rest, fok fills all at the next match or nothing, opg trades
only in the opening auction and is accepted only before 09:28 or from 19:00 New York."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from parity.costs import CostModel
from parity.engine.fills import Bar
from parity.venue.clock import MarketCalendar, ny
from parity.venue.engine import Engine
from parity.venue.orders import VenueError

MONDAY = ny(datetime(2024, 1, 8, 9, 30))
BAR = Bar(100.0, 102.0, 98.0, 101.0, 1000.0)


def engine(now: datetime = MONDAY, **kw: object) -> Engine:
    calendar = MarketCalendar([date(2024, 1, 5), date(2024, 1, 8), date(2024, 1, 9)])
    options: dict = {"cash": 10_000.0, "costs": CostModel(), "reference_prices": {"XYZ": 100.0}}
    options.update(kw)
    return Engine(["XYZ"], calendar=calendar, now=now, **options)


def order(**kw: object) -> dict:
    body = {"symbol": "XYZ", "qty": 10, "side": "buy", "type": "market", "time_in_force": "ioc"}
    body.update(kw)
    return body


def step(e: Engine, when: datetime, bar: Bar = BAR) -> None:
    e.advance(when + timedelta(minutes=1))
    e.on_step(when, {"XYZ": bar})


def events(e: Engine) -> list[tuple[str, float | None]]:
    return [(ev.event, ev.qty) for ev in e.drain_events()]


def test_ioc_fills_what_the_next_match_can_and_cancels_the_rest() -> None:
    e = engine(volume_share=0.1)
    placed = e.submit(order(qty=25))
    step(e, MONDAY)  # 10% of 1000 shares: all 25
    step(e, MONDAY + timedelta(minutes=1))  # nothing more: it is over
    assert (placed.status, placed.filled_qty, placed.filled_avg_price) == ("filled", 25, 100.0)
    e = engine(volume_share=0.01)
    placed = e.submit(order(qty=25))
    step(e, MONDAY)
    step(e, MONDAY + timedelta(minutes=1))
    assert (placed.status, placed.filled_qty) == ("canceled", 10)
    assert events(e) == [("new", None), ("partial_fill", 10), ("canceled", None)]
    assert e.positions["XYZ"].qty == 10 and e.cash == pytest.approx(10_000 - 1_000)


def test_ioc_limit_the_next_match_cannot_fill_is_canceled() -> None:
    e = engine()
    placed = e.submit(order(type="limit", limit_price=97.0))
    step(e, MONDAY)  # low 98: not reached
    step(e, MONDAY + timedelta(minutes=1), Bar(97.0, 97.0, 96.0, 96.5, 1000.0))
    assert (placed.status, placed.filled_qty) == ("canceled", 0)
    assert "XYZ" not in e.positions and e.cash == 10_000


def test_fok_fills_all_at_the_next_match_or_nothing() -> None:
    e = engine(volume_share=0.01)  # 10 shares a bar
    short = e.submit(order(qty=25, time_in_force="fok"))
    whole = e.submit(order(qty=10, time_in_force="fok", type="limit", limit_price=99.0))
    step(e, MONDAY)
    assert (short.status, short.filled_qty) == ("canceled", 0)
    assert (whole.status, whole.filled_qty, whole.filled_avg_price) == ("filled", 10, 99.0)
    assert e.positions["XYZ"].qty == 10 and e.cash == pytest.approx(10_000 - 990)


def test_opg_is_refused_from_0928_to_1900_new_york() -> None:
    for hour, minute in ((9, 28), (9, 30), (15, 0), (18, 59)):
        e = engine(now=ny(datetime(2024, 1, 8, hour, minute)))
        with pytest.raises(VenueError) as err:
            e.submit(order(time_in_force="opg"))
        assert (err.value.status, err.value.code) == (422, 40010001)
        assert "opg orders are accepted only before 9:28am or after 7:00pm ET" in str(
            err.value.body()["message"]
        )
    e = engine(now=ny(datetime(2024, 1, 6, 12, 0)))  # a Saturday: for Monday's open
    assert e.submit(order(time_in_force="opg")).session_date == date(2024, 1, 8)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "stop", "stop_price": 101.0}, "opg orders must be market or limit orders"),
        (
            {"order_class": "bracket", "take_profit": {"limit_price": 110.0}},
            "bracket orders must be day or gtc orders",
        ),
    ],
)
def test_opg_and_ioc_refuse_what_alpaca_refuses(body: dict, message: str) -> None:
    e = engine(now=ny(datetime(2024, 1, 8, 8, 0)))
    for tif in ("opg", "ioc", "fok"):
        if "opg" in message and tif != "opg":
            continue
        with pytest.raises(VenueError) as err:
            e.submit(order(time_in_force=tif, **body))
        assert err.value.body()["message"] == message


def test_opg_trades_only_in_the_opening_auction() -> None:
    e = engine(now=ny(datetime(2024, 1, 8, 7, 0)))
    moo = e.submit(order(time_in_force="opg"))
    loo = e.submit(order(time_in_force="opg", type="limit", limit_price=101.0))
    missed = e.submit(order(time_in_force="opg", type="limit", limit_price=99.0, qty=5))
    step(e, ny(datetime(2024, 1, 8, 8, 0)))  # pre-market: not the auction
    assert moo.status == loo.status == missed.status == "new"
    step(e, MONDAY)  # the open: 100; the limit of 99 is reached later in the bar, not at open
    assert (moo.status, moo.filled_avg_price) == ("filled", 100.0)
    assert (loo.status, loo.filled_avg_price) == ("filled", 100.0)
    assert (missed.status, missed.filled_qty) == ("canceled", 0)
    late = engine(now=ny(datetime(2024, 1, 8, 19, 0)))  # after 19:00: the next day's open
    nxt = late.submit(order(time_in_force="opg"))
    step(late, ny(datetime(2024, 1, 8, 19, 30)))
    assert nxt.status == "new"
    step(late, ny(datetime(2024, 1, 9, 9, 30)), Bar(105.0, 106.0, 104.0, 105.5, 1000.0))
    assert (nxt.status, nxt.filled_avg_price) == ("filled", 105.0)


def test_cls_is_refused_after_1550_until_1900_new_york() -> None:
    for hour, minute in ((15, 51), (16, 0), (18, 59)):
        e = engine(now=ny(datetime(2024, 1, 8, hour, minute)))
        with pytest.raises(VenueError) as err:
            e.submit(order(time_in_force="cls"))
        assert err.value.body()["message"] == (
            "cls orders are not accepted after 3:50pm and before 7:00pm ET: "
            "the closing auction has closed"
        )
    in_time = engine(now=ny(datetime(2024, 1, 8, 15, 50))).submit(order(time_in_force="cls"))
    assert in_time.session_date == date(2024, 1, 8)
    evening = engine(now=ny(datetime(2024, 1, 8, 19, 0))).submit(order(time_in_force="cls"))
    assert evening.session_date == date(2024, 1, 9)  # the next session's close
