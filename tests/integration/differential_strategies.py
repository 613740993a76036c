"""Strategies written for plain Backtrader (no parity base class), one per order idiom.

Each decides on the bar count it has seen and on prices only, so the same bars give the same
orders wherever it runs. Every strategy waits for its orders to end before it acts again."""

from __future__ import annotations

from typing import Any

import backtrader as bt

EVERY = 7  # bars between decisions


class _Waiting(bt.Strategy):
    params = (("band", 1.0),)  # scales the price offsets (smaller for minute bars)

    def off(self, fraction: float) -> float:
        """1 + fraction, the fraction scaled by `band`."""
        return 1.0 + fraction * self.p.band

    def __init__(self) -> None:
        self.open_orders: list[Any] = []

    def notify_order(self, order: Any) -> None:
        if not order.alive() and order in self.open_orders:
            self.open_orders.remove(order)

    def due(self) -> bool:
        return not self.open_orders and len(self) % EVERY == 0

    def track(self, *orders: Any) -> None:
        self.open_orders.extend(o for o in orders if o is not None)


class MarketRoundTrips(_Waiting):
    def next(self) -> None:
        if self.due():
            self.track(self.sell(size=10) if self.position else self.buy(size=10))


class LimitAndStop(_Waiting):
    """Limit entries just under the close, stop exits just under it (both may wait)."""

    def next(self) -> None:
        if not self.due():
            return
        close = self.data.close[0]
        if self.position:
            self.track(self.sell(size=10, exectype=bt.Order.Stop, price=close * self.off(-0.005)))
        else:
            self.track(self.buy(size=10, exectype=bt.Order.Limit, price=close * self.off(-0.002)))


class StopLimitEntries(_Waiting):
    def next(self) -> None:
        if not self.due():
            return
        close = self.data.close[0]
        if self.position:
            self.track(self.close())
        else:
            self.track(
                self.buy(
                    size=10,
                    exectype=bt.Order.StopLimit,
                    price=close * self.off(0.001),
                    plimit=close * self.off(0.004),
                )
            )


class TargetOrders(_Waiting):
    """order_target_size, _value and _percent in turn (they read broker.getvalue([data]))."""

    def next(self) -> None:
        if not self.due():
            return
        step = (len(self) // EVERY) % 4
        if step == 0:
            self.track(self.order_target_size(target=30))
        elif step == 1:
            self.track(self.order_target_value(target=self.data.close[0] * 12.5))
        elif step == 2:
            self.track(self.order_target_percent(target=0.05))
        else:
            self.track(self.order_target_percent(target=0.0))


class SizedEntries(_Waiting):
    def __init__(self) -> None:
        super().__init__()
        self.setsizer(bt.sizers.PercentSizer(percents=20))

    def next(self) -> None:
        if self.due():
            self.track(self.close() if self.position else self.buy())


class TwoDatas(_Waiting):
    def next(self) -> None:
        if not self.due():
            return
        for data in self.datas:
            held = self.getposition(data).size
            self.track(self.sell(data=data, size=held) if held else self.buy(data=data, size=5))


class Bracket(_Waiting):
    def next(self) -> None:
        if self.position or not self.due():
            return
        close = self.data.close[0]
        self.track(
            *self.buy_bracket(
                size=10,
                exectype=bt.Order.Market,
                limitprice=close * self.off(0.004),
                stopprice=close * self.off(-0.004),
            )
        )


class ParentWithStop(_Waiting):
    """The `parent=`/`transmit=False` idiom: an entry and its protective stop."""

    def next(self) -> None:
        if not self.due():
            return
        if self.position:
            self.track(self.close())
            return
        entry = self.buy(size=10, transmit=False)
        stop = self.sell(
            size=10,
            exectype=bt.Order.Stop,
            price=self.data.close[0] * self.off(-0.004),
            parent=entry,
        )
        self.track(entry, stop)


class OcoExits(_Waiting):
    """On the entry's fill, a take-profit limit and a protective stop as an OCO pair."""

    def notify_order(self, order: Any) -> None:
        super().notify_order(order)
        if order.status == order.Completed and order.isbuy():
            price = order.executed.price
            tp = self.sell(size=10, exectype=bt.Order.Limit, price=price * self.off(0.004))
            sl = self.sell(size=10, exectype=bt.Order.Stop, price=price * self.off(-0.004), oco=tp)
            self.track(tp, sl)

    def next(self) -> None:
        if not self.position and self.due():
            self.track(self.buy(size=10))


class CheatOnClose(MarketRoundTrips):
    """Asks the broker to fill market orders at the decision bar's close."""

    def start(self) -> None:
        self.broker.set_coc(True)


class OversizedChild(bt.Strategy):
    """A parent buy of 10 with a protective stop of 20: the stop would open a short."""

    def __init__(self) -> None:
        self.states: list[tuple[str, str]] = []

    def notify_order(self, order: Any) -> None:
        kind = "parent" if order.parent is None else "child"
        self.states.append((kind, order.getstatusname()))

    def next(self) -> None:
        if len(self) == 3:
            entry = self.buy(size=10, transmit=False)
            self.sell(size=20, exectype=bt.Order.Stop, price=self.data.close[0] * 0.9, parent=entry)
