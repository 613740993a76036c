"""Options in the local venue's engine: an option order meeting its contract's quote at a replay
step, and expiry at the close (exercise in the money, else expiry worthless), with Alpaca's
activities (OPEXC + OPTRD, or OPEXP)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from parity.engine.fills import Bar
from parity.venue.matching import add_position, fill
from parity.venue.options import is_option_symbol
from parity.venue.orders import Order

if TYPE_CHECKING:
    from parity.venue.engine import Engine

ITM_THRESHOLD = 0.01  # in the money by this much at the close: exercised (Alpaca's rule)


def charge_daily_fees(engine: Engine, when: datetime) -> None:
    """Alpaca's way with an option's regulatory fees (`fee_report="daily"`): after a session's
    close, each fee type's total of the session's fills, rounded up to the cent, is one FEE
    activity naming no order, charged to cash then (Alpaca's pending amounts reduce the buying
    power intraday; this venue's fills keep them out of cash until the close)."""
    assert engine.options is not None
    charged = {e["date"] for e in engine.option_events if e["type"] == "FEE"}
    totals: dict[str, dict[str, float]] = {}  # session -> fee name -> exact total
    for row in engine.fills:
        if row.get("fees"):
            day = str(row["time"])[:10]
            if day not in charged:
                for name, amount in row["fees"].items():
                    totals.setdefault(day, {})[name] = totals.get(day, {}).get(name, 0.0) + amount
    for day, fees in sorted(totals.items()):
        close = engine.calendar.close_of(date.fromisoformat(day))
        if when < close:
            continue
        moment = close.replace(tzinfo=None).isoformat()
        for name, exact in sorted(fees.items()):
            # to the cent, up; the 1e-9 keeps a float sum of whole cents from rounding up a cent
            rounded = math.ceil(round(exact * 100, 9) - 1e-9) / 100
            engine.cash -= rounded
            engine.option_events.append(
                {"time": moment, "type": "FEE", "sub_type": name, "date": day,
                 "net": -rounded, "description": f"{name} fee, options, {day}"}
            )  # fmt: skip


def settle_options(engine: Engine, when: datetime) -> None:
    """Option positions whose expiry session closed before `when`: in the money by $0.01
    or more at the underlying's last close, exercised (a long call buys the shares at the
    strike, a long put sells them) or assigned (a short call delivers the shares, a short put
    takes them); otherwise expired worthless. Positions and cash change
    here, as on Alpaca paper; each is an activity (OPEXC or OPASN + OPTRD, or OPEXP)."""
    assert engine.options is not None
    for symbol in [s for s in engine.positions if is_option_symbol(s)]:
        contract = engine.options.parse(symbol)
        close = engine.calendar.close_of(contract.expiry)
        spot = engine.last_price.get(contract.underlying)
        if when < close or spot is None:
            continue
        held = engine.positions.pop(symbol).qty
        engine.last_price.pop(symbol, None)
        moment = close.replace(tzinfo=None).isoformat()
        group = str(uuid.uuid4())
        if contract.intrinsic(spot) < ITM_THRESHOLD:
            engine.option_events.append(
                {"time": moment, "type": "OPEXP", "symbol": symbol, "qty": -held,
                 "net": 0.0, "group": group, "description": "Option Expiry"}
            )  # fmt: skip
            continue
        shares = held * contract.multiplier * (1 if contract.right == "call" else -1)
        cash = -shares * contract.strike
        engine.cash += cash
        add_position(engine.positions, contract.underlying, shares, contract.strike)
        kind, name = ("OPEXC", "exercise") if held > 0 else ("OPASN", "assignment")
        engine.option_events += [
            {"time": moment, "type": kind, "symbol": symbol, "qty": -held, "net": 0.0,
             "group": group, "description": f"Option {name.capitalize()}"},
            {"time": moment, "type": "OPTRD", "symbol": contract.underlying, "qty": shares,
             "price": contract.strike, "net": cash, "group": group,
             "description": f"Option Trade: {name} of {symbol}"},
        ]  # fmt: skip


def expire_contracts(engine: Engine, when: datetime) -> None:
    """Open orders in a contract whose expiry session closed before `when` (a `gtc` order, or
    a combo with such a leg) expire with it."""
    assert engine.options is not None
    for order in list(engine.orders.values()):
        if not order.is_open or order.parent_id is not None:
            continue
        symbols = [leg.symbol for leg in order.legs] if order.order_class == "mleg" else []
        symbols += [order.symbol] if is_option_symbol(order.symbol) else []
        expiries = [engine.options.parse(s).expiry for s in symbols]
        if any(when >= engine.calendar.close_of(day) for day in expiries):
            order.status, order.expired_at = "expired", engine.now
            for leg in order.legs:
                leg.status, leg.expired_at, leg.updated_at = "expired", engine.now, engine.now
            engine.emit("expired", order)


def match_option(engine: Engine, order: Order, when: datetime, bars: Mapping[str, Bar]) -> None:
    """An option order meets the contract's quote at this step: all of it at the ask or
    bid (the venue's option costs), a limit only when that price is within it."""
    assert engine.options is not None
    quote = engine.options.step_quote(order.symbol, engine.calendar.naive(when), bars)
    if quote is None:
        return
    price = engine.options.fill_price(order.side, quote, order.limit_price)
    if price is not None:
        fill(engine, order, order.remaining, price, when)
