"""The fills of one execution of an option order: a leg's price (the ask or bid moved by the
slippage, given), its cash and its cost breakdown against the quote's mid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from parity.options.chain import Quote
from parity.options.costs import OptionCosts
from parity.options.orders import OptionFill, OptionOrder


def leg_fills(
    order: OptionOrder,
    now: dt.datetime,
    spot: float,
    quotes: Sequence[Quote],
    prices: Sequence[float],
    units: int,
    costs: OptionCosts,
) -> list[OptionFill]:
    """One fill per leg of `units` combo units of `order` at `prices` (per unit of the
    underlying): spread paid is the touch against the mid, slippage the price against the
    touch, both in cash."""
    fills = []
    for i, (leg, quote, price) in enumerate(zip(order.legs, quotes, prices, strict=True), 1):
        n = leg.ratio * units
        m = leg.contract.multiplier
        touch = quote.ask if n > 0 else quote.bid
        commission, fees = costs.commission(n, price), costs.fees(n)
        fills.append(
            OptionFill(
                now,
                "trade",
                order.ref,
                order.group,
                i,
                leg.contract,
                n,
                round(price, 6),
                quote.mid,
                -n * m * price - commission - fees,
                abs(n) * m * abs(touch - quote.mid),
                abs(n) * m * abs(price - touch),
                commission,
                fees,
                underlying_price=spot,
            )
        )
    return fills
