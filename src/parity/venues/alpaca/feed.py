"""`AlpacaLiveFeed`: a Backtrader live feed on an `AlpacaStore`'s one data websocket.

- Warm-up: the last `backfill` bars before now come from history first; orders decided on them
  are refused by the broker (`bar_is_live()` is False), never sent. A resumed run passes
  `live_after` (the last bar its journal shows as fully processed): history bars after it (the
  bar in progress at the crash, and any the venue published while the run was down) are live,
  and `bar_offset` numbers the bars on from `first_bar` as if the run had never stopped.
- Then 1-minute bars from the stream, aggregated on the clock into the requested timeframe with
  the backtest's bar labels (`feeds.aggregate`).
- A gap inside a session (a bar that should have come and did not) is refilled from history
  before the later bar is used.
- `lockstep` (a `feeds.lockstep.Lockstep`) acknowledges a lock-step venue's steps once the
  strategy is done with every bar received so far; `is_finished()` ends the feed when the venue's
  replay (or the run's `--until`) is over; `on_bar(bar)` sees every bar received (the tape).
"""

from __future__ import annotations

import collections
import datetime as dt
import queue
import time
from collections.abc import Callable
from typing import Any

import backtrader as bt

from parity.feeds.aggregate import BarAggregator
from parity.feeds.lines import noop, set_bar_period, write_bar
from parity.timeframe import MINUTE, Timeframe
from parity.venues.types import OrderRejected, StreamBar


