"""The simulated broker: Backtrader's BackBroker whose fills (price, partial quantity, latency,
commission) come from the one fill model, `parity.engine.fills.FillModel`, plus a short-sale
guard. Market orders fill at the next bar's open (default) or the decision bar's close.

With fills at the close, Backtrader's cheat-on-close executes an order at the start of the next
bar (at the decision bar's close price), so the decision bar's equity did not include it and an
order decided on the last bar never filled. `CloseFills` (an analyzer the runner adds before the
recorder) settles those orders right after the strategy's `next()`, on the bar that decided."""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import backtrader as bt

from parity.brokers.alpaca_orders import alpaca_rules, resize
from parity.brokers.core import OrderReview, would_short
from parity.brokers.sim_exits import loses_tie
from parity.brokers.sim_timing import bar_milliseconds, bar_start, day_session_over, tick
from parity.costs import CostModel
from parity.engine.ambiguity import FinerBars, Rule
from parity.engine.fills import Bar, FillModel, notional_quantity
from parity.instruments import instrument_of


class ParityCommission(bt.CommInfoBase):
    """`CostModel.commission` as Backtrader's commission scheme (stocks, and any instrument
    paid in full whose cash per point per unit is `mult`: 100 for a US equity option).

    `getcommission(size, price)` prices a whole order; `for_order(order)` gives the view that
    prices one execution of `order` (what the order owes after it minus what it owed before), so
    partial fills pay the minimum once. `with_multiplier(m)` is the same scheme for an
    instrument of multiplier `m` (the broker picks it by the data's instrument)."""

    params = (
        ("costs", CostModel()),
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
        ("percabs", True),
    )
    _base: ParityCommission | None = None  # set on a per-order view: the shared object
    _prior = (0.0, 0.0)  # a view's order: quantity and notional filled before
    _maker = False  # a view's order is a limit order: it pays the maker's rate

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # params are taken by Backtrader
        super().__init__(*args, **kwargs)
        self.costs: CostModel = self.p.costs

    def with_multiplier(self, multiplier: float) -> ParityCommission:
        """This scheme for an instrument of `multiplier` (`Instrument.multiplier`)."""
        return ParityCommission(costs=self.p.costs, mult=multiplier)

    # Backtrader's stock-like scheme leaves `mult` out of the cash an operation costs and of a
    # position's value (it only scales P&L): with a multiplier the three agree here
    def getoperationcost(self, size: float, price: float) -> float:
        return float(abs(size) * price * self.p.mult)

    def getvaluesize(self, size: float, price: float) -> float:
        return float(size * price * self.p.mult)

    def getvalue(self, position: Any, price: float) -> float:
        return float(super().getvalue(position, price) * self.p.mult)

    def getsize(self, price: float, cash: float) -> float:
        return float(super().getsize(price * self.p.mult, cash))

    def for_order(self, order: bt.Order) -> ParityCommission:
        """A view pricing the next executions of `order` (call before `order.execute`)."""
        view = copy.copy(self)
        view._base = self
        done = order.executed
        view._prior = (abs(done.size), abs(done.size * done.price))
        view._maker = order.exectype == bt.Order.Limit
        return view

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        qty, notional = self._prior
        # Backtrader signs `size` with the order's side: a sell pays the sell-only charge
        fee = self.costs.commission(
            size,
            price,
            prior_qty=qty,
            prior_notional=notional,
            multiplier=self.p.mult,
            sell=size < 0,
            maker=self._maker,
        )
        if self._base is None:
            return fee
        if pseudoexec:  # getcommission: one part of an execution; confirmexec only asks again
            self._prior = (qty + abs(size), notional + abs(size) * price)
        return fee


