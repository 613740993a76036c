"""Alpaca's trailing stops, market-on-close (`cls`) orders, notional orders and the `oco` / `oto`
order classes on the local venue, with Backtrader's fill rules.

- `trailing_stop`: the stop trails the high-water mark (`hwm`, the best price since submission;
  Alpaca keeps it per trade, the replay per bar close) by `trail_price` dollars or
  `trail_percent` percent. As in Backtrader's `StopTrail`, each bar is first matched against the
  stop as it stood, then the mark moves with the bar's close.
- `cls`: fills at the official close, the close of the session's last regular-hours bar, once
  the session is over (as the backtest's `Close`: its US intraday feeds end the session at 16:00).
- `oco`: an exit pair, a limit (the order itself) and a stop or stop-limit leg, both working at
  once; the first to fill cancels the other. `oto`: an entry and one exit leg, held until the
  entry fills (the bracket with one leg).
- `notional`: a market day order for a dollar amount; the quantity is set at the fill.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from parity.engine.fills import Bar, notional_quantity
from parity.venue.orders import Order, invalid
from parity.venue.orders import number as _number

if TYPE_CHECKING:
    from parity.engine.fills import FillModel


def number(body: Mapping[str, Any], key: str) -> float | None:
    """A decimal field of a request body (string or number), `None` when absent."""
    return _number(body, key)


def check_trailing(order: Order, body: Mapping[str, Any], last_price: float | None) -> None:
    """Read `trail_price` / `trail_percent` (exactly one) and start the mark at the last price."""
    price, percent = number(body, "trail_price"), number(body, "trail_percent")
    if (price is None) == (percent is None):
        raise invalid("trailing_stop orders require exactly one of trail_price or trail_percent")
    if (price is not None and price <= 0) or (percent is not None and percent <= 0):
        raise invalid("trail_price and trail_percent must be > 0")
    if last_price is None:
        raise invalid("trailing_stop orders need a last price: no bar has traded yet")
    order.trail_price, order.trail_percent = price, percent
    order.hwm = last_price
    order.stop_price = trailing_stop(order)


def trailing_stop(order: Order) -> float:
    """The stop price the mark implies (Backtrader's `Order.trailadjust` arithmetic)."""
    assert order.hwm is not None
    if order.trail_price is not None:
        amount = order.trail_price
    else:
        assert order.trail_percent is not None
        amount = order.hwm * (order.trail_percent / 100.0)
    return order.hwm - amount if order.side == "sell" else order.hwm + amount


def replace_trail(old: Order, new: Order, trail: float | None) -> None:
    """`PATCH` of a trailing stop: `trail` is the new distance in the order's own unit (dollars
    or percent); the high-water mark carries over."""
    if trail is not None and trail <= 0:
        raise invalid("trail must be > 0")
    new.trail_price, new.trail_percent, new.hwm = old.trail_price, old.trail_percent, old.hwm
    if trail is not None and new.trail_price is not None:
        new.trail_price = trail
    elif trail is not None:
        new.trail_percent = trail
    new.stop_price = trailing_stop(new)


def trailing_price(fill: FillModel, order: Order, bar: Bar) -> float | None:
    """Match against the current stop; if it holds, move the mark with the close."""
    assert order.stop_price is not None and order.hwm is not None
    price = fill.stop(order.side == "buy", bar, order.stop_price)
    if price is not None:
        return price
    better = bar.close > order.hwm if order.side == "sell" else bar.close < order.hwm
    if better:
        order.hwm = bar.close
        order.stop_price = trailing_stop(order)
    return None


def close_price(order: Order, bar: Bar, when: datetime, session_over: bool) -> float | None:
    """A `cls` order: remember each regular-hours bar's close; fill once the session is over."""
    if not session_over:
        order.annotated_close, order.annotated_at = bar.close, when
        return None
    return order.annotated_close if order.annotated_close is not None else bar.close


def exit_leg(parent: Order, body: Mapping[str, Any], *, held: bool) -> Order:
    """The one leg of an `oco` (a stop exit beside the limit) or `oto` (either exit, held)."""
    take = body.get("take_profit") or {}
    loss = body.get("stop_loss") or {}
    if not isinstance(take, Mapping) or not isinstance(loss, Mapping):
        raise invalid("take_profit and stop_loss must be objects")
    tp, sl = number(take, "limit_price"), number(loss, "stop_price")
    sl_limit = number(loss, "limit_price")
    limit: float | None
    stop: float | None
    if parent.order_class == "oco":
        if parent.type != "limit" or tp is None or sl is None:
            raise invalid("oco orders must be limit orders with take_profit and stop_loss")
        if tp != parent.limit_price:
            raise invalid("oco take_profit.limit_price must equal the order's limit_price")
        side, kind, limit, stop = parent.side, "stop", None, sl
    else:
        if (tp is None) == (sl is None):
            raise invalid("oto orders require exactly one of take_profit or stop_loss")
        if parent.type not in ("market", "limit", "stop", "stop_limit"):
            raise invalid("oto orders must be market, limit, stop or stop_limit orders")
        side = "sell" if parent.side == "buy" else "buy"
        kind, limit, stop = ("limit", tp, None) if tp is not None else ("stop", None, sl)
    if sl is not None and kind == "stop" and sl_limit is not None:
        kind, limit = "stop_limit", sl_limit
    for value in (limit, stop):
        if value is not None and value <= 0:
            raise invalid("take_profit and stop_loss prices must be > 0")
    return Order(
        id=str(uuid.uuid4()),
        client_order_id=str(uuid.uuid4()),
        symbol=parent.symbol,
        side=side,
        type=kind,
        time_in_force=parent.time_in_force,
        qty=parent.qty,
        created_at=parent.created_at,
        updated_at=parent.updated_at,
        fillable_from=parent.fillable_from,
        limit_price=limit,
        stop_price=stop,
        order_class=parent.order_class,
        status="held" if held else "new",
        parent_id=parent.id,
    )


def notional_qty(notional: float, price: float) -> float:
    """The fractional quantity a dollar amount buys at `price` (Alpaca: 9 decimals, down), as
    the sim broker sizes it (`engine.fills.notional_quantity`)."""
    return notional_quantity(notional, price)