class AlpacaLiveFeed(bt.feed.DataBase):
    """Live bars of one symbol. Construct through the runner or `store.getdata(dataname=SYM)`."""

    params = (
        ("symbol", None),
        ("store", None),
        ("bar_timeframe", MINUTE),
        ("backfill", 0),
        ("qcheck", 0.5),
        ("lockstep", None),
        ("is_finished", None),
        ("on_bar", None),
        ("now", None),
        ("on_state", None),
        ("stale_after", 0.0),
        ("market_open", None),
        ("live_after", None),  # resumed: history bars starting after this are live
        ("first_bar", 0),  # resumed: the run's number of the first of them
        ("in_session", None),  # label -> traded? (`venues.clock.bar_filter`; None: every bar)
    )

    def __init__(self) -> None:
        timeframe: Timeframe = self.p.bar_timeframe
        self.symbol: str = self.p.symbol
        # in lock-step, buckets close on the venue's word (`close_bucket`), every symbol's
        # together, so the strategy sees one bucket's bars in one step as in a backtest
        self._aggregator = BarAggregator(timeframe, close_on_last_minute=self.p.lockstep is None)
        self._ready: collections.deque[tuple[StreamBar, bool]] = collections.deque()
        self._incoming: queue.SimpleQueue[StreamBar] = queue.SimpleQueue()
        self._is_finished: Callable[[], bool] = self.p.is_finished or (lambda: False)
        self._on_bar: Callable[[StreamBar], Any] = self.p.on_bar or noop
        self._in_session: Callable[[dt.datetime], bool] = self.p.in_session or (lambda _t: True)
        self._last_minute: dt.datetime | None = None
        self._live_bar = False
        self._live = False
        self.state = "connecting"
        self._on_state: Callable[[str, str], Any] = self.p.on_state or noop
        self._last_arrival = time.monotonic()
        self.refilled = 0
        self.bar_offset = 0  # the run's bar number of this process's first bar
        self.backlog: list[dt.datetime] = []  # resumed: history bars processed live
        self._lockstep = self.p.lockstep
        if self._lockstep is not None:
            self._lockstep.register(self)
        self.p.store.subscribe_bars(self.symbol, self._receive)  # registration only
        set_bar_period(self.p, timeframe)

    def islive(self) -> bool:
        return True

    def haslivedata(self) -> bool:
        return bool(self._ready) or not self._incoming.empty()

    def _receive(self, bar: StreamBar) -> None:
        """Stream thread: queue the bar first, then tell the lock-step coordinator."""
        self._incoming.put(bar)
        if self._lockstep is not None:
            self._lockstep.arrived(bar.start)

    def has_pending(self) -> bool:
        """Bars received but not yet handed to the strategy."""
        return bool(self._ready) or not self._incoming.empty()

    def bar_is_live(self) -> bool:
        """False while the current bar is a warm-up bar from history."""
        return self._live_bar

    def start(self) -> None:
        status: Any = getattr(self, "_laststatus", None)
        super().start()
        if status is not None:
            self._laststatus = status  # keep the warm-up's DELAYED (announced before start)
        self._live = True

    def backfill(self) -> None:
        """Read the warm-up bars from history. Call before the stream starts, so that the first
        streamed bar is live and never mistaken for history."""
        if self.p.backfill or self.p.live_after is not None:
            self._backfill(self.p.store)

    def _backfill(self, store: Any) -> None:
        self._set_state("delayed")
        now: dt.datetime = self.p.now() if self.p.now else store.clock().timestamp
        span = dt.timedelta(seconds=self.p.bar_timeframe.seconds * int(self.p.backfill) * 3)
        start = now - max(span, dt.timedelta(days=5))
        live_after: dt.datetime | None = self.p.live_after
        if live_after is not None:  # a long downtime: every bar since the crash is read
            start = min(start, live_after - span)
        bars = self._history(store, start, now)
        minutes = [b for b in bars if b.start < now]
        for bar in minutes:
            self._ingest(bar, live=False)
        done = [bar for bar, _live in self._ready]
        warm = [b for b in done if live_after is None or b.start <= live_after]
        live = [b for b in done if live_after is not None and b.start > live_after]
        warm = warm[-int(self.p.backfill) :] if self.p.backfill else []
        self._ready = collections.deque([(b, False) for b in warm] + [(b, True) for b in live])
        if live_after is not None:
            self.bar_offset = int(self.p.first_bar) - len(warm)
            self.backlog = [b.start for b in live]

    def _history(self, store: Any, start: dt.datetime, end: dt.datetime) -> list[StreamBar]:
        """History in minutes; a venue that has none (the local venue replaying daily bars
        refuses a timeframe finer than its bars) gives its bars at the run's timeframe, which
        the aggregator takes whole."""
        try:
            bars: list[StreamBar] = store.history_bars(self.symbol, start, end)
        except OrderRejected:
            timeframe: Timeframe = self.p.bar_timeframe
            if timeframe.seconds <= MINUTE.seconds:
                raise
            bars = store.history_bars(self.symbol, start, end, timeframe=timeframe)
        return bars

    # ------------------------------------------------------------------ bars in

    def _ingest(self, bar: StreamBar, *, live: bool) -> None:
        last = self._last_minute
        if last is not None and bar.start <= last:
            return  # a duplicate (history overlapping the stream)
        if not self._in_session(bar.start):
            return  # pre- or post-market in a regular-session run: not traded, as in a backtest
        same_session = last is not None and bar.start.date() == last.date()
        if (
            live
            and last is not None
            and same_session
            and bar.start - last > dt.timedelta(minutes=1)
        ):
            self._refill(last + dt.timedelta(minutes=1), bar.start)
        self._on_bar(bar)
        self._last_minute = bar.start
        for done in self._aggregator.add(bar):
            self._ready.append((done, live))

    def _refill(self, start: dt.datetime, end: dt.datetime) -> None:
        """Bars the stream skipped, from history (they are late, but not lost)."""
        try:
            missed = self.p.store.history_bars(self.symbol, start, end)
        except Exception:  # a failed refill must not stop trading; the gap stays visible
            return
        for bar in missed:
            if self._last_minute is None or bar.start > self._last_minute:
                self.refilled += 1
                self._on_bar(StreamBar(**{**bar.__dict__, "source": "refill"}))
                self._last_minute = bar.start
                for done in self._aggregator.add(bar):
                    self._ready.append((done, True))

    # ------------------------------------------------------------------ bars out

    def _load(self) -> bool | None:
        while True:
            if self._ready:
                bar, live = self._ready.popleft()
                self._deliver(bar, live)
                return True
            if not self._live:
                return None
            try:
                bar = self._next_incoming()
            except queue.Empty:
                if self._is_finished() and self._incoming.empty():
                    for done in self._aggregator.flush():
                        self._ready.append((done, True))
                    if self._ready:
                        continue
                    self._set_state("finished")
                    return False
                self._check_stale()
                self._close_due_bucket()
                if self._ready:
                    continue
                return None
            self._last_arrival = time.monotonic()
            self._set_state("live")
            self._ingest(bar, live=True)

    def _next_incoming(self) -> StreamBar:
        """The next bar received; waits up to `qcheck` (after acknowledging, in lock-step)."""
        wait = float(self.p.qcheck)
        if self._lockstep is None:
            return self._incoming.get(timeout=wait)
        if self._incoming.empty():
            self._lockstep.idle(self, wait)
        return self._incoming.get_nowait()

    def close_bucket(self, following: dt.datetime | None) -> None:
        """Lock-step: the replay's next bar starts at `following` (None: the replay ends), so a
        bucket it does not belong to is complete; it goes to the strategy now."""
        for done in self._aggregator.close_before(following):
            self._ready.append((done, True))

    def _close_due_bucket(self) -> None:
        """With a wall clock (`now`), a coarser bar closes when its time is up."""
        if self.p.now is None or self._aggregator.timeframe.seconds <= 60:
            return
        for done in self._aggregator.due(self.p.now(), dt.timedelta(seconds=2)):
            self._ready.append((done, True))

    def _set_state(self, state: str) -> None:
        """Record a feed state change; the strategy sees it in `notify_data`, the runner logs it."""
        if state == self.state:
            return
        self.state = state
        status = {"delayed": self.DELAYED, "live": self.LIVE, "stale": self.DISCONNECTED}.get(state)
        if status is not None:
            if not hasattr(self, "_laststatus"):  # before start(): the warm-up announces itself
                self._laststatus = self.CONNECTED
            self.put_notification(status)
        self._on_state(self.symbol, state)

    def _check_stale(self) -> None:
        """No bar for `stale_after` seconds while the market is open: the stream is stale."""
        limit = float(self.p.stale_after or 0.0)
        if not limit or self.state != "live":
            return
        market_open = self.p.market_open or (lambda: True)
        if time.monotonic() - self._last_arrival > limit and market_open():
            self._set_state("stale")

    def _deliver(self, bar: StreamBar, live: bool) -> None:
        self._live_bar = live
        if self._lockstep is not None:
            self._lockstep.delivered()
        write_bar(self.lines, bar, self.p.bar_timeframe.is_daily)