class SimBroker(bt.brokers.BackBroker):
    """BackBroker that prices fills with a `FillModel` (param `fill`) and whose orders pass the
    core's `OrderReview` (warm-up gate, short guard when shorting is off, risk limits) before
    they are submitted."""

    params = (("allow_short", False), ("fill", FillModel()))

    def __init__(self, review: OrderReview | None = None, options: Any = None) -> None:
        """`review`: the run's (warm-up, short guard, risk); `options`: a
        `parity.options.OptionsDesk` the broker prices option orders with (None: no options)."""
        super().__init__()
        review = review or OrderReview()
        self._by_multiplier = {}
        self._scheme_of: dict[int, Any] = {}  # id(data) -> its commission scheme
        self._with_bars: set[int] = set()  # id(data) of the datas known to have a bar
        self.review = review if self.p.allow_short else review.with_short_guard(self._would_short)
        self.options = options

    def submit(self, order: bt.Order, check: bool = True) -> bt.Order:
        if self.p.coc:  # a close fill is capped by the decision bar's range, not the next bar's
            order.addinfo(decision_high=order.data.high[0], decision_low=order.data.low[0])
        if self._ocos.get(order.ref, order.ref) != order.ref:
            order.addinfo(oco_partner=True)
        # as the paper broker refuses it: Alpaca's cls cut-off, crypto and fractional rules
        reason = self.review.refusal(order, self, venue_rule=alpaca_rules)
        if reason:
            return self._refuse(order, reason)
        return super().submit(order, check)

    def _refuse(self, order: bt.Order, reason: str) -> bt.Order:
        """Reject `order`; a refused child takes its untransmitted parent and siblings along
        (rejected and notified, never left waiting), as Backtrader rejects later children."""
        parent = order.parent
        waiting = parent is not None and parent.status == bt.Order.Created
        group = self._pchildren.pop(parent.ref, ()) if waiting else ()
        for held in (*group, order):
            held.addinfo(reason=reason if held is order else f"a child order was refused: {reason}")
            self.orders.append(held)
            held.reject(self)
            self.notify(held)
        return order

    def next(self) -> None:
        # a position of a data with no bar yet (restored on resume, or an empty one bound at
        # start) cannot be marked: Backtrader's own next() would read a bar that does not exist
        waiting = {}
        if len(self._with_bars) < len(self.positions):  # a data's length never falls back to 0
            for data, position in self.positions.items():
                if id(data) in self._with_bars:
                    continue
                if len(data):
                    self._with_bars.add(id(data))
                else:
                    waiting[data] = position
        for data in waiting:
            del self.positions[data]
        try:
            super().next()
        finally:
            self.positions.update(waiting)
        if self.options is not None:  # option fills at this bar's open quotes, then its value
            self.options.open_bar()
            self._get_value()

    # ------------------------------------------------------------------ the options desk's account
    def _get_value(self, datas: Any = None, lever: bool = False) -> Any:
        value = super()._get_value(datas=datas, lever=lever)
        if datas is not None or self.options is None:
            return value
        marks = float(self.options.marked_value())  # open option positions at mid
        self._value += marks
        self._valuelever += marks
        return value + marks

    def refresh_value(self) -> None:
        self._get_value()

    def move_cash(self, amount: float) -> None:
        """Premium, costs and settlements of the options desk: cash now (not at the next bar,
        as Backtrader's `add_cash` does)."""
        self.cash += amount

    def shares(self, data: Any) -> float:
        return float(self.getposition(data).size)

    def deliver(self, data: Any, size: float, price: float) -> None:
        """Shares delivered by exercise or assignment: `size` (+ received) at `price` (the strike);
        the cash moves separately (`move_cash`)."""
        self.getposition(data).update(size, price)

    _executing: bt.Order | None = None  # the order `_execute` is filling
    _by_multiplier: dict[tuple[int, float], ParityCommission]

    def _execute(
        self,
        order: bt.Order,
        ago: int | None = None,
        price: float | None = None,
        cash: float | None = None,
        position: Any = None,
        dtcoc: float | None = None,
    ) -> Any:
        # partial fills (a volume filler) pay the commission minimum once per order: the
        # commission of this execution comes from a per-order view (see `getcommissioninfo`)
        self._executing = order if ago is not None else None
        try:
            return super()._execute(order, ago, price, cash, position, dtcoc)
        finally:
            self._executing = None
            base = getattr(order.comminfo, "_base", None)
            if base is not None:
                order.comminfo = base

    def getcommissioninfo(self, data: Any) -> Any:
        # asked for every held position twice a bar: a data's scheme is looked up once
        comminfo = self._scheme_of.get(id(data))
        if comminfo is None:
            comminfo = self._scheme_of[id(data)] = self._scheme(data)
        if self._executing is not None and isinstance(comminfo, ParityCommission):
            return comminfo.for_order(self._executing)
        return comminfo

    def _scheme(self, data: Any) -> Any:
        comminfo = super().getcommissioninfo(data)
        multiplier = instrument_of(data).multiplier
        if isinstance(comminfo, ParityCommission) and multiplier != comminfo.p.mult:
            key = (id(comminfo), multiplier)  # one scheme per instrument multiplier
            scheme = self._by_multiplier.get(key)
            if scheme is None:
                scheme = self._by_multiplier[key] = comminfo.with_multiplier(multiplier)
            comminfo = scheme
        return comminfo

    def addcommissioninfo(self, comminfo: Any, name: str | None = None) -> None:
        self._scheme_of.clear()  # (setcommission comes here too)
        super().addcommissioninfo(comminfo, name)

    def _try_exec(self, order: bt.Order) -> None:
        """Backtrader's order matching with the prices of the fill model (Close and Historical
        orders, which take a recorded price without slippage, stay Backtrader's)."""
        kind = order.exectype
        if kind in (bt.Order.Close, bt.Order.Historical):
            super()._try_exec(order)
            return
        fill: FillModel = self.p.fill
        if kind == bt.Order.Market and day_session_over(order):
            # a day order (or its partly filled rest) whose session closed first, reached by
            # the book or not: expired at the close as at the venue and Alpaca, never filled
            # at the next open
            self._expire(order)
            return
        if fill.latency_ms and not self._reached_book(order):
            return
        data = order.data
        prices = (tick(data, "open"), tick(data, "high"), tick(data, "low"), tick(data, "close"))
        bar = Bar(*prices, float(data.volume[0]))
        buy = order.isbuy()
        created = order.created
        if kind == bt.Order.Market:
            self._fill_market(order, bar)
            return
        if kind in (bt.Order.Limit, bt.Order.Stop) and loses_tie(self, order, bar):
            return  # its partner exit fills on this bar, and cancels it
        if kind == bt.Order.Limit:
            price = fill.limit(buy, bar, created.price)
        elif order.triggered and kind in (bt.Order.StopLimit, bt.Order.StopTrailLimit):
            price = fill.limit(buy, bar, created.pricelimit)
            kind = None  # a triggered stop-limit no longer trails
        elif kind in (bt.Order.Stop, bt.Order.StopTrail):
            price = fill.stop(buy, bar, created.price)
        else:
            triggered, price = fill.stop_limit(buy, bar, created.price, created.pricelimit)
            order.triggered = order.triggered or triggered
        self._execute(order, ago=0, price=price)
        if order.alive() and kind in (bt.Order.StopTrail, bt.Order.StopTrailLimit):
            order.trailadjust(bar.close)

    def _fill_market(self, order: bt.Order, bar: Bar) -> None:
        fill: FillModel = self.p.fill
        if self.p.coc and order.info.get("coc", True):
            # at the decision bar's close, capped by the decision bar's range (see `submit`)
            info = order.info
            decision = Bar(
                math.nan,
                info.get("decision_high", bar.high),
                info.get("decision_low", bar.low),
                order.created.pclose,
                math.nan,
            )
            price = fill.at_close(order.isbuy(), decision)
            self._size_notional(order, price)
            self._execute(order, ago=0, price=price, dtcoc=order.created.dt)
            return
        if not self.p.coo and order.data.datetime[0] <= order.created.dt:
            return  # can only execute after creation time
        price = fill.market(order.isbuy(), bar)
        self._size_notional(order, price)
        self._execute(order, ago=0, price=price)

    @staticmethod
    def _size_notional(order: bt.Order, price: float) -> None:
        """A `notional=` order buys what its dollars buy at its fill price (nine decimals,
        down), as Alpaca and the local venue size it."""
        notional = order.info.get("notional")
        if notional is not None and not order.executed.size:
            resize(order, notional_quantity(float(notional), price))

    def _expire(self, order: bt.Order) -> None:
        order.status = bt.Order.Expired
        order.executed.dt = order.data.datetime[0]
        self.notify(order)
        self._ococheck(order)
        self._bracketize(order, cancel=True)

    def _reached_book(self, order: bt.Order) -> bool:
        """Whether the current bar starts at or after the moment `order` can fill: sent at the
        end of its decision bar, plus the latency (as the local venue times it)."""
        data = order.data
        sent = bar_start(data, order.created.dt) + bar_milliseconds(data)
        return bar_start(data, data.datetime[0]) >= sent + self.p.fill.latency_ms

    def _fill_volume(self, order: bt.Order, price: float, ago: int) -> float:
        """Backtrader's volume filler: the fill model's share of the bar's volume."""
        return self.p.fill.quantity(abs(order.executed.remsize), order.data.volume[ago])

    def fill_at_close(self) -> None:
        """With fills at the close: accept the orders submitted during this bar and execute its
        market orders now, at this bar's close. Notifications are queued as usual (the strategy
        sees them before its next `next()`, as before); other order types wait for the next bar.
        """
        if not self.p.coc or not self.submitted:
            return
        self.check_submitted()
        for _ in range(len(self.pending)):
            order = self.pending.popleft()
            if order.exectype == bt.Order.Market and order.active() and order.info.get("coc", True):
                self._try_exec(order)
                if order.status == bt.Order.Completed:
                    self._bracketize(order)
            if order.alive():
                self.pending.append(order)
        self._get_value()

    def _would_short(self, order: bt.Order) -> bool:
        """Whether `order` (a sell) could leave the position short (see `core.would_short`)."""
        held = self.getposition(order.data).size
        return would_short(order, held, (*self.submitted, *self.pending), self._exit_group)

    def _exit_group(self, order: bt.Order) -> Any:
        """Orders of which at most one fills: one parent's children, or one OCO group."""
        if order.parent is not None:
            return ("parent", order.parent.ref)
        return ("oco", self._ocos.get(order.ref, order.ref))


