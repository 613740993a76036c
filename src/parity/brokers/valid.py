"""`valid=` (good till date) emulated for a venue without it: Backtrader expires an order on the
first bar whose time is past `valid`; the client cancels it once the next bar must be past it
(the bar just seen plus one bar period), so the venue never matches a bar past `valid`, and
the strategy hears Expired on the first bar past it, as in a backtest. Across a gap in the data
the first bar after the gap is matched before the client can know it is past `valid`."""

from __future__ import annotations

import datetime as dt

import backtrader as bt

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


def expiry(order: bt.Order) -> str | None:
    """`"past"`: the bar just seen is past the order's `valid` (Backtrader expires it on this
    bar); `"next"`: the next bar will be; `None`: neither, or a market order (never expired)."""
    if not order.valid or order.exectype in (None, bt.Order.Market) or not len(order.data):
        return None
    now = order.data.datetime[0]
    if now > order.valid:
        return "past"
    period = bar_period(order.data).total_seconds() / 86_400.0
    return "next" if now + period > order.valid else None
