"""Within-bar ambiguity: one bar reaches both exits of a position (a take-profit limit and a
stop-loss stop of one bracket or `oco` pair), and OHLC cannot tell which came first.

A stated rule decides, the same in the simulated broker and the local venue (both ask
`FillModel.exit_winner`):

- none given (`PLACED_FIRST`): Backtrader's time priority, the exit placed first fills (a
  `buy_bracket`'s stop-loss, the `plan` strategy's stop-loss; an `oco` pair's first order,
  which the local venue is told of); a strategy's own pairs fill as in plain Backtrader;
- `stop-first`: the stop-loss fills; the pessimistic reading;
- `target-first`: the take-profit fills;
- `finer-data`: the bars of a finer timeframe inside the ambiguous bar (`FinerBars`, e.g. hourly
  bars under a daily one) are read in time order and the first exit one of them reaches fills;
  when a finer bar reaches both too, or the finer data has no bar there, the stop fills, as
  with `stop-first`.

Hand-written: no library resolves bracket exits against finer bars.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from parity.errors import ConfigError

Rule = Literal["stop-first", "target-first", "finer-data"]
RULES: tuple[Rule, ...] = ("stop-first", "target-first", "finer-data")
PLACED_FIRST = "placed-first"  # how a run without a rule is described (time priority)
Exit = Literal["target", "stop"]


def check_rule(rule: str | None) -> Rule | None:
    """`rule` if it is None or one of `RULES`; else a one-line error."""
    if rule is not None and rule not in RULES:
        raise ConfigError(f"--ambiguous {rule!r} is not a rule; use one of {', '.join(RULES)}")
    return rule  # type: ignore[return-value]  # checked above


def touches_both(long: bool, tp: float, sl: float, high: float, low: float) -> bool:
    """Whether a bar of range [low, high] reaches both the take-profit and the stop-loss of a
    long (`long`) or short position."""
    if long:
        return high >= tp and low <= sl
    return low <= tp and high >= sl


@dataclass(frozen=True)
class FinerBars:
    """Bars of a finer timeframe per symbol (`high`, `low` on a naive datetime index of bar
    starts, exchange time), read where a coarser bar is ambiguous."""

    frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def first_exit(
        self, symbol: str, start: dt.datetime, end: dt.datetime, long: bool, tp: float, sl: float
    ) -> Exit | None:
        """The exit the first finer bar in [start, end) reaching one reaches; None when a
        finer bar reaches both, or none reaches either (no finer bars there)."""
        frame = self.frames.get(symbol)
        if frame is None or frame.empty:
            return None
        index = frame.index
        lo, hi = index.searchsorted(pd.Timestamp(start)), index.searchsorted(pd.Timestamp(end))
        highs = frame["high"].to_numpy(float)[lo:hi]
        lows = frame["low"].to_numpy(float)[lo:hi]
        hit_tp = highs >= tp if long else lows <= tp
        hit_sl = lows <= sl if long else highs >= sl
        either = np.flatnonzero(hit_tp | hit_sl)
        if not len(either):
            return None
        first = int(either[0])
        if hit_tp[first] and hit_sl[first]:
            return None
        return "target" if hit_tp[first] else "stop"


def exit_winner(
    rule: Rule,
    finer: FinerBars | None,
    *,
    symbol: str,
    start: dt.datetime,
    end: dt.datetime,
    long: bool,
    tp: float,
    sl: float,
) -> Exit:
    """Which exit fills on a bar [start, end) that reaches both, under `rule`."""
    if rule == "target-first":
        return "target"
    if rule == "finer-data" and finer is not None:
        return finer.first_exit(symbol, start, end, long, tp, sl) or "stop"
    return "stop"
