"""Plain values a venue's client hands to the broker and the feeds (no alpaca-py types leak out),
and the errors every venue's client raises for an order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from parity.errors import BrokerError


@dataclass(frozen=True)
class StreamBar:
    """One bar as received; `start` is the naive bar-start label in the exchange's zone."""

    symbol: str
    start: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    received_at: float = 0.0  # wall-clock epoch seconds when it arrived
    source: str = "stream"  # stream | history | refill


@dataclass(frozen=True)
class OrderSnapshot:
    """The venue's view of one order, from REST or a trade update."""

    id: str
    client_order_id: str
    symbol: str
    side: str  # buy | sell
    type: str  # market | limit | stop | stop_limit | trailing_stop
    status: str
    qty: float
    filled_qty: float
    filled_avg_price: float | None
    limit_price: float | None = None
    stop_price: float | None = None
    order_class: str = "simple"
    legs: tuple[OrderSnapshot, ...] = ()
    replaces: str | None = None
    updated_at: dt.datetime | None = None
    filled_at: dt.datetime | None = None


@dataclass(frozen=True)
class TradeEvent:
    """A trade update: `event` (new, partial_fill, fill, canceled, ...) and the order after it."""

    event: str
    order: OrderSnapshot
    timestamp: dt.datetime  # naive, in the run exchange's zone
    price: float | None = None
    qty: float | None = None


@dataclass(frozen=True)
class AccountInfo:
    status: str
    cash: float
    equity: float
    buying_power: float
    currency: str = "USD"
    blocked: bool = False


@dataclass(frozen=True)
class ClockInfo:
    timestamp: dt.datetime  # naive, in the run exchange's zone
    is_open: bool
    next_open: dt.datetime | None
    next_close: dt.datetime | None


@dataclass(frozen=True)
class AssetInfo:
    symbol: str
    tradable: bool
    shortable: bool
    status: str
    exchange: str


@dataclass(frozen=True)
class PositionInfo:
    symbol: str
    qty: float
    avg_entry_price: float


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """What the broker asks the venue to do: market/limit/stop/stop_limit/trailing_stop, as a
    simple order or of class bracket (both exits), oto (one exit) or oco (a limit exit with a
    `stop_loss` partner)."""

    symbol: str
    side: str
    qty: float
    type: str = "market"
    time_in_force: str = "day"
    limit_price: float | None = None
    stop_price: float | None = None
    client_order_id: str
    take_profit: float | None = None
    stop_loss: float | None = None
    stop_loss_limit: float | None = None
    order_class: str = "simple"
    trail_price: float | None = None
    trail_percent: float | None = None  # in percent, as Alpaca takes it (2.0 = 2 %)
    notional: float | None = None  # a dollar amount instead of `qty` (a market order)
    position_intent: str | None = None  # an option order's: buy_to_open, sell_to_close, ...
    # an `mleg` order's legs: (OCC symbol, ratio_qty, side, position_intent)
    legs: tuple[tuple[str, float, str, str], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


class OrderRejected(BrokerError):
    """The venue refused an order (HTTP 403/422): the reason goes to the strategy's notify_order."""

    def __init__(self, message: str, *, status: int, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class VenueUnavailable(BrokerError):
    """The venue did not answer (connection refused, timeouts, 5xx after retries)."""


class SubmissionUnknown(VenueUnavailable):
    """Neither a submission nor the look-up of its client order id was answered: the venue may
    or may not have the order (look it up again later; never resend it blindly)."""
