"""The simulated venue's bar source: `fetch(symbol)` returns recent bars (Yahoo's by default),
polled every `--poll-seconds`."""

from __future__ import annotations

from collections.abc import Callable

from parity.defaults import DEFAULT_CASH
from parity.timeframe import Timeframe
from parity.venues.types import StreamBar

Fetch = Callable[[str], list[StreamBar]]
SIM_CASH = DEFAULT_CASH  # the simulated account when the run gives no --cash


def yahoo_fetch(timeframe: Timeframe, timezone: str = "America/New_York") -> Fetch:
    """Recent Yahoo bars of a symbol at `timeframe`, labelled in `timezone` (its exchange's)."""
    from parity.feeds.yahoo import recent_yahoo_bars

    return lambda symbol: recent_yahoo_bars(symbol, timeframe, timezone=timezone)
