"""From Backtrader objects to the guard's plain inputs: an order's intent and the broker's view
(held positions, open orders, prices, equity). Works for `SimBroker` and `AlpacaBroker` alike."""

from __future__ import annotations

from typing import Any

import backtrader as bt

from parity.risk.rules import BrokerView, OrderIntent


def order_intent(order: bt.Order) -> OrderIntent:
    """The order's symbol, side, size, price estimate (the data's close) and bar time."""
    data = order.data
    return OrderIntent(
        symbol=str(data._name),
        side="buy" if order.isbuy() else "sell",
        qty=abs(float(order.created.size)),
        price=float(data.close[0]),
        when=data.datetime.datetime(0),
        tag=str(order.info.get("risk", "")),
    )


def broker_view(broker: Any, order: bt.Order) -> BrokerView:
    """Positions and prices of every data of the order's strategy, and the remaining quantity of
    the broker's open orders (the order under review and orders not yet sent excluded)."""
    owner = getattr(order, "owner", None)
    datas = list(getattr(owner, "datas", None) or [order.data])
    positions: dict[str, float] = {}
    prices: dict[str, float] = {}
    for data in datas:
        size = float(broker.getposition(data).size)
        if size:
            positions[data._name] = size
        if len(data):
            prices[data._name] = float(data.close[0])
    pending: dict[str, tuple[float, float]] = {}
    seen: set[int] = set()
    for other in (*getattr(broker, "submitted", ()), *broker.get_orders_open()):
        if id(other) in seen:
            continue
        seen.add(id(other))
        if other is None or other is order or other.status == bt.Order.Created or not other.alive():
            continue
        buys, sells = pending.get(other.data._name, (0.0, 0.0))
        left = abs(float(other.executed.remsize))
        pending[other.data._name] = (buys + left, sells) if other.isbuy() else (buys, sells + left)
    return BrokerView(
        equity=float(broker.getvalue()), positions=positions, pending=pending, prices=prices
    )
