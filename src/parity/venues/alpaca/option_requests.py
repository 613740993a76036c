"""An option order as the venue's request: a single leg as a simple order with its
`position_intent`, a combo as an `mleg` order (its legs' ratios in lowest terms, its limit
signed + debit / - credit); Alpaca's rules checked before sending (`day` orders only)."""

from __future__ import annotations

import math

from parity.options.orders import OptionOrder
from parity.venues.types import OrderRequest

__all__ = ["order_request"]


def order_request(order: OptionOrder, held: dict[str, int]) -> OrderRequest | str:
    """`order` as the venue's request (`held`: contracts held by symbol, for the intents), or
    the one-line reason it is refused before sending."""
    if order.tif != "day":
        return f"option orders are day orders at Alpaca (got tif={order.tif!r}): pass tif='day'"
    limit = order.debit if order.debit is not None else order.credit
    kind = "market" if limit is None else "limit"
    cid = order.client_order_id or f"option-{order.ref}"
    if len(order.legs) == 1:
        leg = order.legs[0]
        side = "buy" if leg.ratio > 0 else "sell"
        return OrderRequest(
            symbol=leg.contract.symbol,
            side=side,
            qty=float(abs(leg.ratio) * order.qty),
            type=kind,
            time_in_force="day",
            limit_price=None if limit is None else round(limit / abs(leg.ratio), 4),
            client_order_id=cid,
            position_intent=_intent(side, held.get(leg.contract.symbol, 0)),
        )
    unit = math.gcd(*(abs(leg.ratio) for leg in order.legs))
    legs = tuple(
        (
            leg.contract.symbol,
            float(abs(leg.ratio) // unit),
            "buy" if leg.ratio > 0 else "sell",
            _intent("buy" if leg.ratio > 0 else "sell", held.get(leg.contract.symbol, 0)),
        )
        for leg in order.legs
    )
    # the venue's unit is the desk's divided by the ratios' common factor: so is its price
    signed = None if limit is None else (limit if order.debit is not None else -limit) / unit
    return OrderRequest(
        symbol="",
        side=order.side,
        qty=float(order.qty * unit),
        type=kind,
        time_in_force="day",
        limit_price=None if signed is None else round(signed, 4),
        client_order_id=cid,
        order_class="mleg",
        legs=legs,
    )


def _intent(side: str, held: int) -> str:
    """Alpaca's `position_intent`: a buy against a short closes it, else opens; likewise sells."""
    if side == "buy":
        return "buy_to_close" if held < 0 else "buy_to_open"
    return "sell_to_close" if held > 0 else "sell_to_open"
