"""Finer bars for `--ambiguous finer-data`: the bars of the same symbols on a finer timeframe
(e.g. hourly under daily), read where one of the run's bars reaches both exits of a bracket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from parity.engine.ambiguity import FinerBars
from parity.errors import ConfigError, DataError
from parity.feeds.adjust import Adjustment
from parity.feeds.loader import load_bars
from parity.timeframe import Timeframe


def load_finer(
    source: str,
    symbols: Sequence[str],
    *,
    than: Timeframe,
    start: dt.date | None = None,
    end: dt.date | None = None,
    adjustment: Adjustment = "raw",
    calendar: str | None = None,
) -> FinerBars:
    """The bars of `symbols` in `source` (any bar source), which must be finer than `than`
    (the run's timeframe), on the run's prices (`adjustment`) and calendar."""
    try:
        loaded = load_bars(
            source, symbols, start=start, end=end, adjustment=adjustment, calendar=calendar
        )
    except DataError as exc:
        raise DataError(f"--finer {source}: {exc}") from None
    found = loaded.series[0].timeframe
    if found.seconds >= than.seconds:
        raise ConfigError(
            f"--finer {source} has {found.name} bars, not finer than the run's {than.name}; "
            "give e.g. hourly bars under daily ones"
        )
    return FinerBars({s.symbol: s.frame for s in loaded.series})
