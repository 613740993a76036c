"""How a resumed run numbers each symbol's bars and fills as the run it goes on from did.

A feed numbers its own bars (a fill's `bar` is its symbol's bar it belongs to: `journal.hook.
fill_bar`), so in a run of several symbols one that lacks a bar at some time counts fewer bars
than the run's clock. A resumed feed therefore goes on from its own count (`symbol_bars`: its
bars on the tape up to the resume point, bucketed as the feed aggregates them), not the run's,
and a fill the venue made while the run was down gets the number a live run would have given
it (`DownFillBars`): the symbol's next bar when the fill is at a traded time (that bar is
processed live after the resume), else (before the session opens) its last bar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parity.timeframe import Timeframe


def symbol_bars(
    reader: Any, run_id: str, through: dt.datetime | None, timeframe: Timeframe
) -> dict[str, int]:
    """Per symbol on the tape, how many of its bars (the run's `timeframe`) start at or before
    `through`: the number its feed gives its next bar."""
    if through is None:
        return {}
    tape = reader.tape(run_id)
    if not len(tape):
        return {}
    starts = pd.to_datetime(tape["datetime"])
    days = starts.dt.normalize()
    if timeframe.is_daily:
        labels = days
    else:  # `feeds.aggregate.bucket_start`, vectorised: buckets from midnight
        step = pd.Timedelta(seconds=timeframe.seconds)
        labels = days + ((starts - days) // step) * step
    frame = pd.DataFrame({"symbol": tape["symbol"], "label": labels})
    frame = frame[frame["label"] <= pd.Timestamp(through)].drop_duplicates()
    return {str(s): int(n) for s, n in frame.groupby("symbol").size().items()}


@dataclass(frozen=True)
class DownFillBars:
    """The bar of a fill made while the run was down (`reconcile(fill_bar=)`)."""

    last: tuple[dt.datetime, int] | None  # the last bar fully processed: time and number
    symbol_bars: Mapping[str, int]
    in_session: Callable[[dt.datetime], bool]
    daily: bool = False

    def __call__(self, symbol: str, at: dt.datetime | None, decided_at: Any) -> int:
        if self.last is None:
            return 0
        # an order decided on the bar in progress at the crash fills one bar later
        later = decided_at is not None and not pd.isna(decided_at) and decided_at > self.last[0]
        following = self.symbol_bars.get(symbol, self.last[1] + 1)
        if not self.daily and at is not None and not self.in_session(at):
            following -= 1  # filled before the session's next bar: its last bar's fill
        return following + int(later)
