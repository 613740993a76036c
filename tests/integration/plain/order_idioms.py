"""Strategies written for plain Backtrader (no parity base class), one per order idiom, for the
backtest-vs-rehearsal differential tests. Each enters 10 shares when flat and idle, every
`every` bars after a 30-bar warm-up, and exits with the idiom under test."""

from __future__ import annotations

import datetime as dt

import backtrader as bt


class _Cycle(bt.Strategy):
    params = (("every", 7),)

    def __init__(self) -> None:
        self.orders: list[bt.Order] = []

    def idle(self) -> bool:
        return not any(o.alive() for o in self.orders)

    def next(self) -> None:
        due = len(self) >= 30 and len(self) % self.p.every == 0
        if due and self.idle() and not self.position:
            self.enter()

    def enter(self) -> None:
        self.orders.append(self.buy(size=10))

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed and order.isbuy():
            self.exit(order)

    def exit(self, entry: bt.Order) -> None:
        raise NotImplementedError


class StopTrailExit(_Cycle):
    """A trailing stop $0.15 (or `percent` %) under the best close since the entry."""

    params = (("percent", 0.0),)

    def exit(self, entry: bt.Order) -> None:
        trail = {"trailpercent": self.p.percent / 100} if self.p.percent else {"trailamount": 0.15}
        self.orders.append(self.sell(size=10, exectype=bt.Order.StopTrail, **trail))


class StopTrailLimitExit(_Cycle):
    """Alpaca has no trailing stop-limit: refused in paper."""

    def exit(self, entry: bt.Order) -> None:
        order = self.sell(size=10, exectype=bt.Order.StopTrailLimit, trailamount=0.15, price=None)
        self.orders.append(order)


class OcoExit(_Cycle):
    """A take-profit limit and a protective stop `band` dollars either side of the entry, as
    an OCO pair (the limit sent first, the stop naming it; `stop_first` the other way round)."""

    params = (("band", 0.2), ("stop_first", False))

    def exit(self, entry: bt.Order) -> None:
        price, band = entry.executed.price, self.p.band
        up, down = round(price + band, 2), round(price - band, 2)
        if self.p.stop_first:
            stop = self.sell(size=10, exectype=bt.Order.Stop, price=down)
            tp = self.sell(size=10, exectype=bt.Order.Limit, price=up, oco=stop)
        else:
            tp = self.sell(size=10, exectype=bt.Order.Limit, price=up)
            stop = self.sell(size=10, exectype=bt.Order.Stop, price=down, oco=tp)
        self.orders += [tp, stop]


class OneChild(_Cycle):
    """An entry with one protective stop child (`parent=`, `transmit=False`)."""

    def enter(self) -> None:
        entry = self.buy(size=10, transmit=False)
        stop = round(self.data.close[0] - 0.15, 2)
        child = self.sell(size=10, exectype=bt.Order.Stop, price=stop, parent=entry)
        self.orders += [entry, child]

    def notify_order(self, order: bt.Order) -> None:
        pass


class ValidLimit(_Cycle):
    """Limit entries `under` dollars under the close, good for `entry_bars` bars; exits `over`
    dollars over the entry, good for `exit_bars` bars (a `timedelta`, as Backtrader takes it).
    `anytime=False`: entries only in regular hours."""

    params = (
        ("under", 0.05), ("over", 0.1), ("entry_bars", 3), ("exit_bars", 10),
        ("anytime", False),
    )  # fmt: skip

    def bars(self, n: int) -> dt.timedelta:
        daily = self.data._timeframe >= bt.TimeFrame.Days
        unit = dt.timedelta(days=1) if daily else dt.timedelta(minutes=self.data._compression)
        return unit * n

    def enter(self) -> None:
        now = self.data.datetime.time(0)
        if not self.p.anytime and not dt.time(9, 30) <= now < dt.time(15, 30):
            return
        price = round(self.data.close[0] - self.p.under, 2)
        valid = self.data.datetime.datetime(0) + self.bars(self.p.entry_bars)
        self.orders.append(self.buy(size=10, exectype=bt.Order.Limit, price=price, valid=valid))

    def exit(self, entry: bt.Order) -> None:
        price = round(entry.executed.price + self.p.over, 2)
        valid = self.bars(self.p.exit_bars)
        self.orders.append(self.sell(size=10, exectype=bt.Order.Limit, price=price, valid=valid))

    def notify_order(self, order: bt.Order) -> None:
        super().notify_order(order)
        if order.status == order.Expired and order.issell():
            self.orders.append(self.sell(size=10))


class CloseOrders(_Cycle):
    """Market-on-close, decided on the bar at `at` (HH:MM): buy on the close, sell on the next
    session's close."""

    params = (("at", "15:00"),)

    def next(self) -> None:
        if self.idle() and self.data.datetime.time(0) == dt.time.fromisoformat(self.p.at):
            kind = self.sell if self.position else self.buy
            self.orders.append(kind(size=10, exectype=bt.Order.Close))

    def notify_order(self, order: bt.Order) -> None:
        pass


class BracketValid(_Cycle):
    """`buy_bracket` with a limit entry good for 4 minutes, and legs too (`buy_bracket` gives
    them its `valid`): an expired leg cancels its sibling, and the position is sold at market."""

    def next(self) -> None:
        if self.position and self.idle():
            self.orders.append(self.sell(size=10))
        super().next()

    def enter(self) -> None:
        if not dt.time(9, 30) <= self.data.datetime.time(0) < dt.time(15, 30):
            return  # regular hours only, as ValidLimit
        close = self.data.close[0]
        valid = self.data.datetime.datetime(0) + dt.timedelta(minutes=4)
        self.orders += self.buy_bracket(
            size=10, exectype=bt.Order.Limit, price=round(close - 0.04, 2), valid=valid,
            stopprice=round(close - 0.3, 2), limitprice=round(close + 0.2, 2),
        )  # fmt: skip

    def notify_order(self, order: bt.Order) -> None:
        pass
