"""`AlpacaBroker`: a Backtrader broker whose orders go to an Alpaca-compatible venue.

Every trade update (`new, accepted, partial_fill, fill, canceled, expired, rejected, replaced,
done_for_day, pending_*`) becomes the matching Backtrader order state and notification, including
partial fills and the legs of bracket orders (also after a leg is replaced). Fills are applied
exactly once, keyed by the order's cumulative filled quantity, whether they arrive on the stream
or are found by the REST sync that runs on every new bar while orders are open — so a dropped
stream loses nothing. Every final venue state ends the Backtrader order, whatever its type, with
the venue's reason. Client order ids come from the run's `OrderIds` (`PREFIX-000001`, ...), so
a submission left unanswered is looked up by its id, never blindly sent twice; the graceful stop's
cancels are read back, so they are journaled like any other update.

The shared parts are the run's `BrokerCore` (ids, review, journal) and `core.settle`; a fill's
fee is the one the venue reports for the order (`store.order_fees`), never the run's own cost
configuration. A finished order is kept for `RECENT` more finished orders (late updates of it
are recognised), then only the journal knows it: memory stays flat over a long run.
"""

from __future__ import annotations

import collections
import copy
import logging
import queue
import time
from typing import TYPE_CHECKING, Any

import backtrader as bt

