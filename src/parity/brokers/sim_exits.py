"""The simulated broker's side of within-bar ambiguity (`parity.engine.ambiguity`): on a bar
that reaches both exits of a take-profit/stop-loss pair (a bracket's two children, or a
two-order `oco` group), the exit the run's rule does not pick is held back on that bar, and
Backtrader cancels it when the other fills. Without a rule Backtrader's time priority stands.
The local venue applies the same rule to its bracket and `oco` legs (`venue.engine`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import backtrader as bt

from parity.brokers.sim_timing import bar_milliseconds, bar_start
from parity.engine.fills import Bar, FillModel


def exit_partner(broker: Any, order: bt.Order) -> bt.Order | None:
    """The other exit of `order`'s pair (a bracket's other child, the other order of a
    two-order `oco` group) in `broker` (a `BackBroker`), when it is working; else None."""
    if order.parent is not None:
        group = [o for o in broker._pchildren.get(order.parent.ref, ()) if o is not order]
    else:
        refs = broker._ocol.get(broker._ocos.get(order.ref, -1), ())
        if len(refs) != 2:
            return None
        group = [o for o in broker.pending if o is not None and o.ref in refs and o is not order]
    if len(group) != 1 or not group[0].alive() or not group[0].active():
        return None
    return group[0]


def loses_tie(broker: Any, order: bt.Order, bar: Bar) -> bool:
    """Whether `order`, one exit of a take-profit/stop-loss pair, must not fill on `bar`
    because the bar reaches both and the run's rule (`FillModel.exit_winner`) gives the
    other one."""
    fill: FillModel = broker.p.fill
    if fill.ambiguous is None:
        return False  # Backtrader's time priority: the exit placed first fills
    partner = exit_partner(broker, order)
    if partner is None or partner.isbuy() != order.isbuy():
        return False
    if {order.exectype, partner.exectype} != {bt.Order.Limit, bt.Order.Stop}:
        return False
    target, stop = (order, partner) if order.exectype == bt.Order.Limit else (partner, order)
    long = order.issell()
    tp, sl = float(target.created.price), float(stop.created.price)
    if not fill.both_exits(long, bar, tp, sl):
        return False
    data = order.data
    # Backtrader's float day 1 is 0001-01-01
    start = dt.datetime.min + dt.timedelta(
        milliseconds=bar_start(data, data.datetime[0]) - 86_400_000
    )
    end = start + dt.timedelta(milliseconds=bar_milliseconds(data))
    winner = fill.exit_winner(
        symbol=data._name or "", start=start, end=end, long=long, tp=tp, sl=sl
    )
    return (winner == "target") != (order is target)
