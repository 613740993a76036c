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
  bar, its state read back over REST (`sync`): applied once, keyed by the cumulative quantity;
  the fee is what the venue reports for the order;
- expiries, exercises and assignments are the account's activities (OPEXP, OPEXC, OPASN, with
  OPTRD for the shares), read at each bar while contracts are held, each applied once (by its
  `group_id`), dated at the expiry's close as the backtest dates them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import backtrader as bt
import pandas as pd

from parity.errors import BrokerError
from parity.instruments.calendars import ExchangeCalendar
from parity.options.chain import session_close, session_open
from parity.options.costs import OptionCosts
from parity.options.desk import OptionsDesk
from parity.options.orders import EventKind, OptionFill, OptionOrder
from parity.options.rules import DeskRules
from parity.venues.alpaca.option_calls import OptionSnap, option_activities
from parity.venues.alpaca.option_chain import VenueChain
from parity.venues.types import (
    OrderRejected,
    OrderRequest,
    OrderSnapshot,
    SubmissionUnknown,
    TradeEvent,
    VenueUnavailable,
)

if TYPE_CHECKING:
    from parity.options.setup import OptionsSetup
    from parity.venues.alpaca.client import AlpacaStore
    from parity.venues.protocol import SessionConfig

log = logging.getLogger("parity.broker")

_FINAL = {"canceled": "cancelled", "expired": "expired", "rejected": "rejected",
          "done_for_day": "expired", "suspended": "cancelled"}  # fmt: skip
_SETTLING = {"OPEXP", "OPEXC", "OPASN"}
TAPE_COLUMNS = ["time", "decided_at", "source", "symbol", "bid", "ask", "bid_size", "ask_size",
                "iv", "delta", "gamma", "theta", "vega", "rho"]  # fmt: skip


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


