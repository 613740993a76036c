"""Multi-leg (`mleg`) option orders on the local venue, as alpaca-py 0.44 sends them
(`order_class:"mleg"`, 2-4 `legs` with `ratio_qty`, `side`/`position_intent`, a signed net
`limit_price`: + debit, - credit), and the buying power an option position or order needs.

A combo fills all-or-none: at a replay step every leg meets its contract's quote at the venue's
option costs (`VenueOptions.fill_price`: the ask or bid moved by the venue's slippage); the net
per unit (buys +, sells -, times each leg's ratio) fills a market combo, and a limit combo when
it is at or below the limit. One trade update reports the combo, its executions per leg
(`legs[]`) and the legs' positions after it (`position_qtys`), as Alpaca's stream does.

The requirement is Alpaca's universal spread rule, hand-written because no library applies
Alpaca's margin rule: the worst loss of the positions' payoffs at expiry over every strike (and
zero), premiums ignored; shares of the underlying cover short calls. All legs are taken
together whatever their expiries (a later long call covers an earlier short one)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from parity.engine.fills import Bar
from parity.options.contracts import OptionContract
from parity.venue.matching import book
from parity.venue.options import is_option_symbol, option_refusal
from parity.venue.orders import EPS, Order, VenueError
from parity.venue.orders import number as _number

if TYPE_CHECKING:
    from parity.venue.engine import Engine

INTENTS = {
    "buy_to_open": "buy",
    "buy_to_close": "buy",
    "sell_to_open": "sell",
    "sell_to_close": "sell",
}


def refused(message: str) -> VenueError:
    """422 42210000: an option order Alpaca's rules refuse."""
    return VenueError(422, 42210000, message)


def side_of(body: Mapping[str, Any], where: str) -> tuple[str, str | None]:
    """An order's or leg's side and position intent (one implies the other), checked."""
    side = str(body.get("side") or "")
    intent = body.get("position_intent") or None
    if intent is not None and intent not in INTENTS:
        raise refused(f"invalid position_intent {intent!r} on {where}: use {', '.join(INTENTS)}")
    if not side and intent is None:
        raise refused(f"{where} needs a side or a position_intent")
    if side and side not in ("buy", "sell"):
        raise refused(f"invalid side {side!r} on {where}: use buy or sell")
    if intent is not None and side and INTENTS[intent] != side:
        raise refused(f"{where}: side {side} contradicts position_intent {intent}")
    return side or INTENTS[str(intent)], intent


def payoff_requirement(
    legs: Iterable[tuple[OptionContract, float]], shares: float = 0.0
) -> float | None:
    """The worst loss at expiry (dollars, >= 0) of signed contract quantities `legs`, `shares`
    of the underlying covering short calls; None when a short call is left uncovered (the
    loss has no bound)."""
    legs = list(legs)
    slope = sum(q * c.multiplier for c, q in legs if c.right == "call") + max(shares, 0.0)
    if slope < -EPS:
        return None
    worst = 0.0
    for spot in {0.0, *(c.strike for c, _ in legs)}:
        value = sum(q * c.multiplier * c.intrinsic(spot) for c, q in legs)
        worst = min(worst, value + max(shares, 0.0) * spot)
    return -worst


def build_combo(engine: Engine, body: Mapping[str, Any], cid: str) -> Order:
    """The parent order and its legs of an `mleg` body, or Alpaca's refusal."""
    assert engine.options is not None
    kind = str(body.get("type") or body.get("order_type") or "")
    if kind not in ("market", "limit"):
        raise refused("mleg order class only supports market and limit orders.")
    if body.get("notional") is not None:
        raise refused("qty is required for the mleg order class.")
    rule = option_refusal({**body, "type": kind}, engine.options.tifs)
    if rule is not None:
        raise rule
    qty = float(body["qty"])
    if qty <= 0:
        raise refused("qty must be > 0")
    limit = _number(body, "limit_price")
    if kind == "limit" and limit is None:
        raise refused("limit_price is required")
    if kind == "market" and limit is not None:
        raise refused("market orders require no limit price")
    if body.get("stop_price") is not None:
        raise refused("mleg order class only supports market and limit orders.")
    legs = body.get("legs")
    if not isinstance(legs, list) or not legs:
        raise refused("legs is required for the mleg order class.")
    if len(legs) < 2:
        raise refused("At least 2 legs are required for the mleg order class.")
    if len(legs) > 4:
        raise refused("At most 4 legs are allowed for the mleg order class.")
    tif = str(body.get("time_in_force"))
    parent = Order(
        id=str(uuid.uuid4()),
        client_order_id=cid,
        symbol="",
        side="",
        type=kind,
        time_in_force=tif,
        qty=qty,
        created_at=engine.now,
        updated_at=engine.now,
        fillable_from=engine.fill.fillable_from(engine.now),
        limit_price=limit,
        order_class="mleg",
    )
    if tif == "day":
        parent.session_date = engine.calendar.session_date_for(engine.now)
    ratios = []
    for index, raw in enumerate(legs, 1):
        parent.legs.append(_leg(engine, parent, raw, f"leg {index}"))
        ratios.append(int(parent.legs[-1].ratio_qty or 0))
    symbols = [leg.symbol for leg in parent.legs]
    if len(set(symbols)) != len(symbols):
        raise refused("All legs must have unique symbols.")
    if math.gcd(*ratios) != 1:
        raise refused(
            f"leg ratios must be in lowest terms, got {':'.join(map(str, ratios))}; "
            "divide them by their greatest common divisor"
        )
    margin = payoff_requirement(_signed(engine, parent))
    if margin is None:
        raise refused("every short call leg of an mleg order must be covered by a long call leg")
    net = limit if limit is not None else _quoted_net(engine, parent)
    parent.requirement = max(margin + net * 100 * qty, 0.0)
    return parent


