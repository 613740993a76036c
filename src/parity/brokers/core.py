"""The live-broker core every broker of a run shares: client order ids minted once (`OrderIds`,
kept with the journal: the `Recorder` names the orders no broker sent), the review an order
passes before it is sent (warm-up gate, short guard, risk limits), and the accounting of an
execution with the fee the venue reported.

A venue's broker only translates its venue's events into these calls; the runner builds one
`BrokerCore` per run and gives it to the broker's constructor and to the `Recorder`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import backtrader as bt

from parity.instruments import instrument_of
from parity.journal.hook import OrderJournal
from parity.journal.ids import OrderIds

__all__ = ["WARM_UP", "BrokerCore", "OrderIds", "OrderReview", "settle", "would_short"]

if TYPE_CHECKING:
    from parity.risk.guard import RiskGuard

WARM_UP = "decided on a warm-up (history) bar: no order sent"
NO_SHORTS = "short selling is disabled (allow_short=false)"


def would_short(
    order: bt.Order, held: float, working: Iterable[bt.Order], group: Callable[[bt.Order], Any]
) -> bool:
    """Whether `order` (a sell) could leave the position (`held`) short, given the broker's
    other `working` orders.

    A child of a pending buy parent (`buy_bracket`, `parent=`/`transmit=False`) exits the shares
    its parent will buy, not the position held now. Orders of which only one can fill (`group`
    names them: the legs of an OCO group, the children of one parent) commit their shares once."""
    parent = order.parent
    if parent is not None and parent.alive():
        if not parent.isbuy():
            return False  # closes the short its parent opens (the parent was checked)
        return bool(parent.size - parent.executed.size + order.size < -1e-9)
    groups: dict[Any, float] = {}
    for o in working:
        if o is None or o is order or o.data is not order.data or not o.issell():
            continue
        if not o.alive() or (o.parent is not None and o.parent.alive()):
            continue  # a child of a pending parent exits that parent's shares
        key = group(o)
        groups[key] = min(groups.get(key, 0.0), o.executed.remsize)
    own = group(order)
    groups[own] = min(groups.get(own, 0.0), order.size)
    return held + sum(groups.values()) < -1e-9


@dataclass(frozen=True)
class OrderReview:
    """What an order passes before it is sent: not decided on a warm-up bar, no short when
    shorting is off (`short_guard`: the broker's `would_short`), and the risk limits (`risk`, a
    parent order only: its children exit what it opens)."""

    risk: RiskGuard | None = None
    short_guard: Callable[[bt.Order], bool] | None = None

    def with_short_guard(self, guard: Callable[[bt.Order], bool]) -> OrderReview:
        return OrderReview(self.risk, guard)

    def refusal(
        self,
        order: bt.Order,
        broker: bt.BrokerBase,
        *,
        venue_rule: Callable[[bt.Order], str | None] | None = None,
    ) -> str | None:
        """Why `order` is refused, or None (`venue_rule`: the venue's own, after the warm-up)."""
        if not getattr(order.data, "bar_is_live", lambda: True)():
            return WARM_UP
        reason = venue_rule(order) if venue_rule is not None else None
        if reason:
            return reason
        if self.short_guard is not None and order.issell() and self.short_guard(order):
            return NO_SHORTS
        if self.risk is not None and order.parent is None:
            return self.risk.review(order, broker)
        return None


@dataclass
class BrokerCore:
    """One run's shared broker parts: its ids, its review, its journal (None: not journaled)."""

    ids: OrderIds
    review: OrderReview = field(default_factory=OrderReview)
    journal: OrderJournal | None = None


def settle(
    broker: Any, order: bt.Order, qty: float, price: float, fee: float, when: Any
) -> tuple[float, float]:
    """Apply one execution of `order` (`qty` > 0 at `price`, `fee` as the venue reported it) to
    the broker's position and to `order`; returns the cash it moved (fee included) and its
    Backtrader time. The fee is split between the closing and the opening part by quantity;
    cash, values and P&L are of the data's instrument (its multiplier: 100 for an option)."""
    data = order.data
    size = qty if order.isbuy() else -qty
    mult = instrument_of(data).multiplier
    position = broker.getposition(data)
    basis = position.price
    psize, pprice, opened, closed = position.update(size, price, when)
    comminfo = order.comminfo or broker.getcommissioninfo(data)
    pnl = comminfo.profitandloss(-closed, basis, price) * mult if closed else 0.0
    closedvalue = comminfo.getoperationcost(closed, basis) * mult if closed else 0.0
    openedvalue = comminfo.getoperationcost(opened, price) * mult if opened else 0.0
    closedcomm = fee * abs(closed) / qty if closed else 0.0
    openedcomm = fee - closedcomm if opened else 0.0
    stamp = bt.date2num(when) if when is not None else data.datetime[0]
    order.execute(
        stamp, size, price, closed, closedvalue, closedcomm, opened, openedvalue, openedcomm,
        comminfo.margin, pnl, psize, pprice,
    )  # fmt: skip
    return -(size * price * mult + closedcomm + openedcomm), stamp
