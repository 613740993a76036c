"""The live feeds trade the run's session: a regular-session run's Alpaca and polling feeds drop
pre- and post-market bars (labels in the exchange's time), an extended one keeps them, and a
daily run keeps its midnight-labelled bars."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from parity.instruments.calendars import calendar_named
from parity.timeframe import MINUTE, parse_timeframe
from parity.venues.alpaca.feed import AlpacaLiveFeed
from parity.venues.clock import bar_filter
from parity.venues.sim.feed import PollingFeed
from parity.venues.types import StreamBar

NY_DAY = [dt.datetime(2013, 10, 4, h, m) for h, m in ((9, 29), (9, 30), (15, 59), (16, 0))]
NSE_DAY = [dt.datetime(2024, 1, 1, h, m) for h, m in ((9, 10), (9, 15), (15, 25), (15, 30))]


def bar(symbol: str, start: dt.datetime) -> StreamBar:
    return StreamBar(symbol, start, 1.0, 1.0, 1.0, 1.0, 100.0)


@dataclass(frozen=True)
class Config:
    symbols: tuple[str, ...]
    session: str | None = None
    timeframe: Any = MINUTE
    calendar: str | None = None


class Store:
    def subscribe_bars(self, symbol: str, handler: Any) -> None:
        self.handler = handler


@pytest.mark.parametrize(
    ("symbol", "day", "session", "kept"),
    [
        ("IBM", NY_DAY, None, NY_DAY[1:3]),  # regular by default: 09:30..15:59 New York
        ("IBM", NY_DAY, "extended", NY_DAY),
        ("RELIANCE.NS", NSE_DAY, None, NSE_DAY[1:3]),  # 09:15..15:25 Mumbai
    ],
)
def test_the_alpaca_feed_delivers_the_sessions_bars_only(symbol, day, session, kept) -> None:
    config = Config(symbols=(symbol,), session=session)
    feed = AlpacaLiveFeed(symbol=symbol, store=Store(), in_session=bar_filter(config))  # type: ignore[call-arg]
    for start in day:
        feed._ingest(bar(symbol, start), live=True)
    assert [b.start for b, _live in feed._ready] == kept


def test_the_polling_feed_delivers_the_sessions_bars_only() -> None:
    config = Config(symbols=("RELIANCE.NS",))
    clock = [dt.datetime(2024, 1, 1, 9, 0)]
    feed = PollingFeed(  # type: ignore[call-arg]
        symbol="RELIANCE.NS",
        fetch=lambda _s: [bar("RELIANCE.NS", t) for t in NSE_DAY],
        now=lambda: clock[0],
        in_session=bar_filter(config),
    )
    feed._poll()  # the first answer is the warm-up
    clock[0] = dt.datetime(2024, 1, 1, 16, 0)
    feed._newest = None
    feed._poll()
    assert [b.start for b, _live in feed._ready] == NSE_DAY[1:3]


def test_a_daily_run_keeps_its_midnight_labelled_bars() -> None:
    daily = Config(symbols=("RELIANCE.NS",), timeframe=parse_timeframe("1Day"))
    assert bar_filter(daily)(dt.datetime(2024, 1, 1))
    assert not bar_filter(Config(symbols=("RELIANCE.NS",)))(dt.datetime(2024, 1, 1))
    assert (
        calendar_named("XNSE").bar_filter("regular")(dt.datetime(2024, 1, 26, 10)) is False
    )  # a holiday
