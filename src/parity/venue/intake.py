"""Order intake of the local venue's engine: a `POST /v2/orders` body checked against Alpaca's
rules (types, time in force, prices, classes, crypto and option rules) and built into an
`Order`, legs attached (split out of `engine.py`; pure logic, no I/O)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from parity.venue import combos, crypto, ordertypes, timeinforce
from parity.venue.options import is_option_symbol, option_refusal
from parity.venue.orders import Order, VenueError, invalid
from parity.venue.orders import number as _number

if TYPE_CHECKING:
    from parity.venue.engine import Engine

ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"})
TIME_IN_FORCE = frozenset({"day", "gtc", "cls", "opg", "ioc", "fok"})
ORDER_CLASSES = frozenset({"simple", "bracket", "oco", "oto"})


def build(engine: Engine, body: Mapping[str, Any]) -> Order:
    if str(body.get("order_class") or "") == "mleg" and engine.options is not None:
        cid = str(body.get("client_order_id") or uuid.uuid4())
        if cid in engine.by_client_id:
            raise invalid("client_order_id must be unique")
        return combos.build_combo(engine, body, cid)
    symbol = str(body.get("symbol") or "").upper()
    option = engine.options is not None and is_option_symbol(symbol)
    if symbol not in engine.symbols and not option:
        raise invalid(f"asset {symbol!r} not found" if symbol else "symbol is required")
    intent = check_option(engine, symbol, body) if option else None
    qty, notional = _number(body, "qty"), _number(body, "notional")
    if (qty is None) == (notional is None):
        raise invalid("exactly one of qty or notional is required")
    if (qty is not None and qty <= 0) or (notional is not None and notional <= 0):
        raise invalid("qty must be > 0" if notional is None else "notional must be > 0")
    side = str(body.get("side") or "")
    if side not in ("buy", "sell"):
        raise invalid(f"invalid side: {side!r}")
    kind = str(body.get("type") or body.get("order_type") or "")
    if kind not in ORDER_TYPES:
        raise invalid(f"invalid order type: {kind!r}")
    tif = str(body.get("time_in_force") or "")
    if tif not in TIME_IN_FORCE:
        raise invalid("invalid time_in_force")
    limit, stop = _number(body, "limit_price"), _number(body, "stop_price")
    check_prices(kind, limit, stop)
    cid = str(body.get("client_order_id") or uuid.uuid4())
    if cid in engine.by_client_id:
        raise invalid("client_order_id must be unique")
    order_class = str(body.get("order_class") or "simple")
    if order_class not in ORDER_CLASSES:
        raise invalid(f"order_class {order_class!r} is not supported")
    coin = crypto.refusal(symbol, tif, kind, order_class)
    if coin is not None:
        raise VenueError(422, *coin)
    refused = timeinforce.refusal(tif, kind, order_class, engine.now, engine.calendar)
    if refused is not None:
        raise invalid(refused)
    fractional = notional is not None or not float(qty or 0).is_integer()
    shares = not crypto.is_crypto(symbol)  # a coin is fractional in any time in force
    if (
        shares
        and fractional
        and (tif != "day" or order_class != "simple" or kind == "trailing_stop")
    ):
        raise invalid("fractional orders must be simple DAY orders (not trailing stops)")
    if notional is not None and kind != "market":
        raise invalid("notional orders must be market orders")
    if tif == "cls" and kind not in ("market", "limit"):
        raise invalid("cls orders must be market or limit orders")
    order = Order(
        id=str(uuid.uuid4()),
        client_order_id=cid,
        symbol=symbol,
        side=side,
        type=kind,
        time_in_force=tif,
        qty=qty or 0.0,
        notional=notional,
        created_at=engine.now,
        updated_at=engine.now,
        fillable_from=engine.fill.fillable_from(engine.now),
        limit_price=limit,
        stop_price=stop,
        order_class=order_class,
        extended_hours=bool(body.get("extended_hours") or False),
        position_intent=intent,
    )
    if tif in ("day", "cls"):
        order.session_date = engine.calendar.session_date_for(engine.now)
    if tif == "opg":  # the session whose opening auction it is for
        order.session_date = timeinforce.opening_session(engine.now, engine.calendar)
    if kind == "trailing_stop":
        ordertypes.check_trailing(order, body, engine.last_price.get(symbol))
    if tif == "cls":  # submitted with no regular bar left: the last close is the close
        order.annotated_close = engine.last_price.get(symbol)
    if order_class == "bracket":
        attach_legs(engine, order, body)
    elif order_class in ("oco", "oto"):
        order.legs.append(ordertypes.exit_leg(order, body, held=order_class == "oto"))
    if order_class in ("oco", "bracket") and cid in engine.leg_first_ids:
        engine.leg_first_ids.discard(cid)
        order.leg_first = True
    return order


def check_option(engine: Engine, symbol: str, body: Mapping[str, Any]) -> str | None:
    """Alpaca's option rules, and a contract listed now (its quote marks it until the
    next step quotes it again)."""
    assert engine.options is not None
    refused = option_refusal(body, engine.options.tifs)
    if refused is not None:
        raise refused
    if str(body.get("order_class") or "simple") != "simple":
        raise VenueError(
            422, 42210000, "option orders are simple or mleg (order_class), not bracket/oco/oto"
        )
    quote = engine.options.quote(symbol, engine.calendar.naive(engine.now))
    if quote is None:
        raise VenueError(422, 42210000, f"invalid symbol: {symbol} is not listed now")
    side, intent = combos.side_of(body, "the order")
    if symbol not in engine.positions:
        engine.last_price[symbol] = quote.ask if side == "buy" else quote.bid
    return intent


def check_prices(kind: str, limit: float | None, stop: float | None) -> None:
    if kind in ("market", "trailing_stop") and (limit is not None or stop is not None):
        raise invalid(f"{kind} orders require no stop or limit price")
    if kind in ("limit", "stop_limit") and limit is None:
        raise invalid(f"{kind} orders require a limit price")
    if kind in ("stop", "stop_limit") and stop is None:
        raise invalid(f"{kind} orders require a stop price")
    if kind == "limit" and stop is not None:
        raise invalid("limit orders require no stop price")
    if kind == "stop" and limit is not None:
        raise invalid("stop orders require no limit price")
    if limit is not None and limit <= 0:
        raise invalid("limit price must be > 0")
    if stop is not None and stop <= 0:
        raise invalid("stop price must be > 0")


def attach_legs(engine: Engine, parent: Order, body: Mapping[str, Any]) -> None:
    take = body.get("take_profit") or {}
    loss = body.get("stop_loss") or {}
    if not isinstance(take, Mapping) or not isinstance(loss, Mapping):
        raise invalid("take_profit and stop_loss must be objects")
    tp = _number(take, "limit_price")
    sl = _number(loss, "stop_price")
    sl_limit = _number(loss, "limit_price")
    if tp is None or sl is None:
        raise invalid("bracket orders require take_profit.limit_price and stop_loss.stop_price")
    if parent.type not in ("market", "limit"):
        raise invalid("bracket orders must be market or limit orders")
    if tp <= 0 or sl <= 0:
        raise invalid("take_profit and stop_loss prices must be > 0")
    if (parent.side == "buy" and tp <= sl) or (parent.side == "sell" and tp >= sl):
        raise invalid("take_profit.limit_price must be on the profit side of stop_loss")
    leg_side = "sell" if parent.side == "buy" else "buy"
    for kind, limit, stop in (
        ("limit", tp, None),
        ("stop_limit" if sl_limit is not None else "stop", sl_limit, sl),
    ):
        parent.legs.append(
            Order(
                id=str(uuid.uuid4()),
                client_order_id=str(uuid.uuid4()),
                symbol=parent.symbol,
                side=leg_side,
                type=kind,
                time_in_force=parent.time_in_force,
                qty=parent.qty,
                created_at=engine.now,
                updated_at=engine.now,
                fillable_from=engine.now,
                limit_price=limit,
                stop_price=stop,
                order_class="bracket",
                status="held",
                parent_id=parent.id,
            )
        )
