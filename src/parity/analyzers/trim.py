"""`Trimmer`: bounds the memory Backtrader spends on finished orders and trades.

Backtrader keeps every order forever: in `broker.orders`, and as notification copies in the
strategy's `_orders` (never read again); closed trades stay in `strategy._trades`. That is about
12 KB per round trip, without bound in a months-long paper run. The `Recorder` has captured every
order and fill when they were notified, so what is finished can go. Results are unchanged (tested
with the preload/runonce equivalence suite, which runs with the trimmer on).

A paper run (bars one at a time, never preloaded) also passes `keep_bars`: every line (the feeds',
the strategy's, every indicator's) then keeps only its newest `keep_bars` values (at least twice
the strategy's longest indicator period); the bars are on the journal's tape. Indexing stays
relative to the current bar, so indicators and `data.close[-n]` read the same values.
"""

from __future__ import annotations

import array
from typing import Any

import backtrader as bt

from parity.analyzers.lean import LeanAnalyzer

KEEP_BARS = 2000  # a paper run's lines keep this many bars (a strategy reads at most this far)


class Trimmer(LeanAnalyzer):
    """Every `every` bars: drop delivered notification copies, finished orders, closed trades."""

    params = (("every", 1000), ("keep_bars", None))

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
        if self.p.keep_bars:
            keep = max(int(self.p.keep_bars), 2 * int(strategy._minperiod))
            trim_lines(strategy, keep)
        strategy._orders.clear()  # copies of notifications already delivered to notify_order
        broker = strategy.broker
        orders = getattr(broker, "orders", None)
        if isinstance(orders, list):
            broker.orders = [order for order in orders if order.alive()]
        for per_data in strategy._trades.values():
            for trades in per_data.values():
                if len(trades) > 1:
                    del trades[:-1]  # only the newest trade of a data/tradeid can still be open


def trim_lines(strategy: bt.Strategy, keep: int) -> None:
    """Drop all but the newest `keep` values of every unbounded line the strategy reaches."""
    seen: set[int] = set()
    stack: list[Any] = [strategy, *strategy.datas]
    while stack:
        owner = stack.pop()
        if id(owner) in seen:
            continue
        seen.add(id(owner))
        for line in getattr(owner, "lines", ()):
            _trim(line, keep)
        for group in getattr(owner, "_lineiterators", {}).values():
            stack.extend(group)
        stack.extend(getattr(owner, "datas", ()))


def _trim(line: Any, keep: int) -> None:
    values = getattr(line, "array", None)
    if getattr(line, "mode", None) != bt.LineBuffer.UnBounded or not isinstance(
        values, array.array
    ):
        return
    excess = line.idx + 1 - keep  # values before the window (the current one is at idx)
    if excess > 0:
        del values[:excess]
        line.idx = line.idx - excess
