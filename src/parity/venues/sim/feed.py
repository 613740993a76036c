"""`PollingFeed`: a live feed that polls a bar source (Yahoo Finance by default) for markets the
Alpaca stream does not cover (e.g. `RELIANCE.NS` at 5Min), for use with the simulated broker.

Each poll asks `fetch(symbol)` for recent bars and delivers, oldest first, every bar that is
complete (its end is at or before `now()`) and newer than the last one delivered. The first poll's
bars are warm-up (`bar_is_live()` False: the simulated broker refuses orders decided on them); the
last `backfill` of them are delivered. A failed poll is reported through `on_error` and retried at
the next poll; trading goes on.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import backtrader as bt

from parity.feeds.lines import noop, set_bar_period, write_bar
from parity.timeframe import MINUTE, Timeframe
from parity.venues.types import StreamBar


class PollingFeed(bt.feed.DataBase):
    """Polls `fetch(symbol) -> list[StreamBar]` every `poll_seconds` (clock: `now()`)."""

    params = (
        ("symbol", None),
        ("fetch", None),
        ("bar_timeframe", MINUTE),
        ("poll_seconds", 30.0),
        ("backfill", 0),
        ("now", None),
        ("is_finished", None),
        ("on_bar", None),
        ("on_error", None),
        ("sleep", 0.2),
        ("in_session", None),  # label -> traded? (`venues.clock.bar_filter`; None: every bar)
        # a resumed or continued run: the first poll's bars starting after this are live (the
        # last bar processed again and any since), the rest warm-up
        ("live_after", None),
        ("first_bar", 0),  # ... and the run's number of the first live one
    )

    def __init__(self) -> None:
        timeframe: Timeframe = self.p.bar_timeframe
        self.symbol: str = self.p.symbol
        self._ready: collections.deque[tuple[StreamBar, bool]] = collections.deque()
        self._newest: dt.datetime | None = None
        self._next_poll = 0.0
        self._polled = False
        self._live_bar = False
        self.state = "connecting"
        self._wallclock: Callable[[], dt.datetime] = self.p.now or dt.datetime.now
        self._on_bar: Callable[[StreamBar], Any] = self.p.on_bar or noop
        self._on_error: Callable[[str], Any] = self.p.on_error or noop
        self._is_finished: Callable[[], bool] = self.p.is_finished or (lambda: False)
        set_bar_period(self.p, timeframe)

    def islive(self) -> bool:
        return True

    def bar_is_live(self) -> bool:
        return self._live_bar

    def _poll(self) -> None:
        self._next_poll = time.monotonic() + float(self.p.poll_seconds)
        try:
            bars = self.p.fetch(self.symbol)
        except Exception as exc:  # the network may fail; say so and try again next poll
            self.state = "disconnected"
            self._on_error(f"{self.symbol}: poll failed ({' '.join(str(exc).split())[:160]})")
            return
        length = dt.timedelta(seconds=self.p.bar_timeframe.seconds)
        now = self._wallclock()
        traded = self.p.in_session or (lambda _label: True)
        complete = sorted(
            (b for b in bars if b.start + length <= now and traded(b.start)),
            key=lambda b: b.start,
        )
        if not self._polled:  # the first answer is history: the warm-up, never traded on
            self._polled = True
            after: dt.datetime | None = self.p.live_after
            live = [b for b in complete if after is not None and b.start > after]
            history = [b for b in complete if after is None or b.start <= after]
            warm = history[-int(self.p.backfill) :] if self.p.backfill else []
            self._newest = complete[-1].start if complete else None
            for bar in warm:
                self._on_bar(replace(bar, source="history"))
                self._ready.append((bar, False))
            for bar in live:
                self._on_bar(replace(bar, source="history"))
                self._ready.append((bar, True))
            if after is not None:  # fills are numbered on from the run's bars before
                self.bar_offset = int(self.p.first_bar) - len(warm)
            self.state = "delayed" if warm else "live"
            return
        for bar in complete:
            if self._newest is None or bar.start > self._newest:
                self._on_bar(bar)
                self._ready.append((bar, True))
                self._newest = bar.start
        self.state = "live"

    def _load(self) -> bool | None:
        if not self._ready and self._is_finished():  # `until`: no poll past it, however busy
            self.state = "finished"
            return False
        if not self._ready and time.monotonic() >= self._next_poll:
            self._poll()
        if self._ready:
            bar, live = self._ready.popleft()
            self._deliver(bar, live)
            return True
        if self._is_finished():
            self.state = "finished"
            return False
        time.sleep(float(self.p.sleep))
        return None

    def _deliver(self, bar: StreamBar, live: bool) -> None:
        self._live_bar = live
        write_bar(self.lines, bar, self.p.bar_timeframe.is_daily)
