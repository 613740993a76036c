"""Buying power at order entry: an order is refused when the cash left after it (and after
the open orders, whose debits are reserved and whose legs count) cannot hold the positions'
requirement (`margin.requirement`); and how much of an order can fill against quoted sizes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from parity.options.book import Book
from parity.options.chain import ChainSource, Quote
from parity.options.costs import OptionCosts
from parity.options.margin import requirement
from parity.options.orders import OptionOrder


def buying_power_refusal(
    order: OptionOrder,
    pending: Sequence[OptionOrder],
    book: Book,
    source: ChainSource,
    costs: OptionCosts,
    *,
    cash: float,
    shares: float,
    now: dt.datetime,
    spot: float,
    allow_naked: bool,
) -> str:
    """Why `order` cannot be accepted now ("" when it can)."""
    quotes = source.quotes([leg.contract for leg in order.legs], now, spot)
    missing = [leg.contract.symbol for leg, q in zip(order.legs, quotes, strict=True) if q is None]
    if missing:
        return f"no quote for {', '.join(missing)} at {now:%Y-%m-%d %H:%M}"
    after = dict(book.positions)
    committed = 0.0  # debits of open orders, reserved as the venue reserves them
    for other in (*pending, order):
        left = other.qty - other.filled
        for leg in other.legs:
            after[leg.contract] = after.get(leg.contract, 0) + leg.ratio * left
        if other is not order:
            committed += max(_estimate(other, source, costs, now, spot), 0.0)
    need = requirement(after, shares, spot, allow_naked=allow_naked, marks=book.marks)
    if need.reason:
        return need.reason
    cash_after = cash - committed
    for leg, quote in zip(order.legs, quotes, strict=True):
        assert quote is not None
        n = leg.ratio * order.qty
        price = costs.fill_price(n > 0, quote.bid, quote.ask)
        cash_after -= n * leg.contract.multiplier * price
        cash_after -= costs.commission(n, price) + costs.fees(n)
    paid = cash - committed - cash_after  # premium and costs (< 0: a credit)
    if cash_after - need.amount < -1e-6:
        held = f", ${committed:,.2f} of it reserved for open orders" if committed else ""
        return (
            f"insufficient buying power: needs ${need.amount + paid:,.2f} (max loss "
            f"${need.amount:,.2f}, premium and costs ${paid:,.2f}), has "
            f"${cash:,.2f} cash{held}"
        )
    return ""


def _estimate(
    order: OptionOrder, source: ChainSource, costs: OptionCosts, now: dt.datetime, spot: float
) -> float:
    """What the rest of `order` would pay now at the quotes (negative: receive)."""
    left = order.qty - order.filled
    quotes = source.quotes([leg.contract for leg in order.legs], now, spot)
    total = 0.0
    for leg, quote in zip(order.legs, quotes, strict=True):
        if quote is None:
            continue
        n = leg.ratio * left
        price = costs.fill_price(n > 0, quote.bid, quote.ask)
        total += n * leg.contract.multiplier * price
        total += costs.commission(n, price) + costs.fees(n)
    return total


def fillable_units(order: OptionOrder, quotes: Sequence[Quote]) -> int:
    """Combo units that can fill now: all that remain, unless the source quotes sizes. Then a
    single leg fills what the touched side shows (the rest waits); a combo, all legs or none."""
    left = order.qty - order.filled
    sizes = []
    for leg, quote in zip(order.legs, quotes, strict=True):
        size = quote.ask_size if leg.ratio > 0 else quote.bid_size
        if size is not None:
            sizes.append(int(size // abs(leg.ratio)))
    if not sizes:
        return left
    if len(order.legs) > 1:
        return left if min(sizes) >= left else 0
    return min(left, sizes[0])