def _leg(engine: Engine, parent: Order, raw: Any, where: str) -> Order:
    assert engine.options is not None
    if not isinstance(raw, Mapping):
        raise refused(f"{where} must be an object with symbol, ratio_qty and side")
    symbol = str(raw.get("symbol") or "").upper()
    if not is_option_symbol(symbol):
        raise refused(f"invalid symbol {symbol!r} on {where}: legs are OCC option symbols")
    if engine.options.quote(symbol, engine.calendar.naive(engine.now)) is None:
        raise refused(f"invalid symbol: {symbol} is not listed now")
    try:
        ratio = float(raw.get("ratio_qty"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise refused(f"ratio_qty of {where} must be a whole number >= 1") from None
    if not (math.isfinite(ratio) and ratio >= 1 and ratio.is_integer()):
        raise refused(f"ratio_qty of {where} must be a whole number >= 1, got {ratio:g}")
    side, intent = side_of(raw, where)
    return Order(
        id=str(uuid.uuid4()),
        client_order_id=str(uuid.uuid4()),
        symbol=symbol,
        side=side,
        type="",
        time_in_force=parent.time_in_force,
        qty=parent.qty * ratio,
        created_at=engine.now,
        updated_at=engine.now,
        fillable_from=parent.fillable_from,
        order_class="mleg",
        parent_id=parent.id,
        position_intent=intent,
        ratio_qty=ratio,
    )


def _signed(engine: Engine, parent: Order) -> list[tuple[OptionContract, float]]:
    assert engine.options is not None
    return [
        (engine.options.parse(leg.symbol), leg.qty if leg.side == "buy" else -leg.qty)
        for leg in parent.legs
    ]


def _quoted_net(engine: Engine, parent: Order) -> float:
    """A market combo's net per unit at the quotes now (its buying power)."""
    assert engine.options is not None
    now = engine.calendar.naive(engine.now)
    net = 0.0
    for leg in parent.legs:
        quote = engine.options.quote(leg.symbol, now)
        assert quote is not None  # checked by `_leg`
        price = engine.options.costs.fill_price(leg.side == "buy", quote.bid, quote.ask)
        net += (1 if leg.side == "buy" else -1) * (leg.ratio_qty or 1) * price
    return net


def match_combo(engine: Engine, parent: Order, when: datetime, bars: Mapping[str, Bar]) -> None:
    """Fill every leg of `parent` at this step's quotes, or none: a limit combo only when the
    net per unit is within its limit."""
    assert engine.options is not None
    naive = engine.calendar.naive(when)
    prices: list[float] = []
    for leg in parent.legs:
        quote = engine.options.step_quote(leg.symbol, naive, bars)
        price = None if quote is None else engine.options.fill_price(leg.side, quote, None)
        if price is None:
            return
        prices.append(price)
    net = sum(
        (1 if leg.side == "buy" else -1) * (leg.ratio_qty or 1) * price
        for leg, price in zip(parent.legs, prices, strict=True)
    )
    net = round(net, 6)
    if parent.limit_price is not None and net > parent.limit_price + 1e-9:
        return
    executions = []
    for leg, price in zip(parent.legs, prices, strict=True):
        book(engine, leg, leg.remaining, price, when)
        executions.append(
            {"execution_id": str(uuid.uuid4()), "qty": leg.qty, "price": price,
             "order_id": leg.id, "symbol": leg.symbol, "timestamp": when}
        )  # fmt: skip
    parent.filled_qty = parent.qty
    parent.filled_notional = net * parent.qty
    parent.status = "filled"
    parent.filled_at = when
    held = {leg.symbol: engine.positions.get(leg.symbol) for leg in parent.legs}
    engine.emit(
        "fill",
        parent,
        at=when,
        price=net,
        qty=parent.qty,
        legs=tuple(executions),
        position_qtys={s: (p.qty if p else 0.0) for s, p in held.items()},
    )
