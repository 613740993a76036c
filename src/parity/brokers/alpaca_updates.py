"""The venue's order updates applied to the Backtrader orders of an `AlpacaBroker`.

Every trade update (`new, accepted, partial_fill, fill, canceled, expired, rejected, replaced,
done_for_day, pending_*`) becomes the matching Backtrader order state and notification, including
partial fills and the legs of bracket orders (also after a leg is replaced). Fills are applied
exactly once, keyed by the order's cumulative filled quantity, whether they arrive on the stream
or are found by the REST sync. A fill's fee is the one the venue reports for the order
(`store.order_fees`). A finished order is kept for `RECENT` more finished orders (late updates
of it are recognised), then only the journal knows it.
"""

from __future__ import annotations

import copy
import logging
import queue
from typing import TYPE_CHECKING, Any

import backtrader as bt

from parity.brokers.alpaca_orders import resize
from parity.brokers.core import BrokerCore, settle
from parity.errors import BrokerError
from parity.journal.hook import OrderJournal
from parity.venues.types import (
    OrderRejected,
    OrderSnapshot,
    VenueUnavailable,
)

if TYPE_CHECKING:  # the client builds this broker (`getbroker`): a type-only import back
    from parity.venues.alpaca.client import AlpacaStore

log = logging.getLogger("parity.broker")


# Alpaca's `stopped` is not here: "a trade is guaranteed for the order, but has not yet
# occurred" (its fill follows; ending the order there would drop that fill)
_FINAL = {"canceled", "expired", "rejected", "done_for_day", "suspended"}
RECENT = 64  # finished orders kept for their late updates (a stream event after the REST sync)


def _end(order: bt.Order, state: str, broker: bt.BrokerBase) -> None:
    """The venue's final word as Backtrader's terminal state, for every order type (Backtrader's
    own `expire()` refuses market orders and orders without `valid`: the order would stay
    accepted forever)."""
    if state == "rejected":
        order.reject(broker)
    elif state in ("expired", "done_for_day"):
        order.status = bt.Order.Expired
        order.executed.dt = order.data.datetime[0]
    else:
        order.cancel()


