"""Bar prices and timing for the simulated broker, in Backtrader's float days: when an order
reaches the book (latency) and when a market day order's session is over, timed as the local
venue times them."""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from typing import Any

import backtrader as bt

from parity.feeds.arrayfeed import US_REGULAR_SESSION_END
from parity.instruments.calendars import calendar_named


def tick(data: Any, name: str) -> float:
    """The bar's price as Backtrader reads it (a replayed bar's tick first)."""
    value = getattr(data, f"tick_{name}", None)
    return float(getattr(data, name)[0] if value is None else value)


_DAY_MS = 86_400_000


def bar_milliseconds(data: Any) -> int:
    """The length of one bar of `data` in milliseconds."""
    compression = int(getattr(data, "_compression", 1) or 1)
    timeframe = getattr(data, "_timeframe", bt.TimeFrame.Days)
    if timeframe >= bt.TimeFrame.Days:
        return compression * _DAY_MS
    if timeframe == bt.TimeFrame.Minutes:
        return compression * 60_000
    return compression * 1_000  # seconds (finer bars are not timed to the millisecond)


def bar_start(data: Any, number: float) -> int:
    """A bar's start in milliseconds of Backtrader's float days (daily bars are stamped at the
    end of their session: their start is the day). Whole days and the fraction are kept apart:
    a float day carries about 10 microseconds of precision, not enough for one integer."""
    day = math.floor(number)
    if getattr(data, "_timeframe", bt.TimeFrame.Days) >= bt.TimeFrame.Days:
        return day * _DAY_MS
    return day * _DAY_MS + round((number - day) * _DAY_MS)


def _ms_of_day(moment: dt.time) -> int:
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1000 + moment.microsecond // 1000


# Backtrader's `sessionend` when a feed sets none: the session end is not known (only US
# listings' intraday feeds set theirs)
_NO_SESSION_END = dt.time(23, 59, 59, 999990)


def day_session_over(order: bt.Order) -> bool:
    """Whether the session of a market order (a `day` order at the venue) ended before the
    current bar. As at the venue (and Alpaca), its session is that of the moment it is sent (the
    end of its decision bar): sent before the close, today's, even if the latency leaves no bar
    of today's session it could fill on (it then expires at the close, not at the next open);
    sent after the close, the next session's, and it may fill in the after-hours bars before
    it, as at the venue (its session is then that of the first bar within regular hours). A US
    session closes at 16:00, or at 13:00 on a half day (the exchange's calendar). For
    daily bars, and for bars without a known session end (`sessionend`: only US listings' have
    one, so an order sent after an NSE close is not taken for one sent during it), the first
    bar's day."""
    data = order.data
    if data.datetime[0] <= order.created.dt:
        return False
    start = bar_start(data, data.datetime[0])
    day, moment = divmod(start, _DAY_MS)
    daily = getattr(data, "_timeframe", bt.TimeFrame.Days) >= bt.TimeFrame.Days
    sessionend = getattr(data.p, "sessionend", None) or _NO_SESSION_END
    known = sessionend != _NO_SESSION_END
    close = _us_close_ms(day) if known else _ms_of_day(sessionend)
    session = order.info.get("session_day")
    if session is None and not daily and known:
        sent_day, sent_moment = divmod(
            bar_start(data, order.created.dt) + bar_milliseconds(data), _DAY_MS
        )
        if sent_moment <= _us_close_ms(sent_day):
            session = sent_day
            order.addinfo(session_day=session)
    if session is None:
        if daily or moment <= close:
            order.addinfo(session_day=day)
        return False
    return bool(day > session or (not daily and moment > close))


@lru_cache(maxsize=4096)
def _us_close_ms(day: int) -> int:
    """The close of the US session on float day `day`, in milliseconds of the day and a
    millisecond short of it as `sessionend` is (16:00, or 13:00 on a half day, as the venue's
    calendar closes it); 16:00 on a day that is no session."""
    calendar = calendar_named("XNYS")
    date = dt.date.fromordinal(day)
    if not calendar.is_session(date):
        return _ms_of_day(US_REGULAR_SESSION_END)
    return _ms_of_day(calendar.session_close(date).time()) - 1
