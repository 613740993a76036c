"""Clock-aligned aggregation of 1-minute bars into a coarser timeframe, live.

Buckets are aligned to midnight like `feeds.resample` (a 5Min bar labelled 09:30 covers
09:30:00-09:34:59), so live bars carry exactly the labels the backtest uses. A bucket is emitted
as soon as its last minute arrives, or when a minute of a later bucket arrives, or on `flush()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from parity.timeframe import Timeframe
from parity.venues.types import StreamBar

_MIDNIGHT = dt.time(0, 0)


def bucket_start(start: dt.datetime, timeframe: Timeframe) -> dt.datetime:
    """The label of the bucket `start` falls in."""
    if timeframe.is_daily:
        return dt.datetime.combine(start.date(), _MIDNIGHT)
    since_midnight = (start - dt.datetime.combine(start.date(), _MIDNIGHT)).total_seconds()
    offset = int(since_midnight // timeframe.seconds) * timeframe.seconds
    return dt.datetime.combine(start.date(), _MIDNIGHT) + dt.timedelta(seconds=offset)


class BarAggregator:
    """Feed 1-minute bars in time order with `add`; completed bars come back, oldest first."""

    def __init__(self, timeframe: Timeframe, *, close_on_last_minute: bool = True) -> None:
        """`close_on_last_minute=False`: a bucket closes only when a later one starts, or on
        `close_before`/`flush` (a lock-step replay closes every symbol's bucket together)."""
        self.timeframe = timeframe
        self._close_on_last_minute = close_on_last_minute
        self._current: StreamBar | None = None

    def add(self, bar: StreamBar) -> list[StreamBar]:
        if self.timeframe.seconds <= 60:
            return [bar]
        label = bucket_start(bar.start, self.timeframe)
        done: list[StreamBar] = []
        current = self._current
        if current is not None and current.start != label:
            done.append(current)
            current = None
        if current is None:
            current = replace(bar, start=label)
        else:
            current = replace(
                current,
                high=max(current.high, bar.high),
                low=min(current.low, bar.low),
                close=bar.close,
                volume=current.volume + bar.volume,
                received_at=bar.received_at,
            )
        last_minute = label + dt.timedelta(seconds=self.timeframe.seconds - 60)
        if self._close_on_last_minute and not self.timeframe.is_daily and bar.start >= last_minute:
            done.append(current)
            current = None
        self._current = current
        return done

    def due(self, now: dt.datetime, grace: dt.timedelta) -> list[StreamBar]:
        """The bucket in progress if the clock has passed its end (+ grace): no later minute
        needs to arrive for a quiet bucket to close on time."""
        current = self._current
        if current is None or self.timeframe.is_daily:
            return []
        if now >= current.start + dt.timedelta(seconds=self.timeframe.seconds) + grace:
            return self.flush()
        return []

    def close_before(self, following: dt.datetime | None) -> list[StreamBar]:
        """The bucket in progress if the next bar (at `following`; None: no more bars) belongs
        to a later bucket: nothing more can arrive for it."""
        current = self._current
        if current is None:
            return []
        if following is None or bucket_start(following, self.timeframe) != current.start:
            return self.flush()
        return []

    def flush(self) -> list[StreamBar]:
        """Emit the bucket in progress (end of data or end of session)."""
        current, self._current = self._current, None
        return [current] if current is not None else []