class AlpacaUpdates(bt.BrokerBase):
    """The update half of `AlpacaBroker` (its state is built by `AlpacaBroker.__init__`)."""

    store: AlpacaStore
    core: BrokerCore
    _held: list[bt.Order]  # bracket parts waiting for the transmitting order
    options: Any  # the options desk, or None

    @property
    def journal(self) -> OrderJournal | None:
        """Intents are journaled before they are sent, and every venue event and fill."""
        return self.core.journal

    def notify(self, order: bt.Order) -> None:
        clone = order.clone()
        clone.info = copy.copy(order.info)  # a later reason must not rewrite this notification
        self.notifs.append(clone)

    def _register(self, cid: str, order: bt.Order) -> None:
        self._orders[cid] = order
        if order.valid:
            self._with_valid[cid] = order

    def _drain_events(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            if self.options is not None and self.options.take(event):
                continue  # an option order: the options desk applies it
            self._apply(event.order, event.event, event.price, event.qty, event.timestamp)

    def sync_open_orders(self, only_on_new_bar: bool = False) -> None:
        """Read every open order back from the venue (fills the stream may have lost)."""
        open_orders = [o for o in self._orders.values() if o.alive() and o not in self._held]
        if not open_orders:
            return
        if only_on_new_bar:
            fresh = False
            for order in open_orders:
                seen = self._synced_len.get(order.data, -1)
                fresh |= len(order.data) != seen
                self._synced_len[order.data] = len(order.data)
            if not fresh:
                return
        wanted = {o.info["client_order_id"] for o in open_orders}
        for venue_id, cid in list(self._cid_of_venue_id.items()):
            if cid not in wanted:
                continue
            try:
                snap = self.store.order(venue_id)
            except (OrderRejected, VenueUnavailable) as exc:
                log.warning("sync of order %s failed: %s", cid, exc)
                continue
            self._apply(snap, snap.status, None, None, snap.filled_at or snap.updated_at)

    def _apply(
        self, snap: OrderSnapshot, event: str, price: float | None, qty: float | None, when: Any
    ) -> None:
        self._apply_one(snap, event, price, qty, when)
        for leg in snap.legs:  # after the parent: a leg never fills before its parent
            if leg.id in self._cid_of_venue_id:
                self._apply(leg, leg.status, None, None, leg.filled_at or when)

    def _apply_one(
        self, snap: OrderSnapshot, event: str, price: float | None, qty: float | None, when: Any
    ) -> None:
        cid = self._cid_of_venue_id.get(snap.id)
        if cid is None and snap.replaces and snap.replaces in self._cid_of_venue_id:
            cid = self._cid_of_venue_id[snap.id] = self._cid_of_venue_id[snap.replaces]
        if cid is None and snap.client_order_id in self._orders:
            cid = self._cid_of_venue_id[snap.id] = snap.client_order_id
        if cid is None:
            self._late(snap, event, when)  # an order of this run no longer kept, or another's
            return
        if snap.id in self._superseded:
            return  # a copy re-sent within an oco pair
        order = self._orders[cid]
        final = snap.status if snap.status in _FINAL else event if event in _FINAL else None
        if final == "canceled" and cid in self._expiring:
            final = "expired"
        reason = self._final_reason(snap, final) if final and order.alive() else None
        if final == "expired" and cid in self._expiring:
            reason = "valid= reached: cancelled by parity at the venue"
        if self.journal is not None:
            self.journal.order_event(
                cid,
                event,
                status=snap.status,
                filled_qty=snap.filled_qty,
                avg_price=snap.filled_avg_price,
                reason=reason,
                at=when,
            )
        if not order.alive():
            return
        if order.status == bt.Order.Submitted and event not in ("pending_new", "rejected"):
            order.accept(self)
            self.notify(order)
        if snap.filled_qty > self._filled.get(cid, 0.0) + 1e-9:
            self._parent_first(order)
            if not order.alive():
                return  # the parent's snapshot carried this leg's fill: already applied
        self._fill(cid, order, snap, price, qty, when)
        if final is not None and order.alive():
            order.addinfo(reason=reason)
            if final == "rejected":
                log.warning(
                    "order %s rejected by the venue: %s", cid, reason,
                    extra={"client_order_id": cid, "reason": reason},
                )  # fmt: skip
            _end(order, final, self)
            self.notify(order)
        if not order.alive():
            self._finish(cid)

    def _late(self, snap: OrderSnapshot, event: str, when: Any) -> None:
        """An update of an order not kept in memory: one of this run's that finished long ago
        (the journal has its intent) is journaled like any other update; others are ignored."""
        cid = snap.client_order_id
        journal = self.journal
        if journal is None or not cid.startswith(f"{self.core.ids.prefix}-"):
            return
        if journal.knows(cid):
            journal.order_event(
                cid, event, status=snap.status, filled_qty=snap.filled_qty,
                avg_price=snap.filled_avg_price, at=when,
            )  # fmt: skip

    def _finish(self, cid: str) -> None:
        """`cid` is final: kept for `RECENT` more finished orders, then forgotten."""
        if cid in self._finished or cid in self._unconfirmed:
            return
        self._finished.append(cid)
        while len(self._finished) > RECENT:
            self._forget(self._finished.popleft())

    def _forget(self, cid: str) -> None:
        order = self._orders.pop(cid, None)
        if order is not None and order.alive():  # (cannot happen: final orders only)
            self._orders[cid] = order
            return
        for venue_id in [v for v, c in self._cid_of_venue_id.items() if c == cid]:
            del self._cid_of_venue_id[venue_id]
            self._superseded.discard(venue_id)
            self._fees_seen.pop(venue_id, None)
        self._filled.pop(cid, None)
        self._notional.pop(cid, None)
        self._expiring.discard(cid)
        self._with_valid.pop(cid, None)
        if self.journal is not None:
            self.journal.forget(cid)

    def _final_reason(self, snap: OrderSnapshot, final: str) -> str:
        """`venue: expired`, ...; a rejection with the venue's message when it gives one."""
        if final != "rejected":
            return f"venue: {final}"
        try:
            message = self.store.rejection_reason(snap.id)
        except BrokerError as exc:
            message = f"(its reason could not be read: {exc})"
        return f"venue: rejected: {message or '(the venue gave no reason)'}"

    def _parent_first(self, order: bt.Order) -> None:
        """A bracket leg's fill seen before its parent's (the parent's update was lost with a
        stream drop, or a sync failed): read the parent back and apply its fills first."""
        parent = order.parent
        if parent is None or not parent.alive():
            return
        wanted = parent.info.get("client_order_id")
        if wanted in self._catching_up:
            return
        self._catching_up.add(wanted)
        try:
            for venue_id, cid in list(self._cid_of_venue_id.items()):
                if cid != wanted:
                    continue
                try:
                    snap = self.store.order(venue_id)
                except (OrderRejected, VenueUnavailable) as exc:
                    log.warning("sync of bracket parent %s failed: %s", cid, exc)
                    continue
                self._apply(snap, snap.status, None, None, snap.filled_at or snap.updated_at)
        finally:
            self._catching_up.discard(wanted)

    def _fill(
        self,
        cid: str,
        order: bt.Order,
        snap: OrderSnapshot,
        price: float | None,
        qty: float | None,
        when: Any,
    ) -> None:
        done = self._filled.get(cid, 0.0)
        increment = snap.filled_qty - done
        if increment <= 1e-9:
            return
        if price is None or qty is None or abs(qty - increment) > 1e-9:
            average = snap.filled_avg_price or price or 0.0
            price = (average * snap.filled_qty - self._notional.get(cid, 0.0)) / increment
        self._filled[cid] = snap.filled_qty
        self._notional[cid] = self._notional.get(cid, 0.0) + increment * price
        if order.info.get("notional") is not None and not order.executed.size:
            resize(order, snap.qty or snap.filled_qty)  # what the dollars bought
        self._execute(order, increment, price, when, self._venue_fee(snap.id))

    def _venue_fee(self, venue_id: str) -> float:
        """The fees the venue charged on this order since the last fill applied (its report:
        the run's cost configuration is not the venue's)."""
        try:
            fees = self.store.order_fees(venue_id)
        except (OrderRejected, VenueUnavailable) as exc:
            log.warning("fees of order %s could not be read (taken as 0): %s", venue_id, exc)
            return 0.0
        seen = self._fees_seen.get(venue_id, 0)
        self._fees_seen[venue_id] = len(fees)
        return float(sum(fees[seen:]))

    def _execute(self, order: bt.Order, qty: float, price: float, when: Any, fee: float) -> None:
        moved, stamp = settle(self, order, qty, price, fee, when)
        self.cash += moved
        if self.journal is not None:
            self.journal.fill(
                order,
                qty=qty,
                price=price,
                commission=fee,
                cum_qty=self._filled[order.info["client_order_id"]],
                stamp=stamp,
            )
        self.notify(order)
