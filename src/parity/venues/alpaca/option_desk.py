"""`VenueOptionsDesk`: the backtest's `OptionsDesk` with an Alpaca-compatible venue behind it.

The strategy's API, the book, the buying-power check, the marks and the listeners (the run's
`OptionRecorder` journals orders, fills and lifecycle events) are the backtest desk's; what
differs is who fills and who settles:

- an order that passes the desk's checks is sent to the venue (a single leg as a simple order
  with its `position_intent`; a combo as an `mleg` order, its legs' ratios in lowest terms and
  its limit signed + debit / - credit), under the client order id the recorder journaled first.
  Alpaca's rules are checked here before sending: `day` orders only (whole contracts and no
  extended hours hold by construction);
- its fills are the venue's trade updates (handed over by the broker, `take`) and, on each new
  bar, its state read back over REST (`sync`), booked by `option_fills.VenueFills`;
- expiries, exercises and assignments are the account's activities, read at each bar while
  contracts are held and applied once by `option_settle.VenueSettlements`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import pandas as pd

from parity.brokers.core import WARM_UP
from parity.instruments.calendars import ExchangeCalendar
from parity.options.chain import Quote, session_close
from parity.options.contracts import OptionContract
from parity.options.costs import OptionCosts
from parity.options.orders import Leg, OptionOrder
from parity.options.rules import DeskRules
from parity.venues.alpaca.option_calls import OptionSnap
from parity.venues.alpaca.option_chain import VenueChain
from parity.venues.alpaca.option_requests import order_request
from parity.venues.alpaca.option_settle import VenueSettlements
from parity.venues.types import (
    OrderRejected,
    OrderRequest,
    SubmissionUnknown,
    TradeEvent,
    VenueUnavailable,
)

if TYPE_CHECKING:
    from parity.options.setup import OptionsSetup
    from parity.venues.alpaca.client import AlpacaStore
    from parity.venues.protocol import SessionConfig

log = logging.getLogger("parity.broker")

TAPE_COLUMNS = ["time", "decided_at", "source", "symbol", "bid", "ask", "bid_size", "ask_size",
                "iv", "delta", "gamma", "theta", "vega", "rho"]  # fmt: skip


class VenueOptionsDesk(VenueSettlements):
    """An `OptionsDesk` whose orders, fills and settlements are the venue's."""

    def __init__(
        self,
        store: AlpacaStore,
        source: VenueChain,
        calendar: ExchangeCalendar,
        *,
        costs: OptionCosts | None = None,
        rules: DeskRules | None = None,
        daily: bool = True,
        bar_period: dt.timedelta = dt.timedelta(days=1),
    ) -> None:
        super().__init__(
            source, calendar, costs=costs, rules=rules, fill_at="open", daily=daily,
            bar_period=bar_period,
        )  # fmt: skip
        self.store = store
        self.chain_source = source
        # the option tape: every quote received, with the decision time it was asked at
        self.tape: list[dict[str, Any]] = []
        # else the rows go here as they arrive (a paper run's `option_tape.csv`, written on)
        self.tape_sink: Callable[[list[dict[str, Any]]], None] | None = None
        source.on_quotes = self._taped
        self._by_cid: dict[str, OptionOrder] = {}
        self._venue_ids: dict[str, str] = {}  # client order id -> the venue's id
        self._filled: dict[str, float] = {}  # client order id -> cumulative contracts applied
        self._notional: dict[str, float] = {}  # client order id -> cumulative premium applied
        self._fees_seen: dict[str, int] = {}  # venue order id -> its fee rows applied
        self._charged: dict[str, list[str]] = {}  # client order id -> venue ids read for fees
        self._queued: list[tuple[OptionOrder, OrderRequest]] | None = None  # (see `combo`)
        self._unconfirmed: dict[str, OrderRequest] = {}
        self._settled: set[str] = set()  # activity groups applied (ids when a row has none)
        self._bar_seen = -1
        self._updates: list[tuple[OptionOrder, TradeEvent]] = []
        # what journals one fill (its legs) or one settlement as one transaction: all or
        # nothing after a crash (the run sets its journal's `atomic`)
        self.journal_batch: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
        # activity groups whose shares the positions adopted at a resume already hold (the
        # venue delivered them while the run was down): their cash moves, their shares not
        self.venue_delivered: set[str] = set()
        self.fees_booked: set[str] = set()  # daily FEE rows booked (`charge_daily_fees`)
        self.traded_days: set[dt.date] = set()
        self.fee_days: set[dt.date] = set()
        self.fees_read: dt.date | None = None
        # a resumed run: the desk's work (fills, settlements, marks) of the bars closing by
        # then is the journal's; those bars are its warm-up, the venue is heard after them
        self.done_through: dt.datetime | None = None

    def _taped(self, decided_at: dt.datetime, source: str, snaps: Sequence[OptionSnap]) -> None:
        rows: list[dict[str, Any]] = []
        for snap in snaps:
            rows.append(
                {"time": snap.time, "decided_at": decided_at, "source": source,
                 "symbol": snap.symbol, "bid": snap.bid, "ask": snap.ask,
                 "bid_size": snap.bid_size, "ask_size": snap.ask_size, "iv": snap.iv,
                 "delta": snap.delta, "gamma": snap.gamma, "theta": snap.theta,
                 "vega": snap.vega, "rho": snap.rho}
            )  # fmt: skip
        if self.tape_sink is not None:
            self.tape_sink(rows)
        else:
            self.tape.extend(rows)

    def tape_frame(self) -> pd.DataFrame:
        """`option_tape.csv`: the chain snapshots at the decision times and the quotes of the
        contracts watched, as received (`time` the venue's quote time; readable as recorded
        quotes, `--option-quotes`, for a twin on what the run saw)."""
        return pd.DataFrame(self.tape, columns=TAPE_COLUMNS)

    # ------------------------------------------------------------------ orders
    def _accept(self, order: OptionOrder) -> None:
        held = {c.symbol: q for c, q in self.book.positions.items()}
        request = order_request(order, held)
        if isinstance(request, str):
            self._finish(order, "rejected", request)
            return
        self._pending.append(order)
        self._by_cid[request.client_order_id] = order
        self._notify(order)
        if self._queued is not None:  # sent once its journal rows are committed (`combo`)
            self._queued.append((order, request))
        else:
            self._send(order, request)

    def resend(self, order: OptionOrder) -> None:
        """Send `order` again as it was decided (a resumed run's order journaled, never sent)."""
        held = {c.symbol: q for c, q in self.book.positions.items()}
        request = order_request(order, held)
        if isinstance(request, str):
            self._finish(order, "rejected", request)
        else:
            self._send(order, request)

    def _send(self, order: OptionOrder, request: OrderRequest) -> None:
        cid = request.client_order_id
        try:
            placed = self.store.submit_order(request)
        except SubmissionUnknown as exc:
            log.warning("option order %s: %s; looking it up on the next bar", cid, exc)
            self._unconfirmed[cid] = request
            return
        except (OrderRejected, VenueUnavailable) as exc:
            self._finish(order, "rejected", f"venue: {exc}")
            return
        self._unconfirmed.pop(cid, None)
        self._venue_ids[cid] = placed.id
        self._apply(order, placed, None, None)

    def cancel(self, order: OptionOrder) -> None:
        """Ask the venue to cancel; the order ends when the venue says it did."""
        venue_id = self._venue_ids.get(order.client_order_id)
        if order.alive and venue_id is not None:
            self.store.cancel_order(venue_id)

    # ------------------------------------------------------------------ the venue's word
    def take(self, event: TradeEvent) -> bool:
        """Keep a trade update of one of this desk's orders (True), else leave it. Kept updates
        are applied at the next bar's start (`open_bar`): a live broker hears the venue's fill
        at the next open before that bar arrives, and the fill belongs to that bar."""
        order = self._by_cid.get(event.order.client_order_id)
        if order is None:
            return False
        self._venue_ids.setdefault(order.client_order_id, event.order.id)
        self._updates.append((order, event))
        return True

    def sync(self) -> None:
        """Read back every open order (fills a dropped stream lost) and unanswered sends."""
        for cid, request in list(self._unconfirmed.items()):
            order = self._by_cid[cid]
            found = self.store.order_by_client_id(cid)
            if found is None:
                self._send(order, request)
                continue
            del self._unconfirmed[cid]
            self._venue_ids[cid] = found.id
            self._apply(order, found, None, None)
        for order in list(self._pending):
            venue_id = self._venue_ids.get(order.client_order_id)
            if venue_id is None:
                continue
            try:
                snap = self.store.order(venue_id)
            except (OrderRejected, VenueUnavailable) as exc:
                log.warning("sync of option order %s failed: %s", order.client_order_id, exc)
                continue
            self._apply(order, snap, None, None)

    # ------------------------------------------------------------------ bar events
    def open_bar(self) -> None:
        """Before the strategy: the venue's settlements (they belong to an earlier session),
        then open orders' states."""
        if self._data is None or not len(self._data) or len(self._data) == self._bar_seen:
            return  # (a live broker's `next` runs more often than bars arrive)
        self._bar_seen = len(self._data)
        if self._warm_up():
            return
        self.settle_activities()
        self.charge_daily_fees()
        updates, self._updates = self._updates, []
        for order, event in updates:
            self._apply(order, event.order, event.price, event.qty)
        self.sync()

    def _warm_up(self) -> bool:
        """A warm-up bar: history (the feed says so), or a bar of a resumed run whose desk
        work the journal holds (`done_through`)."""
        if not getattr(self._data, "bar_is_live", lambda: True)():
            return True
        return self.done_through is not None and self.now() <= self.done_through

    # ------------------------------------------------------------------ warm-up bars
    # on a warm-up bar the strategy is past: the venue's chain of now is not that bar's, and
    # nothing decided on it is sent (as the equity warm-up gate refuses orders)
    def chain(self, **query: Any) -> list[Quote]:
        return [] if self._warm_up() else super().chain(**query)

    def expiries(self, *, dte: tuple[int, int | None] = (0, None)) -> list[dt.date]:
        return [] if self._warm_up() else super().expiries(dte=dte)

    def quote(self, contract: OptionContract) -> Quote | None:
        return None if self._warm_up() else super().quote(contract)

    def combo(
        self, legs: Sequence[tuple[OptionContract | Quote, int]], qty: int = 1, **kwargs: Any
    ) -> OptionOrder:
        if not self._warm_up():
            # its intents and the desk's journal rows in one transaction, then sent
            self._queued = []
            try:
                with self.journal_batch():
                    placed = super().combo(legs, qty, **kwargs)
            finally:
                queued, self._queued = self._queued, None
            for order, request in queued:
                self._send(order, request)
            return placed
        pairs = tuple(Leg(c.contract if isinstance(c, Quote) else c, r) for c, r in legs)
        kwargs.setdefault("group", None)
        order = OptionOrder(
            0,
            pairs,
            qty,
            self.now(),
            credit=kwargs.get("credit"),
            debit=kwargs.get("debit"),
            tag=kwargs.get("tag", ""),
            status="rejected",
            reason=WARM_UP,
        )  # fmt: skip  (not numbered, journaled or sent)
        self._notify(order)
        return order

    def close_bar(self) -> None:
        """After the strategy: marks at the venue's quotes (the venue fills, expires and
        settles)."""
        if self._data is None or not len(self._data):
            return
        now, spot = self.now(), float(self._data.close[0])
        if self._warm_up():
            return
        for contract in self.book.positions:  # past its expiry close the venue quotes none:
            if now >= session_close(self.calendar, contract.expiry):  # worth what it settles to
                self.book.marks[contract] = contract.intrinsic(spot)
        self._mark(now, spot)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "quotes": "the venue's quotes; orders fill at the venue, positions mark at its mid",
        }


def venue_desk(store: AlpacaStore, setup: OptionsSetup, config: SessionConfig) -> VenueOptionsDesk:
    """The desk of a paper run: the venue's chain of the setup's underlying (else the run's
    first symbol), the setup's costs and rules for the desk's own checks."""
    from parity.venues.clock import run_exchange

    underlying = (setup.underlying or config.symbols[0]).upper()
    timeframe = config.timeframe
    return VenueOptionsDesk(
        store,
        VenueChain(store, underlying, setup.model),
        run_exchange(config),
        costs=setup.costs,
        rules=setup.rules,
        daily=timeframe.is_daily,
        bar_period=dt.timedelta(seconds=timeframe.seconds),
    )
