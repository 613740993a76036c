"""Matching of the local venue's engine: open orders against a replay step's bars with the one
fill model (time priority, expiry of day orders, prices per order type and time in force), and
a fill booked into cash, positions, the fills list and a trade update."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from parity.engine.fills import Bar
from parity.instruments import instrument_for
from parity.venue import ordertypes, timeinforce
from parity.venue.orders import EPS, Order, Position

if TYPE_CHECKING:
    from parity.venue.engine import Engine


def time_priority(engine: Engine) -> list[Order]:
    """Orders in the order they were placed, as Backtrader matches them (the first order of
    an `oco` group to fill cancels the other): when the stop was placed first (`leg_first`)
    an `oco` pair's stop leg goes before its limit, and a bracket's stop-loss before its
    take-profit (both after the bracket's entry)."""
    out: list[Order] = []
    for order in engine.orders.values():
        parent = engine.orders.get(order.parent_id) if order.parent_id else None
        if parent is not None and parent.leg_first:
            continue  # placed beside its parent, below
        if order.leg_first and order.order_class == "oco":
            out.extend(order.legs)
        out.append(order)
        if order.leg_first and order.order_class == "bracket":
            out.extend(sorted(order.legs, key=lambda leg: not leg.type.startswith("stop")))
    return out


def expire(engine: Engine, when: datetime) -> None:
    for order in list(engine.orders.values()):
        if (
            order.is_open
            and order.status != "held"
            and order.time_in_force != "cls"
            and order.session_date is not None
            and when >= engine.calendar.close_of(order.session_date)
        ):
            order.status = "expired"
            order.expired_at = engine.now
            if order.order_class == "mleg":  # a combo's legs expire with it, unreported
                for leg in order.legs:
                    leg.status, leg.expired_at, leg.updated_at = "expired", engine.now, engine.now
            engine.emit("expired", order)
            if order.parent_id is None:
                for leg in order.legs:
                    engine.cancel_one(leg)
            else:
                for leg in engine.orders[order.parent_id].legs:
                    engine.cancel_one(leg)


def opening(engine: Engine, order: Order) -> datetime:
    assert order.session_date is not None
    return engine.calendar.open_of(order.session_date)


def fill_price(engine: Engine, order: Order, bar: Bar, when: datetime) -> float | None:
    buy = order.side == "buy"
    if order.time_in_force == "opg":
        limit = order.limit_price if order.type == "limit" else None
        return timeinforce.opg_price(engine.fill, buy, limit, bar)
    if order.time_in_force == "cls":
        assert order.session_date is not None
        over = when >= engine.calendar.close_of(order.session_date)
        price = ordertypes.close_price(order, bar, when, over)
        if price is None or order.type == "market":
            return price
        assert order.limit_price is not None  # a limit-on-close: the close within the limit
        within = price <= order.limit_price if buy else price >= order.limit_price
        return price if within else None
    if order.type == "market":
        return engine.fill.market(buy, bar)
    if order.type == "trailing_stop":
        return ordertypes.trailing_price(engine.fill, order, bar)
    if order.type == "limit":
        assert order.limit_price is not None
        return engine.fill.limit(buy, bar, order.limit_price)
    if order.type == "stop":
        assert order.stop_price is not None
        return engine.fill.stop(buy, bar, order.stop_price)
    assert order.limit_price is not None and order.stop_price is not None
    if order.triggered:
        return engine.fill.limit(buy, bar, order.limit_price)
    triggered, price = engine.fill.stop_limit(buy, bar, order.stop_price, order.limit_price)
    order.triggered = triggered
    return price


def match(engine: Engine, order: Order, when: datetime, bar: Bar) -> None:
    price = fill_price(engine, order, bar, when)
    if price is None:
        return
    if order.time_in_force == "cls" and order.annotated_at is not None:
        when = order.annotated_at  # filled at the close of the session's last bar
    if order.notional is not None and order.filled_qty <= EPS:
        order.qty = ordertypes.notional_qty(order.notional, price)
    qty = engine.fill.quantity(order.remaining, bar.volume)
    qty = timeinforce.fillable(order.time_in_force, qty, order.remaining)  # fok: all or none
    if qty <= EPS:
        return
    fill(engine, order, qty, price, when)


def book(engine: Engine, order: Order, qty: float, price: float, when: datetime) -> bool:
    """Book one execution of `order` into cash, its position, the order and the fills list
    (an option's commission and regulatory fees are the venue's option costs, the fees kept
    by name: `ORF`, `OCC`, `TAF`); True when it completed the order."""
    instrument = instrument_for(order.symbol)
    sell = order.side == "sell"
    fees: dict[str, float] = {}  # regulatory fees by name: FEE activities of their own
    if instrument.asset_class == "option" and engine.options is not None and engine.options.charges:
        costs = engine.options.costs
        commission = costs.commission(int(qty), price)
        fees = costs.fee_parts(-int(qty) if sell else int(qty))
    else:
        commission = engine.fill.commission(  # the minimum once per order; limits: maker
            qty,
            price,
            prior_qty=order.filled_qty,
            prior_notional=order.filled_notional,
            instrument=instrument,
            sell=sell,
            maker=order.type == "limit",
        )
    cash = qty * price * instrument.multiplier  # a premium is paid per contract x 100
    # fees reported daily are charged at the session's close (`settlement.charge_daily_fees`)
    paid = (
        sum(fees.values())
        if engine.options is None or engine.options.fee_report == "per_fill"
        else 0.0
    )
    engine.cash += (cash if sell else -cash) - commission - paid
    add_position(engine.positions, order.symbol, -qty if sell else qty, price)
    order.filled_qty += qty
    order.filled_notional += qty * price
    done = order.remaining <= EPS
    order.status = "filled" if done else "partially_filled"
    if done:
        order.filled_at = when  # the fill happened at the open/touch of the bar at `when`
    engine.fills.append(
        {
            "order_id": order.id,
            "client_order_id": order.client_order_id,
            "symbol": order.symbol,
            "side": order.side,
            "qty": qty,
            "price": price,
            "commission": commission,
            "time": when.replace(tzinfo=None).isoformat(),
            **({"fees": fees} if fees else {}),
        }
    )
    return done


def add_position(positions: dict[str, Position], symbol: str, qty: float, price: float) -> None:
    """Add signed `qty` at `price` to `symbol`'s position: an increase averages the price in, a
    reduction keeps the average, a flip starts at `price`."""
    position = positions.get(symbol)
    if position is None:
        positions[symbol] = Position(qty, price)
        return
    total = position.qty + qty
    if abs(total) <= EPS:
        del positions[symbol]
    elif (position.qty > 0) == (qty > 0):
        position.avg_price = (position.qty * position.avg_price + qty * price) / total
        position.qty = total
    else:
        position.avg_price = position.avg_price if (total > 0) == (position.qty > 0) else price
        position.qty = total


def fill(engine: Engine, order: Order, qty: float, price: float, when: datetime) -> None:
    """Book one execution and send its trade update; a bracket's or pair's legs follow."""
    done = book(engine, order, qty, price, when)
    held = engine.positions.get(order.symbol)
    engine.emit(
        "fill" if done else "partial_fill",
        order,
        at=when,
        price=price,
        qty=qty,
        position_qty=held.qty if held else 0.0,
        execution_id=str(uuid.uuid4()),
    )
    if done and order.legs and order.order_class == "oco":
        for leg in order.legs:
            engine.cancel_one(leg)
    elif done and order.legs:
        activate_legs(engine, order, when)
    if done and order.parent_id is not None:
        parent = engine.orders[order.parent_id]
        if parent.order_class == "oco":
            engine.cancel_one(parent)
        for leg in parent.legs:
            if leg is not order:
                engine.cancel_one(leg)


def activate_legs(engine: Engine, parent: Order, when: datetime) -> None:
    """After the parent filled at the bar starting `when`, its legs work from the next bar."""
    for leg in parent.legs:
        if leg.status != "held":
            continue
        leg.qty = parent.filled_qty
        leg.fillable_from = when + timedelta(microseconds=1)
        if leg.time_in_force == "day":
            leg.session_date = engine.calendar.session_date_for(engine.now)
        engine.emit("new", engine.set_status(leg, "new"))
