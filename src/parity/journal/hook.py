"""Journaling Backtrader orders: shared by the `Recorder` and a live broker.

`OrderJournal` turns Backtrader orders and executions into journal rows. Each intent and each
execution is written once, by whoever sees it first: a live broker (an order before it is sent,
a fill before the strategy is notified of it, durable) or the `Recorder` (an order the broker
never sent, and every order and fill of a simulated broker). The order carries what has been
written of it (`order.info`), so the second writer skips it; nothing is kept per order here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import backtrader as bt

from parity.instruments import instrument_of
from parity.journal.codec import bt_datetime
from parity.journal.ids import CLIENT_ID, number_of
from parity.journal.writer import Journal

EXEC_NAMES = {
    bt.Order.Market: "market",
    bt.Order.Close: "close",
    bt.Order.Limit: "limit",
    bt.Order.Stop: "stop",
    bt.Order.StopLimit: "stop_limit",
    bt.Order.StopTrail: "trailing_stop",
    bt.Order.StopTrailLimit: "trailing_stop_limit",
}


def order_fields(order: bt.Order) -> dict[str, Any]:
    """Symbol, side, type, qty, limit and stop price of a Backtrader order as created."""
    is_stop = order.exectype in (bt.Order.Stop, bt.Order.StopTrail)
    has_limit = order.exectype in (bt.Order.Limit, bt.Order.StopLimit, bt.Order.StopTrailLimit)
    created = order.created
    if order.exectype == bt.Order.StopLimit:
        limit = created.pricelimit
    else:
        limit = created.price if has_limit else None
    stop = created.price if is_stop or order.exectype == bt.Order.StopLimit else None
    return {
        "symbol": order.data._name,
        "side": "buy" if order.isbuy() else "sell",
        "type": EXEC_NAMES.get(order.exectype, str(order.exectype)),
        "qty": abs(created.size),
        "limit_price": limit,
        "stop_price": stop,
    }


def placement_fields(order: bt.Order) -> dict[str, Any]:
    """Where the order sits and what it trades: its `leg` of a combo (`order.info["leg"]`, None
    for a single order), its `parent` (the client order id of the order it exits, a bracket's
    entry), and its instrument's asset class and multiplier."""
    parent = getattr(order, "parent", None)
    leg = order.info.get("leg")
    instrument = instrument_of(order.data)
    return {
        "leg": None if leg is None else int(leg),
        "parent": None if parent is None else parent.info.get(CLIENT_ID),
        "asset_class": instrument.asset_class,
        "multiplier": instrument.multiplier,
    }


def order_decision(order: bt.Order) -> dict[str, Any] | None:
    """What the strategy said about `order` when it placed it (`decision=` on `buy`/`sell`: a
    mapping with its `reason`, and any tag, score or model outputs), or None."""
    decision = order.info.get("decision")
    return dict(decision) if isinstance(decision, Mapping) else None


def fill_bar(data: Any, stamp: float) -> int:
    """The bar index a fill belongs to: a close fill (`--fill close`) is stamped on the decision
    bar, one bar back from the bar being processed. A resumed live feed's `bar_offset` numbers
    its bars on from the crashed process's."""
    index = len(data) - 1 if stamp >= data.datetime[0] else len(data) - 2
    return index + int(getattr(data, "bar_offset", 0))


_INTENT = "journaled_intent"  # order.info: its intent is in the journal
_FILLED = "journaled_qty"  # order.info: the cumulative quantity its journaled fills reach


class OrderJournal:
    """Journals one run's orders from Backtrader objects (`daily`: bar times are dates)."""

    def __init__(self, journal: Journal, *, daily: bool) -> None:
        self.journal = journal
        self.daily = daily
        # cid -> last venue update journaled (a broker `forget`s the orders it no longer keeps)
        self._venue_state: dict[str, tuple[str, str, float]] = {}

    def bar_time(self, stamp: float) -> dt.datetime:
        return bt_datetime(stamp, self.daily)

    def intent(self, order: bt.Order, *, durable: bool = True) -> None:
        """Before the order is sent (call before `store.submit_order`): committed. Once per
        order: an order whose intent is journaled already is skipped."""
        if order.info.get(_INTENT):
            return
        order.addinfo(**{_INTENT: True})
        decision = order_decision(order)
        if decision is not None:  # buffered: the intent's commit below takes it along
            self.journal.decision(
                self.bar_time(order.created.dt),
                str(decision.get("reason") or "order"),
                symbol=order.data._name,
                payload={"client_order_id": str(order.info["client_order_id"]), **decision},
            )
        self.journal.intent(
            str(order.info["client_order_id"]),
            seq=number_of(order),
            decided_at=self.bar_time(order.created.dt),
            durable=durable,
            **order_fields(order),
            **placement_fields(order),
        )

    def note(
        self, at: dt.datetime, action: str, symbol: str | None, payload: dict[str, Any]
    ) -> None:
        """A decision that is no order of its own (buffered; e.g. an ambiguous exit)."""
        self.journal.decision(at, action, symbol=symbol, payload=payload)

    def forget(self, client_order_id: str) -> None:
        """The broker keeps this order no more: drop what is remembered of it."""
        self._venue_state.pop(client_order_id, None)

    def knows(self, client_order_id: str) -> bool:
        """Whether the run journaled an intent with this client order id (an order the broker
        no longer keeps in memory: final ones are looked up here)."""
        return self.journal.reader.has_intent(self.journal.run_id or "", client_order_id)

    def order_event(
        self,
        client_order_id: str,
        event: str,
        *,
        status: str,
        filled_qty: float,
        avg_price: float | None,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> None:
        """A trade update or REST snapshot as the venue reported it; the same state seen again
        (the REST sync re-reads open orders on every bar) is journaled once."""
        state = (event, status, round(float(filled_qty), 6))
        if self._venue_state.get(client_order_id) == state:
            return
        self._venue_state[client_order_id] = state
        self.journal.order_event(
            client_order_id,
            status,
            event=event,
            filled_qty=filled_qty,
            avg_price=avg_price,
            reason=reason,
            at=at,
            source="venue",
            durable=True,
        )

    def fill(
        self,
        order: bt.Order,
        *,
        qty: float,
        price: float,
        commission: float,
        cum_qty: float,
        stamp: float,
        durable: bool = True,
    ) -> None:
        """An execution applied to `order` (`stamp`: its Backtrader time, as given to
        `order.execute`); `cum_qty` is the order's filled quantity after it. Once per
        execution: one the order's journaled fills already reach is skipped."""
        if cum_qty <= float(order.info.get(_FILLED) or 0.0) + 1e-9:
            return
        order.addinfo(**{_FILLED: cum_qty})
        cid = str(order.info["client_order_id"])
        self.journal.fill(
            cid,
            order_seq=number_of(order),
            symbol=order.data._name,
            side="buy" if order.isbuy() else "sell",
            cum_qty=cum_qty,
            qty=abs(qty),
            price=price,
            commission=commission,
            at=self.bar_time(stamp),
            bar=fill_bar(order.data, stamp),
            durable=durable,
        )
