"""`Trimmer`: bounds the memory Backtrader spends on finished orders and trades.

Backtrader keeps every order forever: in `broker.orders`, and as notification copies in the
strategy's `_orders` (never read again); closed trades stay in `strategy._trades`. That is about
12 KB per round trip, without bound in a months-long paper run. The `Recorder` has captured every
order and fill when they were notified, so what is finished can go. Results are unchanged (tested
with the preload/runonce equivalence suite, which runs with the trimmer on).
"""

from __future__ import annotations

import backtrader as bt


class Trimmer(bt.Analyzer):
    """Every `every` bars: drop delivered notification copies, finished orders, closed trades."""

    params = (("every", 1000),)

    def __init__(self) -> None:
        self._countdown = int(self.p.every)

    def next(self) -> None:
        self._countdown -= 1
        if self._countdown > 0:
            return
        self._countdown = int(self.p.every)
        self.trim()

    def trim(self) -> None:
        strategy = self.strategy
        strategy._orders.clear()  # copies of notifications already delivered to notify_order
        broker = strategy.broker
        orders = getattr(broker, "orders", None)
        if isinstance(orders, list):
            broker.orders = [order for order in orders if order.alive()]
        for per_data in strategy._trades.values():
            for trades in per_data.values():
                if len(trades) > 1:
                    del trades[:-1]  # only the newest trade of a data/tradeid can still be open
