"""JSON shapes of the Alpaca API as alpaca-py 0.44 parses them: decimals as strings, UUID ids,
RFC 3339 UTC times with `Z`, the Asset key `class`, calendar times as `HH:MM`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from parity.venue import crypto
from parity.venue.assets import asset_class, multiplier
from parity.venue.clock import MarketCalendar, rfc3339
from parity.venue.orders import asset_id

if TYPE_CHECKING:
    from parity.venue.engine import Engine
    from parity.venue.orders import Order, TradeEvent

ACCOUNT_ID = "5d1ba0b4-5c6b-4bd1-9a5e-2f0b7c3d9e01"
EXCHANGE = "NYSE"


def exchange(symbol: str) -> str:
    """The Asset's exchange: `CRYPTO` for a pair, else the replay's NYSE."""
    return "CRYPTO" if crypto.is_crypto(symbol) else EXCHANGE


def decimal(value: float) -> str:
    """A float as Alpaca's decimal string: integers without `.0`, others round-tripping exactly."""
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text


def _opt(value: float | None) -> str | None:
    return None if value is None else decimal(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else rfc3339(value)


def order_json(order: Order) -> dict[str, Any]:
    """The Order object (legs nested)."""
    intent = order.position_intent
    if intent is None and order.side == "buy":
        intent = "buy_to_open"
    elif intent is None and order.side == "sell":
        intent = "sell_to_close"
    extra: dict[str, Any] = {"reject_reason": order.reject_reason} if order.reject_reason else {}
    if order.ratio_qty is not None:  # an `mleg` leg
        extra["ratio_qty"] = decimal(order.ratio_qty)
    combo = order.order_class == "mleg" and order.parent_id is None  # no symbol, side or class
    return {
        **extra,  # a parity extension: Alpaca's order object carries no reason
        "id": order.id,
        "client_order_id": order.client_order_id,
        "created_at": rfc3339(order.created_at),
        "updated_at": rfc3339(order.updated_at or order.created_at),
        "submitted_at": rfc3339(order.created_at),
        "filled_at": _time(order.filled_at),
        "expired_at": _time(order.expired_at),
        "expires_at": None,
        "canceled_at": _time(order.canceled_at),
        "failed_at": _time(order.failed_at),
        "replaced_at": _time(order.replaced_at),
        "replaced_by": order.replaced_by,
        "replaces": order.replaces,
        "asset_id": "" if combo else asset_id(order.symbol),
        "symbol": order.symbol,
        "asset_class": "" if combo else asset_class(order.symbol),
        "notional": _opt(order.notional),
        "qty": decimal(order.qty) if order.notional is None or order.filled_qty else None,
        "filled_qty": decimal(order.filled_qty),
        "filled_avg_price": _opt(order.filled_avg_price),
        "order_class": order.order_class,
        "order_type": order.type,
        "type": order.type,
        "side": order.side,
        "position_intent": None if combo else intent,
        "time_in_force": order.time_in_force,
        "limit_price": _opt(order.limit_price),
        "stop_price": _opt(order.stop_price),
        "status": order.status,
        "extended_hours": order.extended_hours,
        "legs": [order_json(leg) for leg in order.legs] if order.legs else None,
        "trail_percent": _opt(order.trail_percent),
        "trail_price": _opt(order.trail_price),
        "hwm": _opt(order.hwm),
        "subtag": None,
        "source": None,
    }


def trade_update_json(event: TradeEvent) -> dict[str, Any]:
    """One `trade_updates` message."""
    data: dict[str, Any] = {
        "event": event.event,
        "timestamp": rfc3339(event.timestamp),
        "order": event.order_json,
    }
    if event.execution_id is not None:
        data["execution_id"] = event.execution_id
    for key in ("price", "qty", "position_qty"):
        value = getattr(event, key)
        if value is not None:
            data[key] = decimal(value)
    if event.legs is not None:  # an `mleg` fill: executions per leg and the legs' positions
        data["order"] = {**event.order_json, "side": "buy"}  # the stream's parent shows "buy"
        data["legs"] = [
            {**leg, "qty": decimal(leg["qty"]), "price": decimal(leg["price"]),
             "timestamp": rfc3339(leg["timestamp"])}
            for leg in event.legs
        ]  # fmt: skip
        data["position_qtys"] = {s: decimal(q) for s, q in (event.position_qtys or {}).items()}
    return {"stream": "trade_updates", "data": data}


def account_json(engine: Engine) -> dict[str, Any]:
    """The TradeAccount object."""
    cash = engine.cash
    equity = engine.equity()
    long_value = equity - cash
    power = decimal(engine.buying_power())
    text = decimal
    return {
        "id": ACCOUNT_ID,
        "account_number": "PA0PARITY01",
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "currency": "USD",
        "cash": text(cash),
        "buying_power": power,
        "regt_buying_power": power,
        "daytrading_buying_power": "0",
        "non_marginable_buying_power": power,
        "options_buying_power": power,
        "equity": text(equity),
        "last_equity": text(engine.last_equity),
        "portfolio_value": text(equity),
        "long_market_value": text(long_value),
        "short_market_value": "0",
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "multiplier": "1",
        "shorting_enabled": False,
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "created_at": "2010-01-04T14:30:00Z",
        "daytrade_count": 0,
        "options_approved_level": 3,  # Alpaca paper's default: spreads (mleg) allowed
        "options_trading_level": 3,
    }


def position_json(engine: Engine, symbol: str) -> dict[str, Any]:
    """The Position object of `symbol` (must be held)."""
    position = engine.positions[symbol]
    price = engine.last_price.get(symbol, position.avg_price)
    value = position.qty * price * multiplier(symbol)
    basis = position.qty * position.avg_price * multiplier(symbol)
    pnl = value - basis
    held = engine.held_for_orders(symbol)
    return {
        "asset_id": asset_id(symbol),
        "symbol": crypto.position_symbol(symbol),
        "exchange": exchange(symbol),
        "asset_class": asset_class(symbol),
        "asset_marginable": False,
        "qty": decimal(position.qty),
        "qty_available": decimal(max(position.qty - held, 0.0)),
        "avg_entry_price": decimal(position.avg_price),
        "side": "long" if position.qty >= 0 else "short",
        "market_value": decimal(value),
        "cost_basis": decimal(basis),
        "unrealized_pl": decimal(pnl),
        "unrealized_plpc": decimal(pnl / basis if basis else 0.0),
        "unrealized_intraday_pl": decimal(pnl),
        "unrealized_intraday_plpc": decimal(pnl / basis if basis else 0.0),
        "current_price": decimal(price),
        "lastday_price": decimal(price),
        "change_today": "0",
    }


def asset_json(symbol: str) -> dict[str, Any]:
    """The Asset object."""
    return {
        "id": asset_id(symbol),
        "class": asset_class(symbol),
        "exchange": exchange(symbol),
        "symbol": symbol,
        "name": f"{symbol} (parity venue replay)",
        "status": "active",
        "tradable": True,
        "marginable": False,
        "shortable": False,
        "easy_to_borrow": False,
        "fractionable": True,
        "maintenance_margin_requirement": 100.0,
        "attributes": [],
    }


_EXTENDED_HOURS = {"XNYS": ("04:00", "20:00")}  # pre- and post-market, where Alpaca trades them


def clock_json(calendar: MarketCalendar, now: datetime) -> dict[str, Any]:
    """The Clock object; times with the offset of the calendar's zone."""
    return {
        "timestamp": now.isoformat(timespec="microseconds"),
        "is_open": calendar.is_open(now),
        "next_open": calendar.next_open(now).isoformat(),
        "next_close": calendar.next_close(now).isoformat(),
    }


def calendar_json(day: date, calendar: MarketCalendar) -> dict[str, Any]:
    """One Calendar entry: the regular session's hours on the exchange's clock, and the
    extended session Alpaca names (04:00-20:00 in New York; the regular one elsewhere)."""
    open_, close = (moment.strftime("%H:%M") for moment in calendar.hours(day))
    extended = _EXTENDED_HOURS.get(calendar.exchange.name, (open_, close))
    return {
        "date": day.isoformat(),
        "open": open_,
        "close": close,
        "session_open": extended[0].replace(":", ""),
        "session_close": extended[1].replace(":", ""),
        "settlement_date": (day + timedelta(days=2)).isoformat(),
    }
