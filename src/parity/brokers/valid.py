"""`valid=` (good till date) emulated for a venue without it: Backtrader expires an order on the
first bar whose time is past `valid`, without matching it on that bar; the client cancels it
once the next bar must be past it, so the venue never matches a bar past `valid`, and the
strategy hears Expired on the first bar past it, as in a backtest.

When the next bar starts is known exactly against a lock-step venue (it says when its next step
is), across gaps too: overnight, a weekend, a holiday, after-hours minutes without trades.
Against a wall-clock venue it is taken to be one bar period on; across a gap there the first bar
after the gap can be matched before the client knows it is past `valid`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import backtrader as bt

from parity.feeds.lines import SESSION_END

# when the venue's next bar starts (`None`: there is none); raises `LookupError` when unknown
NextBar = Callable[[], dt.datetime | None]

_PERIOD = {
    bt.TimeFrame.Seconds: dt.timedelta(seconds=1),
    bt.TimeFrame.Minutes: dt.timedelta(minutes=1),
    bt.TimeFrame.Days: dt.timedelta(days=1),
    bt.TimeFrame.Weeks: dt.timedelta(weeks=1),
}


def bar_period(data: bt.AbstractDataBase) -> dt.timedelta:
    """One bar of `data` (its timeframe times its compression)."""
    unit = _PERIOD.get(data._timeframe, dt.timedelta(days=1))
    return unit * max(int(data._compression or 1), 1)


def bar_number(start: dt.datetime, period: dt.timedelta) -> float:
    """Backtrader's datetime number for the bar (of `period`, aligned to midnight) that `start`
    falls in, as the feeds stamp it: a daily bar at the end of its session."""
    midnight = dt.datetime.combine(start.date(), dt.time())
    if period >= dt.timedelta(days=1):
        return float(bt.date2num(midnight)) + SESSION_END
    return float(bt.date2num(midnight + period * ((start - midnight) // period)))


def expiry(order: bt.Order, next_bar: NextBar | None = None) -> str | None:
    """`"past"`: the bar just seen is past the order's `valid` (Backtrader expires it on this
    bar); `"next"`: the next bar will be; `None`: neither, or a market order (never expired)."""
    if not order.valid or order.exectype in (None, bt.Order.Market) or not len(order.data):
        return None
    now = order.data.datetime[0]
    if now > order.valid:
        return "past"
    period = bar_period(order.data)
    if next_bar is not None:
        try:
            following = next_bar()
        except LookupError:
            pass  # the venue did not say: one bar period on
        else:
            if following is None:
                return None  # no bar follows: nothing more can be matched
            return "next" if bar_number(following, period) > order.valid else None
    return "next" if now + period.total_seconds() / 86_400.0 > order.valid else None
