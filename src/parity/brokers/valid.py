"""`valid=` (good till date) emulated for a venue without it: Backtrader expires an order on the
first bar whose time is past `valid`; the client cancels it once the next bar must be past it
(the bar just seen plus one bar period). With gaps in the data the venue may see one more bar."""

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


def expiry_due(order: bt.Order) -> bool:
    """Whether the next bar of the order's data is past the order's `valid` (never a market
    order, which Backtrader never expires)."""
    if not order.valid or order.exectype in (None, bt.Order.Market) or not len(order.data):
        return False
    period = bar_period(order.data).total_seconds() / 86_400.0
    return bool(order.data.datetime[0] + period > order.valid)