class CloseFills(bt.Analyzer):
    """Settles the decision bar's market orders at its close (`SimBroker.fill_at_close`) before
    the analyzers added after it record the bar. Add it first."""

    def next(self) -> None:
        self.strategy.broker.fill_at_close()


def build_sim_broker(
    *,
    cash: float,
    costs: CostModel,
    fill_at: Literal["open", "close"] = "open",
    allow_short: bool = False,
    volume_share: float = 1.0,
    latency_ms: int = 0,
    review: OrderReview | None = None,
    options: Any = None,
    ambiguous: Rule | None = None,
    finer: FinerBars | None = None,
) -> SimBroker:
    """A ready `SimBroker` for `cerebro.broker = ...`: fills priced by
    `FillModel(costs, volume_share, latency_ms, ambiguous, finer)`; `review`: the run's, with
    its risk."""
    fill = FillModel(
        costs=costs, volume_share=volume_share, latency_ms=latency_ms, ambiguous=ambiguous,
        finer=finer,
    )  # fmt: skip
    broker = SimBroker(  # type: ignore[call-arg]  # (the params go to Backtrader)
        review, options, cash=cash, coc=fill_at == "close", allow_short=allow_short, fill=fill
    )
    if fill.volume_share < 1.0:
        broker.set_filler(broker._fill_volume)
    broker.addcommissioninfo(ParityCommission(costs=costs))
    return broker
