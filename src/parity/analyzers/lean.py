"""`LeanAnalyzer`: a Backtrader analyzer without Backtrader's per-bar dispatch it does not use.

Backtrader calls every analyzer three times a bar beyond its `next()`: `_next` (which walks its
child analyzers first), `_notify_cashvalue` and `_notify_fund` (each walking the children, then
calling a hook that does nothing unless overridden). An analyzer with no children that overrides
neither hook gets the same results from `next()` alone; over a million bars the skipped calls
are about 1 µs a bar per analyzer (bench/backtest_throughput.py).
"""

from __future__ import annotations

import backtrader as bt


class LeanAnalyzer(bt.Analyzer):
    """Base of parity's own per-bar analyzers: they have no child analyzers and read cash and
    value from the broker when they need them (never through `notify_cashvalue`/`notify_fund`)."""

    def _next(self) -> None:
        self.next()

    def _notify_cashvalue(self, cash: float, value: float) -> None:
        return None

    def _notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        return None
