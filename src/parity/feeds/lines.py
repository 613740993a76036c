"""Writing one bar into a Backtrader feed's lines, with the feeds' shared time convention."""

from __future__ import annotations

from typing import Any

import backtrader as bt

from parity.timeframe import Timeframe
from parity.venues.types import StreamBar

# Backtrader stamps a daily bar at the end of its session (as its own CSV feeds do)
SESSION_END = (23 * 3600 + 59 * 60 + 59 + 0.99999) / 86400.0


def set_bar_period(params: Any, timeframe: Timeframe) -> None:
    """Set a Backtrader feed's `timeframe`/`compression` params from parity's `timeframe`."""
    if timeframe.is_daily:
        params.timeframe, params.compression = bt.TimeFrame.Days, 1
    else:
        params.timeframe = bt.TimeFrame.Minutes
        params.compression = max(1, timeframe.seconds // 60)


def noop(*_: Any) -> None:
    """The default callback."""
    return None


def write_bar(lines: Any, bar: StreamBar, daily: bool) -> None:
    """Set the current bar of `lines` (a live feed's `_load`) from `bar`."""
    number = bt.date2num(bar.start)
    if daily:
        number = float(int(number)) + SESSION_END
    lines.datetime[0] = number
    lines.open[0] = bar.open
    lines.high[0] = bar.high
    lines.low[0] = bar.low
    lines.close[0] = bar.close
    lines.volume[0] = bar.volume
    lines.openinterest[0] = 0.0
