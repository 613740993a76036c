"""The local venue's order book vocabulary: its `Order`, `Position` and `TradeEvent` records,
its refusal (`VenueError`, `invalid`), stable asset ids and request-body numbers. The matching
engine (`engine.py`), the order types (`ordertypes.py`) and the JSON shapes (`models.py`) all
build on it, so none of them needs to import another back."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

OPEN_STATUSES = frozenset({"new", "accepted", "partially_filled", "held", "pending_new"})
EPS = 1e-9
ASSET_NAMESPACE = uuid.UUID("6f1c1a52-3c43-4d0e-9a8e-5f0a4c2b7d11")


def asset_id(symbol: str) -> str:
    """A stable UUID for a symbol."""
    return str(uuid.uuid5(ASSET_NAMESPACE, symbol))


class VenueError(Exception):
    """A refused request: HTTP `status`, Alpaca error `code`, `message`, extra body fields."""

    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"code": self.code, "message": self.message, **self.extra}


def invalid(message: str) -> VenueError:
    """422 40010001, Alpaca's "invalid order" error."""
    return VenueError(422, 40010001, message)


@dataclass(eq=False)
class Order:
    """One order (a bracket's legs are `Order`s too, with `parent_id` set)."""

    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: float
    created_at: datetime
    fillable_from: datetime
    limit_price: float | None = None
    stop_price: float | None = None
    order_class: str = "simple"
    status: str = "accepted"
    updated_at: datetime | None = None
    filled_qty: float = 0.0
    filled_notional: float = 0.0
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    legs: list[Order] = field(default_factory=list)
    parent_id: str | None = None
    triggered: bool = False
    session_date: date | None = None
    extended_hours: bool = False
    reject_reason: str | None = None  # the venue's message for a rejected order
    notional: float | None = None  # a dollar amount instead of a quantity (market day orders)
    trail_price: float | None = None
    trail_percent: float | None = None
    hwm: float | None = None  # a trailing stop's high-water mark (low-water for a buy)
    annotated_close: float | None = None  # a `cls` order: the session's last regular close
    annotated_at: datetime | None = None  # ... and the start of the bar it closed
    leg_first: bool = False  # an `oco` pair whose stop leg was placed first: matched first
    position_intent: str | None = None  # an option order's (or leg's) buy/sell_to_open/close
    ratio_qty: float | None = None  # an `mleg` leg's contracts per unit of its parent
    requirement: float | None = None  # an option order's buying power at submission (dollars)

    @property
    def remaining(self) -> float:
        return max(self.qty - self.filled_qty, 0.0)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def filled_avg_price(self) -> float | None:
        return self.filled_notional / self.filled_qty if self.filled_qty > EPS else None

    @property
    def reference_price(self) -> float | None:
        return self.limit_price if self.type in ("limit", "stop_limit") else None


@dataclass
class Position:
    """A long position: quantity and average entry price."""

    qty: float
    avg_price: float


@dataclass(frozen=True)
class TradeEvent:
    """A trade update waiting to be sent: the order as it was at the event."""

    event: str
    order: Order
    order_json: dict[str, Any]
    timestamp: datetime
    price: float | None = None
    qty: float | None = None
    position_qty: float | None = None
    execution_id: str | None = None
    legs: tuple[dict[str, Any], ...] | None = None  # an `mleg` fill's executions per leg
    position_qtys: dict[str, float] | None = None  # ... and the legs' positions after it


def number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(f"{key} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise invalid(f"{key} must be finite")
    return number
