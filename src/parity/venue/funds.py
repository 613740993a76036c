"""Buying power of the local venue's engine: cash reserved by open buys, shares held by open
sells, and Alpaca's 403 refusals of an order the account cannot pay or deliver."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from parity.options.contracts import OptionContract
from parity.venue.assets import multiplier
from parity.venue.combos import payoff_requirement
from parity.venue.options import is_option_symbol
from parity.venue.orders import EPS, Order, VenueError, asset_id

if TYPE_CHECKING:
    from parity.venue.engine import Engine


def reserved_cash(engine: Engine) -> float:
    """Cash committed to open buy orders (remaining qty x limit or last price)."""
    total = 0.0
    for order in engine.orders.values():
        if order.requirement is not None:  # an option combo or short open: its requirement
            total += order.requirement * order.remaining / order.qty if order.is_open else 0.0
            continue
        if order.order_class == "mleg":
            continue  # a combo's leg: its parent reserves for it
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


def option_requirement(engine: Engine) -> float:
    """What the account's option positions hold of its buying power: per underlying, the worst
    loss at expiry of its option positions (short calls covered by its shares)."""
    if engine.options is None:
        return 0.0
    groups: dict[str, list[tuple[OptionContract, float]]] = {}
    for symbol, position in engine.positions.items():
        if is_option_symbol(symbol):
            contract = engine.options.parse(symbol)
            groups.setdefault(contract.underlying, []).append((contract, position.qty))
    total = 0.0
    for underlying, legs in groups.items():
        shares = engine.positions.get(underlying)
        total += payoff_requirement(legs, shares.qty if shares else 0.0) or 0.0
    return total


def locked_shares(engine: Engine, underlying: str) -> float:
    """Shares of `underlying` covering short calls (net of long calls): not for sale."""
    if engine.options is None:
        return 0.0
    calls = 0.0
    for symbol, position in engine.positions.items():
        if is_option_symbol(symbol):
            contract = engine.options.parse(symbol)
            if contract.underlying == underlying and contract.right == "call":
                calls += position.qty * contract.multiplier
    for order in engine.orders.values():  # open short calls being sold hold their cover too
        if order.is_open and order.requirement == 0.0 and order.side == "sell":
            contract = engine.options.parse(order.symbol)
            if contract.underlying == underlying:
                calls -= order.remaining * contract.multiplier
    return max(-calls, 0.0)


def _check_short_open(engine: Engine, order: Order) -> None:
    """A sell that opens a short option: a cash-secured put (strike x 100 x qty of buying
    power) or a covered call (100 x qty shares of the underlying, locked)."""
    assert engine.options is not None
    contract = engine.options.parse(order.symbol)
    if contract.right == "put":
        need = contract.strike * contract.multiplier * order.qty
        power = engine.buying_power()
        if need > power + EPS:
            raise VenueError(
                403,
                40310000,
                "insufficient options buying power for cash-secured put "
                f"(required: {_text(need)}, available: {_text(power)})",
                buying_power=_text(power),
                cost_basis=_text(need),
            )
        order.requirement = need
        return
    shares = engine.positions.get(contract.underlying)
    free = (shares.qty if shares else 0.0) - engine.held_for_orders(contract.underlying)
    available = max(free - locked_shares(engine, contract.underlying), 0.0)
    need = contract.multiplier * order.qty
    if need > available + EPS:
        raise VenueError(
            403,
            40310000,
            "insufficient underlying qty available for covered call "
            f"(required: {_text(need)}, available: {_text(available)})",
            available_qty=_text(available),
            required_qty=_text(need),
            symbol=contract.underlying,
            underlying_asset_id=asset_id(contract.underlying),
        )
    order.requirement = 0.0


def _opens_short(engine: Engine, order: Order) -> bool:
    if order.side != "sell" or engine.options is None or not is_option_symbol(order.symbol):
        return False
    if order.position_intent == "sell_to_open":
        return True
    position = engine.positions.get(order.symbol)
    return order.position_intent is None and (position is None or position.qty <= EPS)


def check_funds(engine: Engine, order: Order) -> None:
    if order.order_class == "mleg" and order.requirement is not None:
        for leg in order.legs:  # a closing leg closes no more than the position it closes
            position = engine.positions.get(leg.symbol)
            held = position.qty if position else 0.0
            if leg.position_intent in ("buy_to_close", "sell_to_close"):
                have = max(-held if leg.side == "buy" else held, 0.0)
                if leg.qty > have + EPS:
                    raise VenueError(
                        403,
                        40310000,
                        f"insufficient qty available for order (requested: {_text(leg.qty)}, "
                        f"available: {_text(have)})",
                        available=_text(have),
                        symbol=leg.symbol,
                    )
        power = engine.buying_power()
        if order.requirement > power + EPS:
            raise VenueError(
                403,
                40310000,
                "insufficient buying power",
                buying_power=_text(power),
                cost_basis=_text(order.requirement),
            )
        return
    if _opens_short(engine, order):
        _check_short_open(engine, order)
        return
    if order.position_intent == "buy_to_close":  # covers a short: no more than it is short
        position = engine.positions.get(order.symbol)
        short = max(-(position.qty if position else 0.0), 0.0)
        if order.qty > short + EPS:
            raise VenueError(
                403,
                40310000,
                f"insufficient qty available for order (requested: {_text(order.qty)}, "
                f"available: {_text(short)})",
                available=_text(short),
                symbol=order.symbol,
            )
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
    held = engine.held_for_orders(order.symbol) + locked_shares(engine, order.symbol)
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
