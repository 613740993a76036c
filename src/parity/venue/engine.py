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
from datetime import date, datetime, timedelta
from typing import Any

from parity.costs import CostModel
from parity.engine.ambiguity import FinerBars, Rule
from parity.engine.fills import Bar, FillModel
from parity.instruments import instrument_for
from parity.timeframe import Timeframe
from parity.venue import crypto, ordertypes, timeinforce
from parity.venue.assets import multiplier
from parity.venue.clock import MarketCalendar
from parity.venue.exits import loses_tie
from parity.venue.options import VenueOptions, is_option_symbol, option_refusal
from parity.venue.orders import (
    EPS,
    Order,
    Position,
    TradeEvent,
    VenueError,
    invalid,
)
from parity.venue.orders import number as _number

ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"})
TIME_IN_FORCE = frozenset({"day", "gtc", "cls", "opg", "ioc", "fok"})
ORDER_CLASSES = frozenset({"simple", "bracket", "oco", "oto"})


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
        total = 0.0
        for order in self.orders.values():
            if order.is_open and order.side == "buy" and order.status != "held":
                if order.notional is not None and order.filled_qty <= EPS:
                    total += order.notional
                    continue
                price = order.reference_price or self.last_price.get(order.symbol, 0.0)
                total += order.remaining * price * multiplier(order.symbol)
        return total

    def buying_power(self) -> float:
        return max(self.cash - self.reserved_cash(), 0.0)

    def held_for_orders(self, symbol: str) -> float:
        """Shares committed to open sell orders (a bracket's two legs count once)."""
        held = 0.0
        for order in self.orders.values():
            if not order.is_open or order.symbol != symbol or order.side != "sell":
                continue
            if order.parent_id is None and order.order_class != "oco":
                held += order.remaining
        for parent in self.orders.values():
            legs = [leg for leg in parent.legs if leg.is_open and leg.status != "held"]
            if parent.order_class == "oco" and parent.legs and parent.is_open:
                legs.append(parent)  # an exit pair holds its shares once
            sells = [leg.remaining for leg in legs if leg.side == "sell" and leg.symbol == symbol]
            held += max(sells, default=0.0)
        return held

    # ----------------------------------------------------------------- events
    def drain_events(self) -> list[TradeEvent]:
        """Take the queued trade updates, oldest first."""
        events, self.events = self.events, []
        return events

    def _emit(self, event: str, order: Order, at: datetime | None = None, **extra: Any) -> None:
        """Queue a trade update; `at` stamps an execution with the time it happened."""
        from parity.venue.models import order_json

        order.updated_at = self.now
        stamp = at or self.now
        self.events.append(TradeEvent(event, order, order_json(order), timestamp=stamp, **extra))

    # ----------------------------------------------------------------- submission
    def submit(self, body: Mapping[str, Any]) -> Order:
        """Validate and accept a new order (the `POST /v2/orders` body)."""
        order = self._build(body)
        if order.client_order_id in self.reject_ids:
            self.reject_ids.discard(order.client_order_id)
            order.status = "rejected"
            order.failed_at = self.now
            order.reject_reason = "rejected by the venue's fault plan (reject_orders)"
            self._register(order)
            self._emit("rejected", order)
            return order
        self._check_funds(order)
        self._register(order)
        self._emit("new", self._set(order, "new"))
        return order

    def _set(self, order: Order, status: str) -> Order:
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

    def _build(self, body: Mapping[str, Any]) -> Order:
        symbol = str(body.get("symbol") or "").upper()
        option = self.options is not None and is_option_symbol(symbol)
        if symbol not in self.symbols and not option:
            raise invalid(f"asset {symbol!r} not found" if symbol else "symbol is required")
        if option:
            self._check_option(symbol, body)
        qty, notional = _number(body, "qty"), _number(body, "notional")
        if (qty is None) == (notional is None):
            raise invalid("exactly one of qty or notional is required")
        if (qty is not None and qty <= 0) or (notional is not None and notional <= 0):
            raise invalid("qty must be > 0" if notional is None else "notional must be > 0")
        side = str(body.get("side") or "")
        if side not in ("buy", "sell"):
            raise invalid(f"invalid side: {side!r}")
        kind = str(body.get("type") or body.get("order_type") or "")
        if kind not in ORDER_TYPES:
            raise invalid(f"invalid order type: {kind!r}")
        tif = str(body.get("time_in_force") or "")
        if tif not in TIME_IN_FORCE:
            raise invalid("invalid time_in_force")
        limit, stop = _number(body, "limit_price"), _number(body, "stop_price")
        self._check_prices(kind, limit, stop)
        cid = str(body.get("client_order_id") or uuid.uuid4())
        if cid in self.by_client_id:
            raise invalid("client_order_id must be unique")
        order_class = str(body.get("order_class") or "simple")
        if order_class not in ORDER_CLASSES:
            raise invalid(f"order_class {order_class!r} is not supported")
        coin = crypto.refusal(symbol, tif, kind, order_class)
        if coin is not None:
            raise VenueError(422, *coin)
        refused = timeinforce.refusal(tif, kind, order_class, self.now, self.calendar)
        if refused is not None:
            raise invalid(refused)
        fractional = notional is not None or not float(qty or 0).is_integer()
        shares = not crypto.is_crypto(symbol)  # a coin is fractional in any time in force
        if (
            shares
            and fractional
            and (tif != "day" or order_class != "simple" or kind == "trailing_stop")
        ):
            raise invalid("fractional orders must be simple DAY orders (not trailing stops)")
        if notional is not None and kind != "market":
            raise invalid("notional orders must be market orders")
        if tif == "cls" and kind not in ("market", "limit"):
            raise invalid("cls orders must be market or limit orders")
        order = Order(
            id=str(uuid.uuid4()),
            client_order_id=cid,
            symbol=symbol,
            side=side,
            type=kind,
            time_in_force=tif,
            qty=qty or 0.0,
            notional=notional,
            created_at=self.now,
            updated_at=self.now,
            fillable_from=self.fill.fillable_from(self.now),
            limit_price=limit,
            stop_price=stop,
            order_class=order_class,
            extended_hours=bool(body.get("extended_hours") or False),
        )
        if tif in ("day", "cls"):
            order.session_date = self.calendar.session_date_for(self.now)
        if tif == "opg":  # the session whose opening auction it is for
            order.session_date = timeinforce.opening_session(self.now, self.calendar)
        if kind == "trailing_stop":
            ordertypes.check_trailing(order, body, self.last_price.get(symbol))
        if tif == "cls":  # submitted with no regular bar left: the last close is the close
            order.annotated_close = self.last_price.get(symbol)
        if order_class == "bracket":
            self._attach_legs(order, body)
        elif order_class in ("oco", "oto"):
            order.legs.append(ordertypes.exit_leg(order, body, held=order_class == "oto"))
        if order_class in ("oco", "bracket") and cid in self.leg_first_ids:
            self.leg_first_ids.discard(cid)
            order.leg_first = True
        return order

    def _check_option(self, symbol: str, body: Mapping[str, Any]) -> None:
        """Alpaca's option rules, and a contract listed now (its quote marks it until the
        next step quotes it again)."""
        assert self.options is not None
        refused = option_refusal(body)
        if refused is not None:
            raise refused
        if str(body.get("order_class") or "simple") != "simple":
            raise VenueError(422, 42210000, "option orders are simple (single-leg) on this venue")
        quote = self.options.quote(symbol, self.calendar.naive(self.now))
        if quote is None:
            raise VenueError(422, 42210000, f"invalid symbol: {symbol} is not listed now")
        if symbol not in self.positions:
            self.last_price[symbol] = quote.ask if body.get("side") == "buy" else quote.bid

    @staticmethod
    def _check_prices(kind: str, limit: float | None, stop: float | None) -> None:
        if kind in ("market", "trailing_stop") and (limit is not None or stop is not None):
            raise invalid(f"{kind} orders require no stop or limit price")
        if kind in ("limit", "stop_limit") and limit is None:
            raise invalid(f"{kind} orders require a limit price")
        if kind in ("stop", "stop_limit") and stop is None:
            raise invalid(f"{kind} orders require a stop price")
        if kind == "limit" and stop is not None:
            raise invalid("limit orders require no stop price")
        if kind == "stop" and limit is not None:
            raise invalid("stop orders require no limit price")
        if limit is not None and limit <= 0:
            raise invalid("limit price must be > 0")
        if stop is not None and stop <= 0:
            raise invalid("stop price must be > 0")

    def _attach_legs(self, parent: Order, body: Mapping[str, Any]) -> None:
        take = body.get("take_profit") or {}
        loss = body.get("stop_loss") or {}
        if not isinstance(take, Mapping) or not isinstance(loss, Mapping):
            raise invalid("take_profit and stop_loss must be objects")
        tp = _number(take, "limit_price")
        sl = _number(loss, "stop_price")
        sl_limit = _number(loss, "limit_price")
        if tp is None or sl is None:
            raise invalid("bracket orders require take_profit.limit_price and stop_loss.stop_price")
        if parent.type not in ("market", "limit"):
            raise invalid("bracket orders must be market or limit orders")
        if tp <= 0 or sl <= 0:
            raise invalid("take_profit and stop_loss prices must be > 0")
        if (parent.side == "buy" and tp <= sl) or (parent.side == "sell" and tp >= sl):
            raise invalid("take_profit.limit_price must be on the profit side of stop_loss")
        leg_side = "sell" if parent.side == "buy" else "buy"
        for kind, limit, stop in (
            ("limit", tp, None),
            ("stop_limit" if sl_limit is not None else "stop", sl_limit, sl),
        ):
            parent.legs.append(
                Order(
                    id=str(uuid.uuid4()),
                    client_order_id=str(uuid.uuid4()),
                    symbol=parent.symbol,
                    side=leg_side,
                    type=kind,
                    time_in_force=parent.time_in_force,
                    qty=parent.qty,
                    created_at=self.now,
                    updated_at=self.now,
                    fillable_from=self.now,
                    limit_price=limit,
                    stop_price=stop,
                    order_class="bracket",
                    status="held",
                    parent_id=parent.id,
                )
            )

    def _check_funds(self, order: Order) -> None:
        if order.side == "buy":
            price = order.reference_price or self.last_price.get(order.symbol, 0.0)
            cost = (
                order.qty * price * multiplier(order.symbol)
                if order.notional is None
                else order.notional
            )
            power = self.buying_power()
            if cost > power + EPS:
                raise VenueError(
                    403,
                    40310000,
                    "insufficient buying power",
                    buying_power=_text(power),
                    cost_basis=_text(cost),
                )
            return
        position = self.positions.get(order.symbol)
        existing = position.qty if position else 0.0
        held = self.held_for_orders(order.symbol)
        available = max(existing - held, 0.0)
        wanted = order.qty
        if order.notional is not None:
            wanted = order.notional / self.last_price.get(order.symbol, math.inf)
        if wanted > available + EPS:
            raise VenueError(
                403,
                40310000,
                f"insufficient qty available for order (requested: {_text(order.qty)}, "
                f"available: {_text(available)})",
                available=_text(available),
                existing_qty=_text(existing),
                held_for_orders=_text(held),
                symbol=order.symbol,
            )

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
        if order.parent_id is not None:
            parent = self.orders[order.parent_id]
            if parent.order_class == "oco":
                self._cancel_one(parent)
            for leg in parent.legs:
                self._cancel_one(leg)
            return order
        self._cancel_one(order)
        for leg in order.legs:
            self._cancel_one(leg)
        return order

    def _cancel_one(self, order: Order) -> None:
        if order.is_open:
            order.status = "canceled"
            order.canceled_at = self.now
            self._emit("canceled", order)

    def cancel_all(self) -> list[Order]:
        """Cancel every open order; returns the top-level orders canceled."""
        done = []
        for order in list(self.orders.values()):
            if order.parent_id is None and (
                order.is_open or any(leg.is_open for leg in order.legs)
            ):
                self._cancel_one(order)
                for leg in order.legs:
                    self._cancel_one(leg)
                done.append(order)
        return done

    def replace(self, order_id: str, body: Mapping[str, Any]) -> Order:
        """`PATCH /v2/orders/{id}`: a new order replaces an open one."""
        old = self.get(order_id)
        if not old.is_open or old.status == "held":
            raise VenueError(422, 42210000, f"cannot replace order in {old.status} status")
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
        self._check_prices(old.type, limit, stop)
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
        self._emit("replaced", old)
        self._emit("new", self._set(new, "new"))
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
            self._settle_options(when)
        self._expire(when)
        for order in self._time_priority():
            bar = bars.get(order.symbol)
            if bar is None and order.is_open and self.options is not None:
                if is_option_symbol(order.symbol) and when >= order.fillable_from:
                    self._match_option(order, when, bars)
                continue
            if bar is None or not order.is_open or order.status == "held":
                continue
            if when < order.fillable_from:
                continue
            if order.time_in_force == "opg" and when < self._opening(order):
                continue  # waits for its opening auction
            if loses_tie(self.orders, self.fill, self.calendar, self.bar, order, when, bar):
                continue  # its partner exit fills on this bar, and cancels it
            self._match(order, when, bar)
            if timeinforce.done_after_match(order.time_in_force) and order.is_open:
                self._cancel_one(order)  # ioc, fok, opg: the rest is canceled
        for symbol, bar in bars.items():
            self.last_price[symbol] = bar.close
        if self.options is not None:  # option positions mark at their quote's mid
            for symbol in [s for s in self.positions if is_option_symbol(s)]:
                quote = self.options.step_quote(symbol, self.calendar.naive(when), bars)
                if quote is not None:
                    self.last_price[symbol] = quote.mid

    def _settle_options(self, when: datetime) -> None:
        """Option positions whose expiry session closed before `when`: in the money by $0.01
        or more at the underlying's last close, exercised (a long call buys the shares at the
        strike, a long put sells them); otherwise expired worthless. Positions and cash change
        here, as on Alpaca paper; each is an activity (OPEXC + OPTRD, or OPEXP)."""
        assert self.options is not None
        for symbol in [s for s in self.positions if is_option_symbol(s)]:
            contract = self.options.parse(symbol)
            close = self.calendar.close_of(contract.expiry)
            spot = self.last_price.get(contract.underlying)
            if when < close or spot is None:
                continue
            held = self.positions.pop(symbol).qty
            self.last_price.pop(symbol, None)
            moment = close.replace(tzinfo=None).isoformat()
            group = str(uuid.uuid4())
            if contract.intrinsic(spot) < ITM_THRESHOLD:
                self.option_events.append(
                    {"time": moment, "type": "OPEXP", "symbol": symbol, "qty": -held,
                     "net": 0.0, "group": group, "description": "Option Expiry"}
                )  # fmt: skip
                continue
            shares = held * contract.multiplier * (1 if contract.right == "call" else -1)
            cash = -shares * contract.strike
            self.cash += cash
            self._book_shares(contract.underlying, shares, contract.strike)
            self.option_events += [
                {"time": moment, "type": "OPEXC", "symbol": symbol, "qty": -held, "net": 0.0,
                 "group": group, "description": "Option Exercise"},
                {"time": moment, "type": "OPTRD", "symbol": contract.underlying, "qty": shares,
                 "price": contract.strike, "net": cash, "group": group,
                 "description": f"Option Trade: exercise of {symbol}"},
            ]  # fmt: skip

    def _book_shares(self, symbol: str, qty: float, price: float) -> None:
        """Shares delivered by an exercise: `qty` (+ received) at `price` (the strike)."""
        position = self.positions.get(symbol)
        if position is None:
            self.positions[symbol] = Position(qty, price)
            return
        total = position.qty + qty
        if abs(total) <= EPS:
            del self.positions[symbol]
        elif (position.qty > 0) == (qty > 0):
            position.avg_price = (position.qty * position.avg_price + qty * price) / total
            position.qty = total
        else:  # reduces the position (its average stays), or flips it (at the strike)
            position.avg_price = position.avg_price if (total > 0) == (position.qty > 0) else price
            position.qty = total

    def _match_option(self, order: Order, when: datetime, bars: Mapping[str, Bar]) -> None:
        """An option order meets the contract's quote at this step: all of it at the ask or
        bid (the venue's option costs), a limit only when that price is within it."""
        assert self.options is not None
        quote = self.options.step_quote(order.symbol, self.calendar.naive(when), bars)
        if quote is None:
            return
        price = self.options.fill_price(order.side, quote, order.limit_price)
        if price is not None:
            self._fill(order, order.remaining, price, when)

    def _time_priority(self) -> list[Order]:
        """Orders in the order they were placed, as Backtrader matches them (the first order of
        an `oco` group to fill cancels the other): when the stop was placed first (`leg_first`)
        an `oco` pair's stop leg goes before its limit, and a bracket's stop-loss before its
        take-profit (both after the bracket's entry)."""
        out: list[Order] = []
        for order in self.orders.values():
            parent = self.orders.get(order.parent_id) if order.parent_id else None
            if parent is not None and parent.leg_first:
                continue  # placed beside its parent, below
            if order.leg_first and order.order_class == "oco":
                out.extend(order.legs)
            out.append(order)
            if order.leg_first and order.order_class == "bracket":
                out.extend(sorted(order.legs, key=lambda leg: not leg.type.startswith("stop")))
        return out

    def _expire(self, when: datetime) -> None:
        for order in list(self.orders.values()):
            if (
                order.is_open
                and order.status != "held"
                and order.time_in_force != "cls"
                and order.session_date is not None
                and when >= self.calendar.close_of(order.session_date)
            ):
                order.status = "expired"
                order.expired_at = self.now
                self._emit("expired", order)
                if order.parent_id is None:
                    for leg in order.legs:
                        self._cancel_one(leg)
                else:
                    for leg in self.orders[order.parent_id].legs:
                        self._cancel_one(leg)

    def _opening(self, order: Order) -> datetime:
        assert order.session_date is not None
        return self.calendar.open_of(order.session_date)

    def _price(self, order: Order, bar: Bar, when: datetime) -> float | None:
        buy = order.side == "buy"
        if order.time_in_force == "opg":
            limit = order.limit_price if order.type == "limit" else None
            return timeinforce.opg_price(self.fill, buy, limit, bar)
        if order.time_in_force == "cls":
            assert order.session_date is not None
            over = when >= self.calendar.close_of(order.session_date)
            price = ordertypes.close_price(order, bar, when, over)
            if price is None or order.type == "market":
                return price
            assert order.limit_price is not None  # a limit-on-close: the close within the limit
            within = price <= order.limit_price if buy else price >= order.limit_price
            return price if within else None
        if order.type == "market":
            return self.fill.market(buy, bar)
        if order.type == "trailing_stop":
            return ordertypes.trailing_price(self.fill, order, bar)
        if order.type == "limit":
            assert order.limit_price is not None
            return self.fill.limit(buy, bar, order.limit_price)
        if order.type == "stop":
            assert order.stop_price is not None
            return self.fill.stop(buy, bar, order.stop_price)
        assert order.limit_price is not None and order.stop_price is not None
        if order.triggered:
            return self.fill.limit(buy, bar, order.limit_price)
        triggered, price = self.fill.stop_limit(buy, bar, order.stop_price, order.limit_price)
        order.triggered = triggered
        return price

    def _match(self, order: Order, when: datetime, bar: Bar) -> None:
        price = self._price(order, bar, when)
        if price is None:
            return
        if order.time_in_force == "cls" and order.annotated_at is not None:
            when = order.annotated_at  # filled at the close of the session's last bar
        if order.notional is not None and order.filled_qty <= EPS:
            order.qty = ordertypes.notional_qty(order.notional, price)
        qty = self.fill.quantity(order.remaining, bar.volume)
        qty = timeinforce.fillable(order.time_in_force, qty, order.remaining)  # fok: all or none
        if qty <= EPS:
            return
        self._fill(order, qty, price, when)

    def _fill(self, order: Order, qty: float, price: float, when: datetime) -> None:
        instrument = instrument_for(order.symbol)
        commission = self.fill.commission(  # the minimum once per order; limits: maker
            qty,
            price,
            prior_qty=order.filled_qty,
            prior_notional=order.filled_notional,
            instrument=instrument,
            sell=order.side == "sell",
            maker=order.type == "limit",
        )
        cash = qty * price * instrument.multiplier  # a premium is paid per contract x 100
        position = self.positions.get(order.symbol)
        if order.side == "buy":
            self.cash -= cash + commission
            if position is None:
                self.positions[order.symbol] = Position(qty, price)
            else:
                total = position.qty + qty
                position.avg_price = (position.qty * position.avg_price + qty * price) / total
                position.qty = total
        else:
            self.cash += cash - commission
            if position is not None:
                position.qty -= qty
                if abs(position.qty) <= EPS:
                    del self.positions[order.symbol]
            else:
                self.positions[order.symbol] = Position(-qty, price)
        order.filled_qty += qty
        order.filled_notional += qty * price
        done = order.remaining <= EPS
        order.status = "filled" if done else "partially_filled"
        if done:
            order.filled_at = when  # the fill happened at the open/touch of the bar at `when`
        execution = str(uuid.uuid4())
        held = self.positions.get(order.symbol)
        self.fills.append(
            {
                "order_id": order.id,
                "client_order_id": order.client_order_id,
                "symbol": order.symbol,
                "side": order.side,
                "qty": qty,
                "price": price,
                "commission": commission,
                "time": when.replace(tzinfo=None).isoformat(),
            }
        )
        self._emit(
            "fill" if done else "partial_fill",
            order,
            at=when,
            price=price,
            qty=qty,
            position_qty=held.qty if held else 0.0,
            execution_id=execution,
        )
        if done and order.legs and order.order_class == "oco":
            for leg in order.legs:
                self._cancel_one(leg)
        elif done and order.legs:
            self._activate_legs(order, when)
        if done and order.parent_id is not None:
            parent = self.orders[order.parent_id]
            if parent.order_class == "oco":
                self._cancel_one(parent)
            for leg in parent.legs:
                if leg is not order:
                    self._cancel_one(leg)

    def _activate_legs(self, parent: Order, when: datetime) -> None:
        """After the parent filled at the bar starting `when`, its legs work from the next bar."""
        for leg in parent.legs:
            if leg.status != "held":
                continue
            leg.qty = parent.filled_qty
            leg.fillable_from = when + timedelta(microseconds=1)
            if leg.time_in_force == "day":
                leg.session_date = self.calendar.session_date_for(self.now)
            self._emit("new", self._set(leg, "new"))


ITM_THRESHOLD = 0.01  # in the money by this much at the close: exercised (Alpaca's rule)


def _text(value: float) -> str:
    from parity.venue.models import decimal

    return decimal(value)
