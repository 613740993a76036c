"""`OptionsDesk`: where a strategy trades options in a backtest. The simulated broker carries
one (`broker.options`) and calls it at each bar:

- `open_bar()` (from the broker's `next`, before the strategy): fills waiting orders at the
  bar's open quotes (with `fill_at=open`), then lets the chain learn the session's close;
- the strategy's `next()` reads the chain at the bar's close and submits orders;
- `close_bar()` (the `OptionsClose` analyzer, after the strategy, before the recorder): fills at
  the close quotes (with `fill_at=close`), expires unfilled day orders, settles contracts
  expiring at this session's close, applies the early-assignment rule, marks positions at mid.

Cash moves through the broker (`OptionAccount`); delivered shares become the underlying's
position there, so the equity curve and the stock book include them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import backtrader as bt
import pandas as pd

from parity.errors import ConfigError, StrategyError
from parity.instruments import OptionRight
from parity.instruments.calendars import ExchangeCalendar
from parity.options.book import Book, position_rows
from parity.options.buying_power import buying_power_refusal, fillable_units
from parity.options.chain import ChainQuery, ChainSource, Quote, session_close, session_open
from parity.options.contracts import OptionContract
from parity.options.costs import OptionCosts
from parity.options.events import DeskListener
from parity.options.fills import leg_fills
from parity.options.lifecycle import settle
from parity.options.margin import requirement
from parity.options.orders import Leg, OptionFill, OptionOrder
from parity.options.rules import DeskRules, OptionAccount


class OptionsDesk:
    def __init__(
        self,
        source: ChainSource,
        calendar: ExchangeCalendar,
        *,
        costs: OptionCosts | None = None,
        rules: DeskRules | None = None,
        fill_at: Literal["open", "close"] = "open",
        daily: bool = True,
        bar_period: dt.timedelta = dt.timedelta(days=1),
    ) -> None:
        self.source = source
        self.calendar = calendar
        self.costs = costs or OptionCosts()
        self.rules = rules or DeskRules()
        self.fill_at = fill_at
        self.daily = daily
        self.bar_period = bar_period
        self.book = Book()
        self._pending: list[OptionOrder] = []
        self._refs = 0
        self._groups = 0
        self._strategy: Any = None
        self._data: Any = None
        self._account: OptionAccount | None = None
        self._observed: dt.date | None = None
        self._listeners: list[DeskListener] = []

    # ------------------------------------------------------------------ wiring
    def attach(self, strategy: bt.Strategy) -> None:
        """Bind to the strategy's feed of the chain's underlying and to its broker."""
        names = [d._name for d in strategy.datas]
        found = [d for d in strategy.datas if d._name.upper() == self.source.underlying.upper()]
        if not found:
            raise ConfigError(
                f"the option chain's underlying {self.source.underlying} has no data feed "
                f"(feeds: {', '.join(names)}); add its bars to --symbols"
            )
        self._strategy, self._data, self._account = strategy, found[0], strategy.broker

    def listen(self, listener: DeskListener) -> None:
        """Tell `listener` every order, fill, final state, settlement and session mark."""
        self._listeners.append(listener)

    @property
    def underlying_data(self) -> Any:
        return self._data

    # ------------------------------------------------------------------ time
    def _label(self) -> dt.datetime:
        return self._data.datetime.datetime(0)

    def _moment(self, which: Literal["open", "close"]) -> dt.datetime:
        label = self._label()
        if self.daily:
            day = label.date()
            return (
                session_open(self.calendar, day)
                if which == "open"
                else session_close(self.calendar, day)
            )
        return label if which == "open" else label + self.bar_period

    def _session_over(self) -> bool:
        if self.daily:
            return True
        label = self._label()
        return label + self.bar_period >= session_close(self.calendar, label.date())

    def now(self) -> dt.datetime:
        """The moment the strategy decides at: this bar's close."""
        return self._moment("close")

    # ------------------------------------------------------------------ bar events
    def open_bar(self) -> None:
        if self._data is None or not len(self._data):
            return
        if self.fill_at == "open" and self._pending:
            self._work(self._moment("open"), float(self._data.open[0]))
        if self._session_over():
            day = self._label().date()
            if day != self._observed:
                self._observed = day
                self.source.observe_close(day, float(self._data.close[0]))

    def close_bar(self) -> None:
        if self._data is None or not len(self._data):
            return
        now, spot = self._moment("close"), float(self._data.close[0])
        if self.fill_at == "close" and self._pending:
            self._work(now, spot)
        if self._session_over():
            for order in [o for o in self._pending if o.tif == "day" and o.tried]:
                self._finish(order, "expired", "day order not filled by the session's close")
            self._settle(now, spot)
        self._mark(now, spot)

    # ------------------------------------------------------------------ strategy API: chain
    def chain(
        self,
        *,
        right: OptionRight | None = None,
        dte: tuple[int, int | None] = (0, None),
        strikes: tuple[float | None, float | None] = (None, None),
        moneyness: tuple[float | None, float | None] = (None, None),
        delta: tuple[float, float] | None = None,
    ) -> list[Quote]:
        """Quotes at this bar's close of the contracts that match (see `ChainQuery`)."""
        query = ChainQuery(right=right, dte=dte, strikes=strikes, moneyness=moneyness, delta=delta)
        return query.run(self.source, self.now(), float(self._data.close[0]))

    def expiries(self, *, dte: tuple[int, int | None] = (0, None)) -> list[dt.date]:
        """The expiry dates listed now within `dte` days (nothing is priced)."""
        return self.source.expiries(self.now(), min_dte=dte[0], max_dte=dte[1])

    def quote(self, contract: OptionContract) -> Quote | None:
        return self.source.quotes([contract], self.now(), float(self._data.close[0]))[0]

    # ------------------------------------------------------------------ strategy API: orders
    def buy(
        self, contract: OptionContract, qty: int = 1, *, limit: float | None = None, tag: str = ""
    ) -> OptionOrder:
        return self.combo([(contract, 1)], qty, debit=limit, tag=tag)

    def sell(
        self, contract: OptionContract, qty: int = 1, *, limit: float | None = None, tag: str = ""
    ) -> OptionOrder:
        return self.combo([(contract, -1)], qty, credit=limit, tag=tag)

    def combo(
        self,
        legs: Sequence[tuple[OptionContract | Quote, int]],
        qty: int = 1,
        *,
        credit: float | None = None,
        debit: float | None = None,
        tif: Literal["day", "gtc"] = "day",
        tag: str = "",
        group: int | None = None,
    ) -> OptionOrder:
        """Submit 1-4 legs (contract, ratio) as one all-or-none order; `credit`/`debit` is the
        net limit per unit (market without one). `group` closes or adjusts an open trade;
        without it the order opens a new one. Checked against buying power now: an order that
        does not fit is rejected with its reason (notified, like every status change)."""
        pairs = [(c.contract if isinstance(c, Quote) else c, r) for c, r in legs]
        self._refs += 1
        if group is None:
            self._groups += 1
            gid = self._groups
        elif group not in self.book.groups:
            raise StrategyError(f"option order names group {group}, which no order opened")
        else:
            gid = group
        order = OptionOrder(
            self._refs,
            tuple(Leg(c, r) for c, r in pairs),
            qty,
            self.now(),
            credit=credit,
            debit=debit,
            tif=tif,
            group=gid,
            tag=tag,
            side=self._side(pairs, credit, debit),
        )
        self.book.orders.append(order)
        for listener in self._listeners:
            listener.submitted(order)
        reason = self._check_buying_power(order)
        if reason:
            self._finish(order, "rejected", reason)
        else:
            self._accept(order)
        return order

    def _accept(self, order: OptionOrder) -> None:
        """`order` passed the desk's checks: it waits for a quote (a venue's desk sends it)."""
        self._pending.append(order)
        self._notify(order)

    def _side(
        self,
        pairs: Sequence[tuple[OptionContract, int]],
        credit: float | None,
        debit: float | None,
    ) -> Literal["buy", "sell"]:
        """A net debit buys, a net credit sells: the limit says which, else the net mid now."""
        if credit is not None or debit is not None:
            return "sell" if credit is not None else "buy"
        quotes = self.source.quotes([c for c, _ in pairs], self.now(), float(self._data.close[0]))
        net = sum(r * q.mid for (_, r), q in zip(pairs, quotes, strict=True) if q is not None)
        return "sell" if net < 0 else "buy"

    def close(
        self, group: int, *, credit: float | None = None, debit: float | None = None, tag: str = ""
    ) -> OptionOrder | None:
        """Submit the order that flattens `group`'s open legs (None when it is flat)."""
        legs = [(c, -q) for c, q in self.book.groups[group].legs.items() if q]
        if not legs:
            return None
        unit = _gcd([abs(q) for _, q in legs])
        return self.combo(
            [(c, q // unit) for c, q in legs],
            unit,
            credit=credit,
            debit=debit,
            group=group,
            tag=tag or self.book.groups[group].tag,
        )

    def cancel(self, order: OptionOrder) -> None:
        if order.alive:
            self._finish(order, "cancelled", "cancelled by the strategy")

    # ------------------------------------------------------------------ strategy API: book
    @property
    def positions(self) -> dict[OptionContract, int]:
        return dict(self.book.positions)

    def open_groups(self) -> list[int]:
        return [g.id for g in self.book.groups.values() if g.closed is None and not g.flat]

    def group_legs(self, group: int) -> dict[OptionContract, int]:
        return {c: q for c, q in self.book.groups[group].legs.items() if q}

    def group_value(self, group: int) -> float | None:
        """What closing `group` now would cost (positive) or bring (negative) per its current
        legs, at mid, in cash: None when a leg has no quote."""
        total = 0.0
        for contract, qty in self.group_legs(group).items():
            quote = self.quote(contract)
            if quote is None:
                return None
            total += qty * contract.multiplier * quote.mid
        return total

    def pending(self) -> list[OptionOrder]:
        return list(self._pending)

    def greeks(self) -> dict[str, float]:
        """Portfolio Greeks in units of the underlying (delta in shares, shares held included)."""
        out = dict.fromkeys(("delta", "gamma", "theta", "vega", "rho"), 0.0)
        now, spot = self.now(), float(self._data.close[0])
        held = list(self.book.positions.items())
        quotes = self.source.quotes([c for c, _ in held], now, spot) if held else []
        for (contract, qty), quote in zip(held, quotes, strict=True):
            if quote is None:
                continue
            for name in out:
                out[name] += qty * contract.multiplier * getattr(quote, name)
        out["delta"] += self._shares()
        return out

    def requirement(self) -> float:
        spot = float(self._data.close[0])
        return requirement(
            self.book.positions, self._shares(), spot, allow_naked=True, marks=self.book.marks
        ).amount

    def _shares(self) -> float:
        return self._account.shares(self._data) if self._account is not None else 0.0

    # ------------------------------------------------------------------ internals
    def _check_buying_power(self, order: OptionOrder) -> str:
        assert self._account is not None
        return buying_power_refusal(
            order, self._pending, self.book, self.source, self.costs,
            cash=self._account.cash, shares=self._shares(), now=self.now(),
            spot=float(self._data.close[0]), allow_naked=self.rules.allow_naked_options,
        )  # fmt: skip

    def _work(self, now: dt.datetime, spot: float) -> None:
        for order in list(self._pending):
            order.tried = True
            quotes = self.source.quotes([leg.contract for leg in order.legs], now, spot)
            if any(q is None for q in quotes):
                continue
            prices = [
                self.costs.fill_price(leg.ratio > 0, q.bid, q.ask)  # type: ignore[union-attr]
                for leg, q in zip(order.legs, quotes, strict=True)
            ]
            net = sum(leg.ratio * p for leg, p in zip(order.legs, prices, strict=True))
            if not order.accepts(net):
                continue
            units = fillable_units(order, quotes)  # type: ignore[arg-type]
            if units:
                self._fill(order, now, spot, quotes, prices, net, units)  # type: ignore[arg-type]

    def _fill(
        self,
        order: OptionOrder,
        now: dt.datetime,
        spot: float,
        quotes: Sequence[Quote],
        prices: Sequence[float],
        net: float,
        units: int,
    ) -> None:
        """Fill `units` combo units of `order` (all of it, or part of a single leg against the
        quoted size)."""
        fills = leg_fills(order, now, spot, quotes, prices, units, self.costs)
        self._book_fills(order, now, spot, fills, net, units)

    def _book_fills(
        self,
        order: OptionOrder,
        now: dt.datetime,
        spot: float,
        fills: Sequence[OptionFill],
        net: float,
        units: int,
    ) -> None:
        """`units` combo units of `order` filled at `net` as `fills` (a leg each): cash, the
        book, marks, the order's average, its listeners and the strategy's notifications (the
        venue desk books the venue's fills through here too)."""
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
        order.net = ((order.net or 0.0) * before + net * units) / order.filled  # average
        order.filled_at = now
        for listener in self._listeners:
            listener.filled(order, fills)
        if order.filled >= order.qty:
            self._finish(order, "filled", "")
        else:
            self._notify(order)  # partly filled: the rest waits for the next quote
        for fill in fills:
            self._notify_leg(order, fill)

    def _settle(self, now: dt.datetime, spot: float) -> None:
        assert self._account is not None
        day = now.date()
        held = list(self.book.positions.items())
        quotes = self.source.quotes([c for c, _ in held], now, spot) if held else []
        marks = {
            c: (q.mid if q is not None else None) for (c, _), q in zip(held, quotes, strict=True)
        }
        for event in settle(self.book, day, now, spot, marks, self.rules.lifecycle):
            self._account.move_cash(event.cash)
            if event.shares:
                self._account.deliver(self._data, event.shares, event.contract.strike)
            self.book.apply(event)
            for listener in self._listeners:
                listener.settled(event)
            self._notify_leg(None, event)

    def _mark(self, now: dt.datetime, spot: float) -> None:
        held = list(self.book.positions.items())
        quotes = self.source.quotes([c for c, _ in held], now, spot) if held else []
        for (contract, _), quote in zip(held, quotes, strict=True):
            if quote is not None:
                self.book.marks[contract] = quote.mid
        positions = position_rows(now, held, quotes, self.book.marks)
        if self._session_over() or held:
            greeks = (
                self.greeks()
                if held or self._shares()
                else dict.fromkeys(("delta", "gamma", "theta", "vega", "rho"), 0.0)
            )
            row = {
                "datetime": pd.Timestamp(now),
                "underlying_price": spot,
                "contracts": sum(abs(q) for _, q in held),
                "option_value": round(self.book.marked_value(), 6),
                **{k: round(v, 6) for k, v in greeks.items()},
                "shares": self._shares(),
                "requirement": round(self.requirement(), 6),
            }
            self.book.greeks.append(row)
            self.book.position_greeks.extend(positions)
            if self._session_over():
                marks = {c.symbol: m for c, m in self.book.marks.items()}
                for listener in self._listeners:
                    listener.marked(row, marks, positions)

    def event_stamp(self, event: OptionFill) -> float:
        """The Backtrader time of the bar `event` belongs to (the current bar: the desk
        settles at the close of the bar it happens in)."""
        return float(self._data.datetime[0])

    def marked_value(self) -> float:
        return self.book.marked_value()

    def _finish(self, order: OptionOrder, status: Any, reason: str) -> None:
        order.status, order.reason = status, reason
        if order in self._pending:
            self._pending.remove(order)
        for listener in self._listeners:
            listener.finished(order)
        self._notify(order)

    def _notify(self, order: OptionOrder) -> None:
        hook = getattr(self._strategy, "notify_combo", None)
        if hook is not None:
            hook(order)

    def _notify_leg(self, order: OptionOrder | None, fill: OptionFill) -> None:
        hook = getattr(self._strategy, "notify_leg", None)
        if hook is not None:
            hook(order, fill)

    # ------------------------------------------------------------------ manifest
    def describe(self) -> dict[str, Any]:
        return {
            "chain": self.source.describe(),
            "costs": self.costs.describe(),
            "rules": self.rules.describe(),
            "fill_at": self.fill_at,
            "quotes": "orders fill at the next quote after submission (the bar's open with "
            "fill_at=open, its close with fill_at=close); positions mark at mid",
        }

    def summary(self) -> tuple[str, ...]:
        return (self.source.summary(), self.costs.summary(), self.rules.lifecycle.summary())


def _gcd(values: list[int]) -> int:
    import math

    out = 0
    for v in values:
        out = math.gcd(out, v)
    return max(out, 1)
