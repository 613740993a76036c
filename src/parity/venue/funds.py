"""Buying power of the local venue's engine: cash reserved by open buys, shares held by open
sells, and Alpaca's 403 refusals of an order the account cannot pay or deliver."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from parity.venue.assets import multiplier
from parity.venue.orders import EPS, Order, VenueError

if TYPE_CHECKING:
    from parity.venue.engine import Engine


def reserved_cash(engine: Engine) -> float:
    """Cash committed to open buy orders (remaining qty x limit or last price)."""
    total = 0.0
    for order in engine.orders.values():
        if order.is_open and order.side == "buy" and order.status != "held":
            if order.notional is not None and order.filled_qty <= EPS:
                total += order.notional
                continue
            price = order.reference_price or engine.last_price.get(order.symbol, 0.0)
            total += order.remaining * price * multiplier(order.symbol)
    return total


def held_for_orders(orders: dict[str, Order], symbol: str) -> float:
    """Shares committed to open sell orders (a bracket's two legs count once)."""
    held = 0.0
    for order in orders.values():
        if not order.is_open or order.symbol != symbol or order.side != "sell":
            continue
        if order.parent_id is None and order.order_class != "oco":
            held += order.remaining
    for parent in orders.values():
        legs = [leg for leg in parent.legs if leg.is_open and leg.status != "held"]
        if parent.order_class == "oco" and parent.legs and parent.is_open:
            legs.append(parent)  # an exit pair holds its shares once
        sells = [leg.remaining for leg in legs if leg.side == "sell" and leg.symbol == symbol]
        held += max(sells, default=0.0)
    return held


def check_funds(engine: Engine, order: Order) -> None:
    if order.side == "buy":
        price = order.reference_price or engine.last_price.get(order.symbol, 0.0)
        cost = (
            order.qty * price * multiplier(order.symbol)
            if order.notional is None
            else order.notional
        )
        power = engine.buying_power()
        if cost > power + EPS:
            raise VenueError(
                403,
                40310000,
                "insufficient buying power",
                buying_power=_text(power),
                cost_basis=_text(cost),
            )
        return
    position = engine.positions.get(order.symbol)
    existing = position.qty if position else 0.0
    held = engine.held_for_orders(order.symbol)
    available = max(existing - held, 0.0)
    wanted = order.qty
    if order.notional is not None:
        wanted = order.notional / engine.last_price.get(order.symbol, math.inf)
    if wanted > available + EPS:
        raise VenueError(
            403,
            40310000,
            f"insufficient qty available for order (requested: {_text(order.qty)}, "
            f"available: {_text(available)})",
            available=_text(available),
            existing_qty=_text(existing),
            held_for_orders=_text(held),
            symbol=order.symbol,
        )


def _text(value: float) -> str:
    from parity.venue.models import decimal

    return decimal(value)
