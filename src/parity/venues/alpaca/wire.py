"""alpaca-py's objects as parity's plain values, and parity's order requests as alpaca-py's."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from parity.venues.types import (
    OrderRejected,
    OrderRequest,
    OrderSnapshot,
)

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
log = logging.getLogger("parity.alpaca")


def _f(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _local(value: dt.datetime | None, zone: ZoneInfo = NY) -> dt.datetime | None:
    """An aware (or naive UTC) time as naive wall-clock time in `zone` (the run's bar labels:
    New York for US listings, UTC for crypto pairs)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).replace(tzinfo=None)


# the quote currencies of Alpaca's crypto pairs, to read a position's `BTCUSD` as `BTC/USD`
# (Alpaca drops the slash there only; no library maps one form to the other)
CRYPTO_QUOTES = ("USDT", "USDC", "USD", "BTC")


def _pair(symbol: str, asset_class: str) -> str:
    """`BTC/USD` for a crypto position reported as `BTCUSD`; other symbols unchanged."""
    if asset_class != "crypto" or "/" in symbol:
        return symbol
    quote = next((q for q in CRYPTO_QUOTES if symbol.endswith(q) and len(symbol) > len(q)), None)
    return f"{symbol[: -len(quote)]}/{quote}" if quote else symbol


def _enum(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def snapshot(order: Any, zone: ZoneInfo = NY) -> OrderSnapshot:
    """alpaca-py `Order` → `OrderSnapshot` (times as naive wall-clock times in `zone`)."""
    return OrderSnapshot(
        id=str(order.id),
        client_order_id=order.client_order_id,
        symbol=order.symbol or "",
        side=_enum(order.side),
        type=_enum(order.type or order.order_type),
        status=_enum(order.status),
        qty=float(order.qty or 0),
        filled_qty=float(order.filled_qty or 0),
        filled_avg_price=_f(order.filled_avg_price),
        limit_price=_f(order.limit_price),
        stop_price=_f(order.stop_price),
        order_class=_enum(order.order_class) or "simple",
        legs=tuple(snapshot(leg, zone) for leg in (order.legs or ())),
        replaces=str(order.replaces) if order.replaces else None,
        updated_at=_local(order.updated_at, zone),
        filled_at=_local(order.filled_at, zone),
    )


def _api_message(exc: Any) -> str:
    try:
        return str(exc.message)
    except Exception:  # body was not JSON
        return " ".join(str(exc).split())[:200]


def _api_code(exc: Any) -> int | None:
    try:
        return int(exc.code)
    except Exception:  # body without a code
        return None


def _order_request(request: OrderRequest) -> Any:
    from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
    from alpaca.trading.requests import (
        LimitOrderRequest,
        MarketOrderRequest,
        StopLimitOrderRequest,
        StopLossRequest,
        StopOrderRequest,
        TakeProfitRequest,
        TrailingStopOrderRequest,
    )

    if request.order_class == "mleg":
        return _mleg_request(request)
    amount = {"notional": request.notional} if request.notional is not None else {}
    common: dict[str, Any] = {
        "symbol": request.symbol,
        **(amount or {"qty": request.qty}),
        "side": OrderSide(request.side),
        "time_in_force": TimeInForce(request.time_in_force),
        "client_order_id": request.client_order_id,
    }
    if request.position_intent is not None:
        from alpaca.trading.enums import PositionIntent

        common["position_intent"] = PositionIntent(request.position_intent)
    if request.order_class != "simple":
        common["order_class"] = OrderClass(request.order_class)
    if request.take_profit is not None:
        common["take_profit"] = TakeProfitRequest(limit_price=request.take_profit)
    if request.stop_loss is not None:
        common["stop_loss"] = StopLossRequest(
            stop_price=request.stop_loss, limit_price=request.stop_loss_limit
        )
    kinds: dict[str, Callable[[], Any]] = {
        "market": lambda: MarketOrderRequest(**common),
        "limit": lambda: LimitOrderRequest(limit_price=request.limit_price, **common),
        "stop": lambda: StopOrderRequest(stop_price=request.stop_price, **common),
        "stop_limit": lambda: StopLimitOrderRequest(
            stop_price=request.stop_price, limit_price=request.limit_price, **common
        ),
        "trailing_stop": lambda: TrailingStopOrderRequest(
            trail_price=request.trail_price, trail_percent=request.trail_percent, **common
        ),
    }
    if request.type not in kinds:
        raise OrderRejected(f"order type {request.type} is not supported", status=422)
    return kinds[request.type]()


def _mleg_request(request: OrderRequest) -> Any:
    """A multi-leg option order (`alpaca-options-protocol.md` 4.2): no parent symbol or side,
    2-4 `OptionLegRequest`s with `ratio_qty`, `limit_price` + debit / - credit."""
    from alpaca.trading.enums import OrderClass, OrderSide, PositionIntent, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, OptionLegRequest

    legs = [
        OptionLegRequest(
            symbol=symbol,
            ratio_qty=ratio,
            side=OrderSide(side),
            position_intent=PositionIntent(intent),
        )
        for symbol, ratio, side, intent in request.legs
    ]
    common: dict[str, Any] = {
        "qty": request.qty,
        "time_in_force": TimeInForce(request.time_in_force),
        "client_order_id": request.client_order_id,
        "order_class": OrderClass.MLEG,
        "legs": legs,
    }
    if request.type == "limit":
        return LimitOrderRequest(limit_price=request.limit_price, **common)
    return MarketOrderRequest(**common)