class VenueOptionsDesk(OptionsDesk):
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
        source.on_quotes = self._taped
        self._by_cid: dict[str, OptionOrder] = {}
        self._venue_ids: dict[str, str] = {}  # client order id -> the venue's id
        self._filled: dict[str, float] = {}  # client order id -> cumulative contracts applied
        self._notional: dict[str, float] = {}  # client order id -> cumulative premium applied
        self._fees_seen: dict[str, int] = {}
        self._unconfirmed: dict[str, OrderRequest] = {}
        self._settled: set[str] = set()  # activity groups applied (ids when a row has none)
        self._bar_seen = -1
        self._updates: list[tuple[OptionOrder, TradeEvent]] = []

    def _taped(self, decided_at: dt.datetime, source: str, snaps: Sequence[OptionSnap]) -> None:
        for snap in snaps:
            self.tape.append(
                {"time": snap.time, "decided_at": decided_at, "source": source,
                 "symbol": snap.symbol, "bid": snap.bid, "ask": snap.ask,
                 "bid_size": snap.bid_size, "ask_size": snap.ask_size, "iv": snap.iv,
                 "delta": snap.delta, "gamma": snap.gamma, "theta": snap.theta,
                 "vega": snap.vega, "rho": snap.rho}
            )  # fmt: skip

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

    def _apply(
        self, order: OptionOrder, snap: OrderSnapshot, price: float | None, qty: float | None
    ) -> None:
        if not order.alive:
            return
        cid = order.client_order_id
        done = self._filled.get(cid, 0.0)
        increment = snap.filled_qty - done
        if increment > 1e-9:
            if price is None or qty is None or abs(qty - increment) > 1e-9:
                average = snap.filled_avg_price or price or 0.0
                price = (average * snap.filled_qty - self._notional.get(cid, 0.0)) / increment
            self._filled[cid] = snap.filled_qty
            self._notional[cid] = self._notional.get(cid, 0.0) + increment * price
            when = snap.filled_at or snap.updated_at or self.now()
            if self.daily:  # a daily replay stamps its bar's label: a fill is in the session
                when = max(when, session_open(self.calendar, when.date()))
            self._executed(order, snap, round(increment), price, when)
        final = _FINAL.get(snap.status)
        if final is not None and order.alive:
            said = None
            if final == "rejected":  # the venue's message, as an equity rejection's
                with contextlib.suppress(BrokerError):
                    said = self.store.rejection_reason(snap.id)
            self._finish(order, final, f"venue: {snap.status}" + (f": {said}" if said else ""))

    def _executed(
        self, order: OptionOrder, snap: OrderSnapshot, filled: int, price: float, when: dt.datetime
    ) -> None:
        """`filled` more at `price` (a single leg: contracts at the premium per share; an mleg
        order: the venue's units at their net price): one fill per leg, as the backtest's."""
        fee = self._venue_fee(snap.id)
        spot = float(self._data.open[0])  # the venue fills at its step's quote: the bar's open
        if len(order.legs) == 1:
            ratio = order.legs[0].ratio
            units, prices = filled // abs(ratio), {order.legs[0].contract.symbol: price}
            net = ratio * price
        else:  # the venue's units are the desk's x the ratios' common factor
            unit = math.gcd(*(abs(leg.ratio) for leg in order.legs))
            units = filled // unit
            prices = {leg.symbol: leg.filled_avg_price or 0.0 for leg in snap.legs}
            net = price * unit
        fills: list[OptionFill] = []
        for i, leg in enumerate(order.legs, 1):
            n, m = leg.ratio * units, leg.contract.multiplier
            leg_price = prices.get(leg.contract.symbol, 0.0)
            seen = self.chain_source.last.get(leg.contract.symbol)
            touch = (seen.ask if n > 0 else seen.bid) if seen is not None else leg_price
            mid = (seen.bid + seen.ask) / 2 if seen is not None else leg_price
            commission = fee if i == 1 else 0.0  # the venue reports the order's fee, once
            fills.append(
                OptionFill(
                    when,
                    "trade",
                    order.ref,
                    order.group,
                    i,
                    leg.contract,
                    n,
                    round(leg_price, 6),
                    mid,
                    -n * m * leg_price - commission,
                    abs(n) * m * abs(touch - mid),
                    abs(n) * m * abs(leg_price - touch),
                    commission,
                    0.0,
                    underlying_price=spot,
                )
            )
        self._book_fills(order, when, spot, fills, net, units)

    def _book_fills(
        self,
        order: OptionOrder,
        now: dt.datetime,
        spot: float,
        fills: Sequence[OptionFill],
        net: float,
        units: int,
    ) -> None:
        assert self._account is not None
        group = self.book.group(order.group, now, order.tag)
        if group.entry_net is None:
            group.entry_net, group.contracts = round(net, 6), order.qty
        for fill in fills:
            self._account.move_cash(fill.cash)
            self.book.apply(fill)
            self.book.marks[fill.contract] = fill.mid
        before = order.filled
        order.filled += units
        order.net = ((order.net or 0.0) * before + net * units) / order.filled
        order.filled_at = now
        for listener in self._listeners:
            listener.filled(order, fills)
        if order.filled >= order.qty:
            self._finish(order, "filled", "")
        else:
            self._notify(order)
        for fill in fills:
            self._notify_leg(order, fill)

    def _venue_fee(self, venue_id: str) -> float:
        try:
            fees = self.store.order_fees(venue_id)
        except (OrderRejected, VenueUnavailable) as exc:
            log.warning("fees of option order %s could not be read (taken as 0): %s", venue_id, exc)
            return 0.0
        seen = self._fees_seen.get(venue_id, 0)
        self._fees_seen[venue_id] = len(fees)
        return float(sum(fees[seen:]))

    # ------------------------------------------------------------------ settlements
    def settle_activities(self, rows: Sequence[dict[str, Any]] | None = None) -> int:
        """Apply the account's expiry/exercise/assignment activities not applied yet (read from
        the venue unless given); returns how many events were applied."""
        if rows is None:
            if not self.book.positions:
                return 0
            rows = option_activities(self.store)
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            key = str(row.get("group_id") or row.get("id"))
            groups.setdefault(key, []).append(row)
        applied = 0
        for key, members in groups.items():
            if key in self._settled:
                continue
            main = next((r for r in members if r.get("activity_type") in _SETTLING), None)
            if main is None:
                continue
            contract = self.chain_source.contract(str(main["symbol"]))
            if not self.book.positions.get(contract):
                self._settled.add(key)  # not this run's contract (or applied before a resume)
                continue
            trade = next((r for r in members if r.get("activity_type") == "OPTRD"), None)
            applied += self._settle_one(contract, str(main["activity_type"]), trade)
            self._settled.add(key)
        return applied

    def _settle_one(self, contract: Any, kind: str, trade: dict[str, Any] | None) -> int:
        assert self._account is not None
        held = self.book.positions[contract]
        when = session_close(self.calendar, contract.expiry)
        spot = self._close_at(when)
        shares_total = float(trade.get("qty") or 0.0) if trade else 0.0
        cash_total = float(trade.get("net_amount") or 0.0) if trade else 0.0
        count = 0
        for group in list(self.book.groups.values()):
            qty = group.legs.get(contract, 0)
            if not qty:
                continue
            share = qty / held
            event_kind: EventKind
            if kind == "OPEXP" or trade is None:
                event_kind, price, cash, shares = "expiry", 0.0, 0.0, 0.0
            else:
                event_kind = "exercise" if qty > 0 else "assignment"
                price, cash, shares = contract.strike, cash_total * share, shares_total * share
            event = OptionFill(
                when, event_kind, 0, group.id, 0, contract, -qty, price, 0.0, cash, 0.0, 0.0,
                0.0, 0.0, shares=shares, underlying_price=spot,
            )  # fmt: skip
            self._account.move_cash(event.cash)
            if event.shares:
                self._account.deliver(self._data, event.shares, contract.strike)
            self.book.apply(event)
            for listener in self._listeners:
                listener.settled(event)
            self._notify_leg(None, event)
            count += 1
        return count

    def _close_at(self, moment: dt.datetime) -> float:
        """The underlying's close of the last bar that started before `moment` (an expiry's
        close read at a later bar), else this bar's."""
        data = self._data
        for back in range(len(data)):
            start = bt.num2date(data.datetime[-back])
            if (start.date() <= moment.date()) if self.daily else start < moment:
                return float(data.close[-back])
        return float(data.close[0])

    def event_stamp(self, event: OptionFill) -> float:
        """An activity is read at a bar after the expiry: it belongs to the expiry session's
        last bar (as the backtest books it), labelled by its start."""
        label = (
            dt.datetime.combine(event.time.date(), dt.time())
            if self.daily
            else event.time - self.bar_period
        )
        return float(bt.date2num(label))

    # ------------------------------------------------------------------ bar events
    def open_bar(self) -> None:
        """Before the strategy: the venue's settlements (they belong to an earlier session),
        then open orders' states."""
        if self._data is None or not len(self._data) or len(self._data) == self._bar_seen:
            return  # (a live broker's `next` runs more often than bars arrive)
        self._bar_seen = len(self._data)
        self.settle_activities()
        updates, self._updates = self._updates, []
        for order, event in updates:
            self._apply(order, event.order, event.price, event.qty)
        self.sync()

    def close_bar(self) -> None:
        """After the strategy: marks at the venue's quotes (the venue fills, expires and
        settles)."""
        if self._data is None or not len(self._data):
            return
        now, spot = self.now(), float(self._data.close[0])
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