from parity.brokers.alpaca_orders import oco_request, refused_in, request_for, resize
from parity.brokers.core import WARM_UP, BrokerCore, OrderIds, settle
from parity.brokers.valid import expiry
from parity.errors import BrokerError
from parity.instruments import instrument_of
from parity.journal.hook import OrderJournal
from parity.venues.types import (
    OrderRejected,
    OrderRequest,
    OrderSnapshot,
    PositionInfo,
    SubmissionUnknown,
    TradeEvent,
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


class AlpacaBroker(bt.BrokerBase):
    """Backtrader broker on an `AlpacaStore`.

    `cash` caps the capital the strategy may use (default: the account's cash). Positions held
    in the run's symbols at start are taken over through `adopt()`; the runner decides the policy.
    """

    params = (
        ("cash", None),
        ("starting_cash", None),
        ("marks", None),  # symbol -> last known price, for a position before its first bar
        ("next_bar", None),  # a `valid.NextBar`: when the venue's next bar starts, if it says
    )
    refused_in = staticmethod(refused_in)  # the runner refuses such a strategy before it starts

    def __init__(self, store: AlpacaStore, core: BrokerCore | None = None) -> None:
        super().__init__()
        self.store = store
        self.core = core or BrokerCore(OrderIds("parity"))
        self.notifs: collections.deque[bt.Order] = collections.deque()
        self._events: queue.SimpleQueue[TradeEvent] = queue.SimpleQueue()
        self._orders: dict[str, bt.Order] = {}  # client order id -> order (open or recent)
        self._finished: collections.deque[str] = collections.deque()  # recent final, oldest 1st
        self._fees_seen: dict[str, int] = {}  # venue order id -> its fees applied
        self._cid_of_venue_id: dict[str, str] = {}  # venue order id -> client order id
        self._filled: dict[str, float] = {}  # client order id -> cumulative qty applied
        self._notional: dict[str, float] = {}  # client order id -> cumulative notional applied
        self._held: list[bt.Order] = []  # bracket parts waiting for the transmitting order
        self._adopted: dict[str, PositionInfo] = {}
        self.positions: collections.defaultdict[Any, bt.Position] = collections.defaultdict(
            bt.Position
        )
        self._synced_len: dict[Any, int] = {}
        self._catching_up: set[str] = set()  # client ids of bracket parents being read back
        # sent, but neither the answer nor a look-up came back: looked up again on each new
        # bar, never resent blindly (client id -> the request, its orders, the bar last tried)
        self._unconfirmed: dict[str, tuple[OrderRequest, bt.Order, list[bt.Order], int]] = {}
        self.cash = 0.0
        self.startingcash = 0.0
        self.account_cash = 0.0
        store.subscribe_trade_updates(self._events.put)  # registration only; no I/O here
        self._superseded: set[str] = set()  # venue ids of orders re-sent in an oco pair
        self._expiring: set[str] = set()  # `valid=` reached: cancelled by us, ended as Expired
        self._with_valid: dict[str, bt.Order] = {}  # open orders with `valid=` (client id ->)

    @property
    def journal(self) -> OrderJournal | None:
        """Intents are journaled before they are sent, and every venue event and fill."""
        return self.core.journal

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        super().start()
        account = self.store.account()
        self.account_cash = account.cash
        wanted = self.p.cash
        self.cash = self.startingcash = float(wanted if wanted is not None else account.cash)
        if self.p.starting_cash is not None:  # resumed: `cash` is what is left, this the start
            self.startingcash = float(self.p.starting_cash)

    def adopt(self, positions: dict[str, PositionInfo]) -> None:
        """Start with these positions (symbol → qty and average price) as the run's own."""
        self._adopted = dict(positions)

    # ------------------------------------------------------------------ accounting

    def getcash(self) -> float:
        return self.cash

    get_cash = getcash

    def getvalue(self, datas: Any = None, mkt: bool = False, lever: bool = False) -> float:
        """As Backtrader's `BackBroker.get_value`: no `datas`, cash plus every position (`mkt`:
        the positions only); one data, that position's value alone (negative when short);
        several, cash plus those positions. A position is valued at its bar's close, or before
        the symbol's first bar at its last known price (`marks`, else the average cost); an
        adopted position counts before the strategy first asks for it."""
        marks = self.p.marks or {}
        positions = {d: self._position(d) for d in datas} if datas else dict(self.positions.items())
        held = 0.0
        for data, position in positions.items():
            if position.size:
                price = data.close[0] if len(data) else marks.get(data._name, position.price)
                held += position.size * price * instrument_of(data).multiplier
        names = None if not datas else {d._name for d in datas}
        for symbol, adopted in self._adopted.items():
            if names is None or symbol in names:
                held += adopted.qty * marks.get(symbol, adopted.avg_entry_price)
        if datas and len(datas) == 1:
            return held
        return held if mkt and not datas else self.cash + held

    get_value = getvalue

    def getposition(self, data: Any, clone: bool = False) -> bt.Position:
        """The live position of `data` (Backtrader's brokers return the object itself)."""
        position = self._position(data)
        return position.clone() if clone else position

    def get_fundmode(self) -> bool:
        return False

    def set_fundmode(self, fundmode: bool, fundstartval: float | None = None) -> None:
        if fundmode:
            raise BrokerError(
                "set_fundmode(True) is not supported in paper: remove it from the strategy "
                "(fund-like value tracking exists only in a backtest)"
            )

    fundmode = property(get_fundmode, set_fundmode)

    def set_coc(self, coc: bool) -> None:
        """Cheat-on-close cannot be honoured by a venue: refused (False is what it does)."""
        if coc:
            raise BrokerError(
                "set_coc(True) is not supported in paper: a venue fills market orders at the "
                "next bar's open; remove set_coc from the strategy"
            )

    def set_coo(self, coo: bool) -> None:
        """Cheat-on-open cannot be honoured by a venue: refused (False is what it does)."""
        if coo:
            raise BrokerError(
                "set_coo(True) is not supported in paper: a venue fills market orders at the "
                "next bar's open; remove set_coo from the strategy"
            )

    def _position(self, data: Any) -> bt.Position:
        if data not in self.positions and data._name in self._adopted:
            held = self._adopted.pop(data._name)
            self.positions[data] = bt.Position(size=held.qty, price=held.avg_entry_price)
        return self.positions[data]

    def get_orders_open(self, safe: bool = False) -> list[bt.Order]:
        return [*(o for o in self._orders.values() if o.alive()), *self._held]

    def get_notification(self) -> bt.Order | None:
        return self.notifs.popleft() if self.notifs else None

    def notify(self, order: bt.Order) -> None:
        clone = order.clone()
        clone.info = copy.copy(order.info)  # a later reason must not rewrite this notification
        self.notifs.append(clone)

    # ------------------------------------------------------------------ orders

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

    def _register(self, cid: str, order: bt.Order) -> None:
        self._orders[cid] = order
        if order.valid:
            self._with_valid[cid] = order

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

    # ------------------------------------------------------------------ updates

    def next(self) -> None:
        """Apply queued trade updates; on a new bar with orders open, sync them over REST."""
        self._drain_events()
        self._confirm()
        self.sync_open_orders(only_on_new_bar=True)
        self._expire_due()

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

    def _drain_events(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
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
