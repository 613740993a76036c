"""The venue's matching engine and account: pure logic, no I/O, no clock of its own.

The server tells the engine the simulated time (`advance`) and hands it each replay step's bars
(`on_step`); the engine fills open orders against them with the one fill model
(`parity.engine.fills.FillModel`: Backtrader's rules), keeps cash, positions and fills, and
queues trade updates (`drain_events`).
REST handlers call `submit`, `replace`, `cancel`, `cancel_all`, `close_position`, `close_all`,
which raise `VenueError` (HTTP status, Alpaca error code, message) on refusal.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from parity.costs import CostModel
from parity.engine.ambiguity import FinerBars, Rule
from parity.engine.fills import Bar, FillModel
from parity.timeframe import Timeframe
from parity.venue import (
    combos,
    crypto,
    funds,
    intake,
    matching,
    ordertypes,
    settlement,
    timeinforce,
)
from parity.venue.assets import multiplier
from parity.venue.clock import MarketCalendar
from parity.venue.exits import loses_tie
from parity.venue.intake import TIME_IN_FORCE
from parity.venue.options import VenueOptions, is_option_symbol
from parity.venue.orders import (
    Order,
    Position,
    TradeEvent,
    VenueError,
    invalid,
)
from parity.venue.orders import number as _number


class Engine:
    """Orders, fills, cash and positions of one paper account."""

    def __init__(
        self,
        symbols: list[str],
        *,
        cash: float,
        costs: CostModel,
        calendar: MarketCalendar,
        now: datetime,
        latency_ms: int = 0,
        volume_share: float = 1.0,
        reference_prices: Mapping[str, float] | None = None,
        options: VenueOptions | None = None,
        ambiguous: Rule | None = None,
        finer: FinerBars | None = None,
        bar: Timeframe | None = None,
    ) -> None:
        """`options`: the contracts and quotes option orders trade against (None: none);
        `ambiguous`/`finer`: the rule for a bar reaching both exits of a pair (the fill
        model's); `bar`: the timeframe of the replayed bars (where `finer` bars are read)."""
        self.symbols = list(symbols)
        self.options = options
        self.bar = bar
        self.cash = float(cash)
        self.initial_cash = float(cash)
        self.calendar = calendar
        self.now = now
        self.fill = FillModel(
            costs=costs, volume_share=volume_share, latency_ms=latency_ms, ambiguous=ambiguous,
            finer=finer,
        )  # fmt: skip
        self.last_price: dict[str, float] = dict(reference_prices or {})
        self.orders: dict[str, Order] = {}
        self.by_client_id: dict[str, Order] = {}
        self.positions: dict[str, Position] = {}
        self.fills: list[dict[str, Any]] = []
        # expiries and exercises of option positions: Alpaca's OPEXP/OPEXC/OPTRD activities
        self.option_events: list[dict[str, Any]] = []
        self.events: list[TradeEvent] = []
        self.reject_ids: set[str] = set()
        self.leg_first_ids: set[str] = set()  # client ids of `oco` pairs to come, stop leg first
        self.last_equity = float(cash)
        self.equity_date: date | None = None  # the session `last_equity` was taken before

    # ----------------------------------------------------------------- time and prices
    def advance(self, now: datetime) -> None:
        """Move the simulated clock forward (never back)."""
        self.now = max(self.now, now)

    def equity(self) -> float:
        return self.cash + sum(
            p.qty * self.last_price.get(s, p.avg_price) * multiplier(s)
            for s, p in self.positions.items()
        )

    def reserved_cash(self) -> float:
        """Cash committed to open buy orders (remaining qty x limit or last price)."""
        return funds.reserved_cash(self)

    def buying_power(self) -> float:
        """Cash less what open buys reserve and what option positions require."""
        return max(self.cash - self.reserved_cash() - funds.option_requirement(self), 0.0)

    def held_for_orders(self, symbol: str) -> float:
        """Shares committed to open sell orders (a bracket's two legs count once)."""
        return funds.held_for_orders(self.orders, symbol)

    # ----------------------------------------------------------------- events
    def drain_events(self) -> list[TradeEvent]:
        """Take the queued trade updates, oldest first."""
        events, self.events = self.events, []
        return events

    def emit(self, event: str, order: Order, at: datetime | None = None, **extra: Any) -> None:
        """Queue a trade update; `at` stamps an execution with the time it happened."""
        from parity.venue.models import order_json

        order.updated_at = self.now
        stamp = at or self.now
        self.events.append(TradeEvent(event, order, order_json(order), timestamp=stamp, **extra))

    # ----------------------------------------------------------------- submission
    def submit(self, body: Mapping[str, Any]) -> Order:
        """Validate and accept a new order (the `POST /v2/orders` body)."""
        order = intake.build(self, body)
        if order.client_order_id in self.reject_ids:
            self.reject_ids.discard(order.client_order_id)
            order.status = "rejected"
            order.failed_at = self.now
            order.reject_reason = "rejected by the venue's fault plan (reject_orders)"
            self._register(order)
            self.emit("rejected", order)
            return order
        funds.check_funds(self, order)
        self._register(order)
        self.emit("new", self.set_status(order, "new"))
        return order

    def set_status(self, order: Order, status: str) -> Order:
        order.status = status
        for leg in order.legs:
            leg.updated_at = self.now
        return order

    def _register(self, order: Order) -> None:
        self.orders[order.id] = order
        self.by_client_id[order.client_order_id] = order
        for leg in order.legs:
            self.orders[leg.id] = leg
            self.by_client_id[leg.client_order_id] = leg

    # ----------------------------------------------------------------- lookups
    def get(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise VenueError(404, 40410000, "order not found")
        return order

    def get_by_client_id(self, client_order_id: str) -> Order:
        order = self.by_client_id.get(client_order_id)
        if order is None:
            raise VenueError(404, 40410000, "order not found")
        return order

    # ----------------------------------------------------------------- cancel / replace
    def cancel(self, order_id: str) -> Order:
        """Cancel an open order (a bracket parent takes its legs along; a leg, its sibling)."""
        order = self.get(order_id)
        if not order.is_open:
            raise VenueError(422, 42210000, f'order is already in "{order.status}" state')
        if order.order_class == "mleg" and order.parent_id is not None:
            raise VenueError(
                422, 42210000, f"order {order_id} is a leg of an mleg order; cancel the order "
                f"{order.parent_id} (all its legs)"
            )  # fmt: skip
        if order.parent_id is not None:
            parent = self.orders[order.parent_id]
            if parent.order_class == "oco":
                self.cancel_one(parent)
            for leg in parent.legs:
                self.cancel_one(leg)
            return order
        self.cancel_one(order)
        for leg in order.legs:
            self.cancel_one(leg)
        return order

    def cancel_one(self, order: Order) -> None:
        if order.is_open:
            order.status = "canceled"
            order.canceled_at = self.now
            if order.order_class == "mleg":  # a combo's legs follow it (one event: the combo)
                for leg in order.legs:
                    leg.status, leg.canceled_at, leg.updated_at = "canceled", self.now, self.now
            self.emit("canceled", order)

    def cancel_all(self) -> list[Order]:
        """Cancel every open order; returns the top-level orders canceled."""
        done = []
        for order in list(self.orders.values()):
            if order.parent_id is None and (
                order.is_open or any(leg.is_open for leg in order.legs)
            ):
                self.cancel_one(order)
                for leg in order.legs:
                    self.cancel_one(leg)
                done.append(order)
        return done

    def replace(self, order_id: str, body: Mapping[str, Any]) -> Order:
        """`PATCH /v2/orders/{id}`: a new order replaces an open one."""
        old = self.get(order_id)
        if not old.is_open or old.status == "held":
            raise VenueError(422, 42210000, f"cannot replace order in {old.status} status")
        if old.order_class == "mleg":
            raise VenueError(
                422, 42210000, "this venue does not replace mleg orders; cancel and resubmit"
            )
        qty = _number(body, "qty")
        if qty is not None and qty <= 0:
            raise invalid("qty must be > 0")
        tif = str(body.get("time_in_force") or old.time_in_force)
        if tif not in TIME_IN_FORCE:
            raise invalid("invalid time_in_force")
        limit = _number(body, "limit_price")
        stop = _number(body, "stop_price")
        limit = old.limit_price if limit is None else limit
        stop = old.stop_price if stop is None else stop
        if old.type == "trailing_stop":  # `trail` sets the distance; the mark carries over
            stop = None
        intake.check_prices(old.type, limit, stop)
        cid = str(body.get("client_order_id") or uuid.uuid4())
        if cid in self.by_client_id:
            raise invalid("client_order_id must be unique")
        new = Order(
            id=str(uuid.uuid4()),
            client_order_id=cid,
            symbol=old.symbol,
            side=old.side,
            type=old.type,
            time_in_force=tif,
            qty=qty if qty is not None else old.remaining,
            created_at=self.now,
            updated_at=self.now,
            fillable_from=self.fill.fillable_from(self.now),
            limit_price=limit,
            stop_price=stop,
            order_class=old.order_class,
            replaces=old.id,
            parent_id=old.parent_id,
            triggered=old.triggered,
            extended_hours=old.extended_hours,
        )
        if tif == "day":
            new.session_date = self.calendar.session_date_for(self.now)
        if old.type == "trailing_stop":
            ordertypes.replace_trail(old, new, _number(body, "trail"))
        old.status = "replaced"
        old.replaced_at = self.now
        old.replaced_by = new.id
        if old.parent_id is not None:
            parent = self.orders[old.parent_id]
            parent.legs = [new if leg is old else leg for leg in parent.legs]
        self._register(new)
        self.emit("replaced", old)
        self.emit("new", self.set_status(new, "new"))
        return new

    # ----------------------------------------------------------------- positions
    def close_position(
        self, symbol: str, *, qty: float | None = None, percentage: float | None = None
    ) -> Order:
        """Submit the market sell that liquidates (part of) a position."""
        position = self.positions.get(symbol.upper())
        if position is None:
            raise VenueError(404, 40410000, "position does not exist")
        if qty is None:
            share = 1.0 if percentage is None else percentage / 100.0
            if not 0 < share <= 1:
                raise invalid("percentage must be in (0, 100]")
            qty = position.qty * share
            if float(position.qty).is_integer() and share < 1:
                qty = float(math.floor(qty))
        return self.submit(
            {
                "symbol": symbol.upper(),
                "qty": qty,
                "side": "sell",
                "type": "market",
                "time_in_force": "gtc" if crypto.is_crypto(symbol) else "day",
            }
        )

    def close_all(self, *, cancel_orders: bool) -> list[tuple[str, Order | VenueError]]:
        """Liquidate every position (optionally canceling open orders first)."""
        if cancel_orders:
            self.cancel_all()
        out: list[tuple[str, Order | VenueError]] = []
        for symbol in list(self.positions):
            try:
                out.append((symbol, self.close_position(symbol)))
            except VenueError as exc:
                out.append((symbol, exc))
        return out

    # ----------------------------------------------------------------- replay
    def on_step(self, when: datetime, bars: Mapping[str, Bar]) -> None:
        """Match every open order against its symbol's bar starting at `when` (aware), then
        mark positions to the bars' closes. Call `advance` first."""
        if self.equity_date is None:
            self.equity_date = when.date()
        elif when.date() != self.equity_date:
            self.last_equity = self.equity()
            self.equity_date = when.date()
        if self.options is not None:  # expiries whose session closed before this step
            settlement.settle_options(self, when)
            if self.options.fee_report == "daily":
                settlement.charge_daily_fees(self, when)
            settlement.expire_contracts(self, when)
        matching.expire(self, when)
        for order in matching.time_priority(self):
            if order.order_class == "mleg":  # a combo fills whole; its legs go with it
                if order.parent_id is None and order.is_open and when >= order.fillable_from:
                    combos.match_combo(self, order, when, bars)
                continue
            bar = bars.get(order.symbol)
            if bar is None and order.is_open and self.options is not None:
                if is_option_symbol(order.symbol) and when >= order.fillable_from:
                    settlement.match_option(self, order, when, bars)
                continue
            if bar is None or not order.is_open or order.status == "held":
                continue
            if when < order.fillable_from:
                continue
            if order.time_in_force == "opg" and when < matching.opening(self, order):
                continue  # waits for its opening auction
            if loses_tie(self.orders, self.fill, self.calendar, self.bar, order, when, bar):
                continue  # its partner exit fills on this bar, and cancels it
            matching.match(self, order, when, bar)
            if timeinforce.done_after_match(order.time_in_force) and order.is_open:
                self.cancel_one(order)  # ioc, fok, opg: the rest is canceled
        for symbol, bar in bars.items():
            self.last_price[symbol] = bar.close
        if self.options is not None:  # option positions mark at their quote's mid
            for symbol in [s for s in self.positions if is_option_symbol(s)]:
                quote = self.options.step_quote(symbol, self.calendar.naive(when), bars)
                if quote is not None:
                    self.last_price[symbol] = quote.mid
