"""Backtrader orders as Alpaca requests: the one table of what maps and what is refused.

| Backtrader                          | Alpaca                                             |
|-------------------------------------|----------------------------------------------------|
| Market (or no exectype)             | `market`, `day`                                    |
| Close                               | `market`, `cls` (fills at the official close)      |
| Close decided after 15:50 New York  | refused in both modes: Alpaca's `cls` cut-off      |
| Limit / Stop / StopLimit            | `limit` / `stop` / `stop_limit`, `gtc`             |
| StopTrail (trailamount/trailpercent)| `trailing_stop`, `trail_price` / `trail_percent`   |
| StopTrailLimit                      | refused: Alpaca's trailing stop has no limit       |
| parent + 2 children (buy_bracket)   | `order_class=bracket`                              |
| parent + 1 child                    | `order_class=oto`                                  |
| `oco=` a limit and a stop exit      | `order_class=oco`                                  |
| `oco=` naming a stop placed first   | `oco`, the parity venue told its stop goes first   |
| `valid=` (good till date)           | `gtc`, cancelled by parity when it expires         |
| (none)                              | `ioc`, `fok`, `opg`: no Backtrader order has them   |
| any order on a crypto pair          | `gtc` (Alpaca refuses `day`); Market/Limit/StopLimit |
|                                     | simple orders only, others refused in both modes    |
| Market with `notional=` dollars     | `market`, `day`, `notional` (sized at the fill)     |
| a fractional size (US equity)       | Market only (`day`); other types refused            |

A refusal is a `str`: the one-line reason the order is rejected with.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from typing import Any

import backtrader as bt

from parity.brokers.valid import bar_period
from parity.feeds.currency import is_us_listing
from parity.instruments import instrument_for
from parity.venues.types import OrderRequest

# exectype → (Alpaca type, time in force) or the reason it is refused
ORDER_TYPES: dict[int | None, tuple[str, str] | str] = {
    None: ("market", "day"),
    bt.Order.Market: ("market", "day"),
    bt.Order.Close: ("market", "cls"),
    bt.Order.Limit: ("limit", "gtc"),
    bt.Order.Stop: ("stop", "gtc"),
    bt.Order.StopLimit: ("stop_limit", "gtc"),
    bt.Order.StopTrail: ("trailing_stop", "gtc"),
    bt.Order.StopTrailLimit: "StopTrailLimit is not supported: Alpaca's trailing_stop has no "
    "limit price; use StopTrail",
}
_EXITS = {
    bt.Order.Limit: "take_profit",
    bt.Order.Stop: "stop_loss",
    bt.Order.StopLimit: "stop_loss",
}


# Alpaca refuses `cls` orders sent after 15:50 and before 19:00 New York (from 19:00 they are
# for the next session's close)
CLOSE_CUTOFF, CLOSE_REOPENS = dt.time(15, 50), dt.time(19, 0)


def late_close(order: bt.Order) -> str | None:
    """Why a `Close` on a US listing's intraday bars is refused: decided on a bar ending after
    Alpaca's 15:50 cut-off for `cls` orders (and before 19:00). The backtest refuses it too, so
    both modes agree: Backtrader would fill it at the 15:59 close, or, decided on the 15:59 bar
    or later, at the close of whatever bar comes next (after hours or the next session's first),
    which no venue order does."""
    data = order.data
    if order.exectype != bt.Order.Close or data._timeframe >= bt.TimeFrame.Days or not len(data):
        return None
    if not is_us_listing(data._name or ""):
        return None
    end = data.datetime.datetime(0) + bar_period(data)
    if not CLOSE_CUTOFF < end.time() < CLOSE_REOPENS:
        return None
    return (
        f"Close decided at {end:%H:%M} New York is past Alpaca's 15:50 cut-off for "
        "market-on-close (cls) orders: decide it on a bar ending by 15:50"
    )


def order_name(order: bt.Order) -> str:
    return bt.Order.ExecTypes[order.exectype] if order.exectype is not None else "Market"


def request_for(parent: bt.Order, group: list[bt.Order]) -> OrderRequest | str:
    """The request for `parent` and its children (`group[1:]`), or why it is refused."""
    row = ORDER_TYPES.get(parent.exectype, f"order type {order_name(parent)} is not supported")
    if isinstance(row, str):
        return row
    late = alpaca_rules(parent)
    if late is not None:
        return late
    kind, tif = row
    if is_crypto(parent.data._name or ""):
        tif = "gtc"  # Alpaca refuses day crypto orders; a market order fills at once anyway
    created = parent.created
    fields: dict[str, Any] = {}
    if kind == "trailing_stop":
        reason = _trail(parent, fields)
        if reason:
            return reason
    children = group[1:]
    order_class = {0: "simple", 1: "oto", 2: "bracket"}.get(len(children))
    for child in children:
        role = _EXITS.get(child.exectype)
        if role is None or role in fields:
            return (
                f"a {order_name(child)} child order is not supported: Alpaca's bracket/oto "
                "legs are one Limit take-profit and/or one Stop or StopLimit stop-loss"
            )
        if abs(child.created.size) != abs(created.size):
            return "a child order of another size than its parent is not supported by Alpaca"
        fields[role] = child.created.price
        if child.exectype == bt.Order.StopLimit:
            fields["stop_loss_limit"] = child.created.pricelimit
    if children and (kind == "trailing_stop" or tif == "cls"):
        return f"a {order_name(parent)} parent of child orders is not supported by Alpaca"
    if children:
        tif = "gtc"  # the legs inherit it: Backtrader's children are good till cancelled
    notional = parent.info.get("notional")
    return OrderRequest(
        symbol=parent.data._name,
        side="buy" if parent.isbuy() else "sell",
        qty=abs(created.size),
        notional=float(notional) if notional is not None else None,
        type=kind,
        time_in_force=tif,
        limit_price=created.pricelimit if kind == "stop_limit" else
        created.price if kind == "limit" else None,
        stop_price=created.price if kind in ("stop", "stop_limit") else None,
        client_order_id=parent.info["client_order_id"],
        order_class=order_class or "simple",
        **fields,
    )  # fmt: skip


def _trail(order: bt.Order, fields: dict[str, Any]) -> str | None:
    """A StopTrail trails from the close it was decided on, as Alpaca trails from the last
    price: an explicit `price=` reference has no Alpaca counterpart."""
    if order.price is not None and order.price != order.created.pclose:
        return "StopTrail with price= is not supported: Alpaca trails from the last price"
    if order.trailamount:
        fields["trail_price"] = float(order.trailamount)
    elif order.trailpercent:
        fields["trail_percent"] = float(order.trailpercent) * 100.0
    else:
        return "StopTrail needs trailamount= or trailpercent="
    return None


def oco_request(limit: bt.Order, stop: bt.Order, client_order_id: str) -> OrderRequest | str:
    """An exit pair (`oco=`) as Alpaca's `oco` class: the limit order with a stop-loss leg."""
    if limit.exectype != bt.Order.Limit or stop.exectype not in (bt.Order.Stop, bt.Order.StopLimit):
        return (
            f"oco= of a {order_name(limit)} and a {order_name(stop)} order is not supported: "
            "Alpaca's oco class pairs one Limit and one Stop or StopLimit exit"
        )
    if limit.data is not stop.data or limit.isbuy() != stop.isbuy():
        return "oco= orders must be on the same data and the same side for Alpaca's oco class"
    if abs(limit.created.size) != abs(stop.created.size):
        return "oco= orders of different sizes are not supported by Alpaca's oco class"
    if limit.parent is not None or stop.parent is not None:
        return "oco= between bracket children is not supported by Alpaca"
    if is_crypto(limit.data._name or ""):
        return "Alpaca's crypto orders are simple orders: no bracket, oto or oco"
    return OrderRequest(
        symbol=limit.data._name,
        side="buy" if limit.isbuy() else "sell",
        qty=abs(limit.created.size),
        type="limit",
        time_in_force="gtc",
        limit_price=limit.created.price,
        client_order_id=client_order_id,
        order_class="oco",
        take_profit=limit.created.price,
        stop_loss=stop.created.price,
        stop_loss_limit=stop.created.pricelimit if stop.exectype == bt.Order.StopLimit else None,
    )


# order types refused by name in the strategy's own source, before the run's first order
REFUSED_NAMES = {
    name: row for name, row in (("StopTrailLimit", ORDER_TYPES[bt.Order.StopTrailLimit]),)
    if isinstance(row, str)
}  # fmt: skip


def refused_in(strategy: type) -> str | None:
    """`FILE:LINE: <reason>` for the first refused order type the strategy's code names (its
    own classes, not Backtrader's or parity's), else `None`."""
    for cls in strategy.__mro__:
        module = getattr(cls, "__module__", "") or ""
        if module.split(".")[0] in ("backtrader", "parity", "builtins"):
            continue
        try:
            lines, first = inspect.getsourcelines(cls)
            path = inspect.getsourcefile(cls) or module
        except (OSError, TypeError):
            continue
        for offset, line in enumerate(lines):
            code = line.split("#", 1)[0]
            for name, reason in REFUSED_NAMES.items():
                if re.search(rf"\b{name}\b", code):
                    return f"{path}:{first + offset}: {reason}"
    return None


# ----------------------------------------------------------------------- crypto and fractions
CRYPTO_TYPES = (None, bt.Order.Market, bt.Order.Limit, bt.Order.StopLimit)


def venue_refusal(order: bt.Order) -> str | None:
    """Why Alpaca would refuse `order` for its instrument, checked in the backtest and in paper
    alike: crypto pairs take Market, Limit and StopLimit simple orders (sent `gtc`: Alpaca
    refuses `day` for crypto); fractional share quantities go on Market orders only (Alpaca
    takes them on `day` orders, and parity sends every other type `gtc`); a `notional=` dollar
    amount goes on a Market order only."""
    notional = order.info.get("notional")
    if notional is not None and not (
        order.exectype in (None, bt.Order.Market) and order.parent is None
    ):
        return f"notional= is for Market orders only (Alpaca), not {order_name(order)}"
    if notional is not None and not (isinstance(notional, int | float) and notional > 0):
        return f"notional={notional!r} must be a positive dollar amount"
    if is_crypto(order.data._name or ""):
        if order.parent is not None or not order.transmit or order.info.get("oco_partner"):
            return "Alpaca's crypto orders are simple orders: no bracket, oto or oco"
        if order.exectype not in CRYPTO_TYPES:
            return (
                f"{order_name(order)} is not supported for crypto: Alpaca trades crypto with "
                "Market, Limit and StopLimit orders"
            )
        return None
    fractional = not float(abs(order.created.size)).is_integer()
    if fractional and notional is None and order.exectype not in (None, bt.Order.Market):
        return (
            f"a fractional quantity ({abs(order.created.size):g}) on a {order_name(order)} "
            "order: Alpaca takes fractional shares on day orders, and parity sends this type "
            "gtc; use a Market order or whole shares"
        )
    return None


def is_crypto(symbol: str) -> bool:
    """Whether `symbol` is a crypto pair (`BTC/USD`)."""
    return instrument_for(symbol).asset_class == "crypto"


def resize(order: bt.Order, qty: float) -> None:
    """Give a `notional=` order the quantity its fill bought (Alpaca sizes it at the fill)."""
    size = qty if order.isbuy() else -qty
    order.size = order.created.size = order.created.remsize = size
    order.executed.remsize = size - order.executed.size


def alpaca_rules(order: bt.Order) -> str | None:
    """Why Alpaca would refuse `order` before it reaches the book (`late_close`, then
    `venue_refusal`): the backtest applies the same rules, so both modes refuse alike."""
    return late_close(order) or venue_refusal(order)
