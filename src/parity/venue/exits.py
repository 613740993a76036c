"""The local venue's side of within-bar ambiguity (`parity.engine.ambiguity`): on a bar that
reaches both exits of a bracket or an `oco` pair, the leg the run's rule does not pick is
held back on that bar (the other fills and cancels it), as the simulated broker does
(`brokers.sim_exits`). Without a rule, time priority as in Backtrader: the exit placed first
fills, which the client tells the venue with `oco_first` for an `oco` pair or a bracket whose
stop-loss was placed first (as a Backtrader `buy_bracket` does); else the take-profit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from parity.engine.fills import Bar, FillModel
from parity.timeframe import Timeframe
from parity.venue.clock import MarketCalendar
from parity.venue.orders import Order


def exit_partner(orders: Mapping[str, Order], order: Order, when: datetime) -> Order | None:
    """The other exit of `order`'s bracket or `oco` pair when it works on the bar at `when`."""
    parent = orders.get(order.parent_id) if order.parent_id else None
    if parent is not None and parent.order_class == "bracket":
        others = [leg for leg in parent.legs if leg is not order]
    elif parent is not None and parent.order_class == "oco":
        others = [parent]
    elif order.order_class == "oco" and order.parent_id is None:
        others = list(order.legs)
    else:
        return None
    if len(others) != 1:
        return None
    other = others[0]
    working = other.is_open and other.status != "held" and when >= other.fillable_from
    return other if working else None


def loses_tie(
    orders: Mapping[str, Order],
    fill: FillModel,
    calendar: MarketCalendar,
    bar_timeframe: Timeframe | None,
    order: Order,
    when: datetime,
    bar: Bar,
) -> bool:
    """Whether `order`, one exit of a take-profit/stop-loss pair, must not fill on `bar` (the
    replayed bar starting `when`, of `bar_timeframe`): the bar reaches both and the rule gives
    the other."""
    if order.type not in ("limit", "stop"):
        return False
    partner = exit_partner(orders, order, when)
    if partner is None or partner.side != order.side or partner.type == order.type:
        return False
    if fill.ambiguous is None:
        return False  # time priority: the leg placed first (`leg_first`) goes first
    if partner.type not in ("limit", "stop"):
        return False
    target, stop = (order, partner) if order.type == "limit" else (partner, order)
    assert target.limit_price is not None and stop.stop_price is not None
    long = order.side == "sell"
    tp, sl = target.limit_price, stop.stop_price
    if not fill.both_exits(long, bar, tp, sl):
        return False
    start = calendar.naive(when)
    if bar_timeframe is None or bar_timeframe.is_daily:
        start, length = datetime.combine(start.date(), datetime.min.time()), timedelta(days=1)
    else:
        length = timedelta(seconds=bar_timeframe.seconds)
    winner = fill.exit_winner(
        symbol=order.symbol, start=start, end=start + length, long=long, tp=tp, sl=sl
    )
    return (winner == "target") != (order is target)
