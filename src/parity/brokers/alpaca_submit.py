"""Backtrader orders of an `AlpacaBroker` sent to the venue (`alpaca_orders` maps them).

Client order ids come from the run's `OrderIds` (`PREFIX-000001`, ...), so a submission left
unanswered is looked up by its id, never blindly sent twice; the graceful stop's cancels are read
back, so they are journaled like any other update.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import backtrader as bt

from parity.brokers.alpaca_orders import oco_request, request_for
from parity.brokers.alpaca_updates import _FINAL, AlpacaUpdates
from parity.brokers.core import WARM_UP
from parity.brokers.valid import expiry
from parity.errors import BrokerError
from parity.venues.types import (
    OrderRejected,
    OrderRequest,
    OrderSnapshot,
    SubmissionUnknown,
    VenueUnavailable,
)

log = logging.getLogger("parity.broker")


class AlpacaSubmission(AlpacaUpdates):
    """The order half of `AlpacaBroker`: create, pair, send, confirm, cancel, expire."""

    # Backtrader's order arguments; anything else a strategy passes goes into `order.info`
    _ORDER_ARGS = ("price", "exectype", "valid", "tradeid", "trailamount", "trailpercent",
                   "parent", "transmit", "histnotify")  # fmt: skip
    _IGNORED = ("_checksubmit",)

    def buy(self, owner: Any, data: Any, size: float, **kwargs: Any) -> bt.Order:
        return self._create(bt.BuyOrder, owner, data, size, kwargs)

    def sell(self, owner: Any, data: Any, size: float, **kwargs: Any) -> bt.Order:
        return self._create(bt.SellOrder, owner, data, size, kwargs)

    def _create(
        self, kind: type, owner: Any, data: Any, size: float, kwargs: dict[str, Any]
    ) -> bt.Order:
        args = {k: kwargs.pop(k) for k in self._ORDER_ARGS if k in kwargs}
        for name in self._IGNORED:
            kwargs.pop(name, None)
        oco = kwargs.pop("oco", None)
        order = kind(
            owner=owner, data=data, size=size, pricelimit=kwargs.pop("plimit", None), **args
        )
        if oco is not None:
            return self._pair(order, oco, kwargs)
        return self._take(order, kwargs)

    def _pair(self, order: bt.Order, other: bt.Order, info: dict[str, Any]) -> bt.Order:
        """`oco=`: the partner was sent alone; cancel that copy at the venue and send both as
        one `oco` order named by the new order's client id (the partner keeps its own id)."""
        order.addinfo(**info)
        order.addcomminfo(self.getcommissioninfo(order.data))
        cid = self.core.ids.of(order)
        self._register(cid, order)
        limit, stop = (other, order) if order.exectype != bt.Order.Limit else (order, other)
        old = other.info.get("client_order_id")
        venue_ids = [v for v, c in self._cid_of_venue_id.items() if c == old]
        request = oco_request(limit, stop, cid)
        reason = request if isinstance(request, str) else None
        if reason is None and (not other.alive() or other.executed.size or len(venue_ids) != 1):
            reason = "oco= partner is no longer a working unfilled order: no pair sent"
        if reason is None:
            reason = self.core.review.refusal(order, self)
        if reason is not None or isinstance(request, str):
            self._reject([order], reason or "oco= not supported")
            return order
        self._superseded.add(venue_ids[0])
        if not self._cancelled_unfilled(venue_ids[0]):  # (partly) filled, or no answer
            self._superseded.discard(venue_ids[0])
            self.sync_open_orders()
            self._reject([order], "oco= partner was not cancelled unfilled: no pair sent")
            return order
        if self.journal is not None:
            self.journal.intent(order)
        order.submit(self)
        self.notify(order)
        if other is stop:  # the stop was placed first: Backtrader fills it first on a tie
            self.store.venue_oco_first(cid)
        self._submit(request, limit, [limit, stop])
        return order

    def _cancelled_unfilled(self, venue_id: str, settle: float = 5.0) -> bool:
        """Cancel one venue order and read it back until final: canceled with nothing filled."""
        self.store.cancel_order(venue_id)
        deadline = time.monotonic() + settle
        while True:
            snap = self.store.order(venue_id)
            if snap.status in _FINAL or snap.status == "filled" or snap.filled_qty > 0:
                return snap.status == "canceled" and snap.filled_qty <= 0
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _take(self, order: bt.Order, info: dict[str, Any]) -> bt.Order:
        order.addinfo(**info)
        order.addcomminfo(self.getcommissioninfo(order.data))
        if not order.transmit:
            self._held.append(order)  # a bracket's parent/stop: sent with the transmitting leg
            return order
        group = [*self._held, order] if order.parent is not None else [order]
        self._held = [o for o in self._held if o not in group]
        self._send(group)
        return order

    def _reject(self, orders: list[bt.Order], reason: str, *, journaled: bool = False) -> None:
        """Reject locally; `journaled`: the intents are in the journal, so is the rejection.
        A decision on a warm-up bar is expected (the strategy replays history, and a resume
        replays the bars it already traded on): `orders.csv` names it, the log only at debug."""
        level = logging.DEBUG if reason == WARM_UP else logging.WARNING
        for order in orders:
            log.log(
                level,
                "order %s rejected: %s",
                order.info.get("client_order_id", "?"),
                reason,
                extra={"client_order_id": order.info.get("client_order_id"), "reason": reason},
            )
            order.addinfo(reason=reason)
            if order.status == bt.Order.Created:
                order.submit(self)
            order.reject(self)
            self.notify(order)
            cid = order.info.get("client_order_id")
            if journaled and self.journal is not None:
                self.journal.order_event(
                    cid, "rejected", status="rejected", filled_qty=0.0, avg_price=None,
                    reason=reason,
                )  # fmt: skip
            if cid is not None:
                self._finish(cid)

    def _send(self, group: list[bt.Order]) -> None:
        parent = group[0] if group[0].parent is None else group[0].parent
        if not getattr(parent.data, "bar_is_live", lambda: True)():
            self._reject(group, WARM_UP)  # no order of the run: the recorder names it if any
            return
        for order in group:
            self._register(self.core.ids.of(order), order)
        request = request_for(parent, group)
        if isinstance(request, str):
            self._reject(group, request)
            return
        reason = self.core.review.refusal(parent, self)
        if reason:
            self._reject(group, reason)
            return
        if self.journal is not None:
            for order in group:
                self.journal.intent(order)  # committed before the order leaves
        for order in group:
            order.submit(self)
            self.notify(order)
        if _stop_placed_first(group):  # Backtrader fills the order placed first on a tie
            self.store.venue_oco_first(request.client_order_id)
        self._submit(request, parent, group)
        self._expire_due()

    def _submit(self, request: OrderRequest, parent: bt.Order, group: list[bt.Order]) -> None:
        cid = request.client_order_id
        try:
            placed = self.store.submit_order(request)
        except SubmissionUnknown as exc:
            log.warning(
                "order %s: %s; looking it up again on the next bars", cid, exc,
                extra={"client_order_id": cid, "reason": str(exc)},
            )  # fmt: skip
            self._unconfirmed[cid] = (request, parent, group, len(parent.data))
            return
        except (OrderRejected, VenueUnavailable) as exc:
            self._reject(group, str(exc), journaled=True)
            return
        self._unconfirmed.pop(cid, None)
        self._map(placed, parent, group)
        self._apply(placed, placed.status, None, None, placed.updated_at)

    def _confirm(self, *, ending: bool = False) -> None:
        """Orders whose submission went unanswered: on each new bar, adopt the venue's copy, or
        send them again when the venue does not have one (`ending`: the run is over; reject
        them instead)."""
        for cid, (request, parent, group, tried) in list(self._unconfirmed.items()):
            if len(parent.data) == tried and not ending:
                continue
            self._unconfirmed[cid] = (request, parent, group, len(parent.data))
            try:
                found = self.store.order_by_client_id(cid)
            except BrokerError as exc:
                log.warning("look-up of unconfirmed order %s failed: %s", cid, exc)
                continue
            if found is None and ending:
                del self._unconfirmed[cid]
                self._reject(group, "the run ended before the venue took it", journaled=True)
                continue
            if found is None:
                self._submit(request, parent, group)
                continue
            del self._unconfirmed[cid]
            self._map(found, parent, group)
            self._apply(found, found.status, None, None, found.filled_at or found.updated_at)

    def _map(self, placed: OrderSnapshot, parent: bt.Order, group: list[bt.Order]) -> None:
        self._cid_of_venue_id[placed.id] = parent.info["client_order_id"]
        children = {o.exectype: o for o in group[1:]}
        for leg in placed.legs:
            child = children.get(bt.Order.Limit if leg.type == "limit" else bt.Order.Stop)
            child = child or children.get(bt.Order.StopLimit)
            if child is not None:
                self._cid_of_venue_id[leg.id] = child.info["client_order_id"]

    def cancel(self, order: bt.Order, bracket: bool = False) -> bt.Order:
        if not order.alive():
            return order
        cid = order.info.get("client_order_id")
        venue_ids = [
            v for v, c in self._cid_of_venue_id.items() if c == cid and v not in self._superseded
        ]
        for venue_id in venue_ids:
            self.store.cancel_order(venue_id)
        return order

    def _expire_due(self) -> None:
        """`valid=` emulated: an order the next bar will find past `valid` is cancelled now (its
        cancel arrives, as Expired, with the next bar); one already past it (a gap in the bars)
        is cancelled and read back at once."""
        now = False
        brackets: set[int] = set()  # one expiry a bracket: the venue cancels its other parts
        for cid, order in list(self._with_valid.items()):
            if not order.alive():
                del self._with_valid[cid]
                continue
            due = None if order in self._held else expiry(order, self.p.next_bar)
            group = (order.parent or order).ref
            if due is None or group in brackets:
                continue
            brackets.add(group)
            if cid not in self._expiring:
                self._expiring.add(cid)
                self.cancel(order)
            now |= due == "past"
        if now:
            self.sync_open_orders()

    # ------------------------------------------------------------------ shutdown

    def cancel_all(self, *, settle: float = 5.0) -> int:
        """Cancel every open order of this run and read them back until the venue reports them
        final (at most `settle` seconds): the cancels (or a last fill) are journaled and notified
        like any other update. Returns how many were asked to cancel."""
        self._confirm(ending=True)  # an unanswered submission: cancel the venue's copy if any
        asked = [
            o
            for o in self._orders.values()
            if o.alive()
            and o not in self._held
            and o.info["client_order_id"] not in self._unconfirmed
        ]
        for order in asked:
            self.cancel(order)
        deadline = time.monotonic() + settle
        while any(o.alive() for o in asked):
            self._drain_events()
            self.sync_open_orders()
            if time.monotonic() > deadline or not any(o.alive() for o in asked):
                break
            time.sleep(0.05)
        return len(asked)


def _stop_placed_first(group: list[bt.Order]) -> bool:
    """Whether a bracket's stop-loss child was placed before its take-profit (Backtrader's
    `buy_bracket` places the stop first): a bar that touches both fills that one in a backtest,
    so a parity venue replaying bars is told to match it first."""
    children = [o for o in group if o.parent is not None]
    stops = [o.ref for o in children if o.exectype in (bt.Order.Stop, bt.Order.StopLimit)]
    limits = [o.ref for o in children if o.exectype == bt.Order.Limit]
    return bool(stops and limits) and min(stops) < min(limits)
