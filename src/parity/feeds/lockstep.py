"""`Lockstep`: acknowledgements to a lock-step venue, coordinated across all feeds of a run.

A lock-step venue publishes one step (the bars of every symbol at one time) and waits for the
client's acknowledgement before the next. A step may hold bars of some symbols only, so a feed
cannot acknowledge on its own: the first feed acknowledges, once every feed has handed all it
received to the strategy (so decisions on this step's bars are already submitted), and then
waits for the next frame.

Before acknowledging, the coordinator asks the venue when its next step is (`status`; the
acknowledgement's answer says it for the step after): a feed's bucket that step does not belong to
is complete (the last minute of a day or of a 5-minute bucket has arrived, or the replay ends), so
the strategy decides on it before the venue matches the next bar, as in a backtest.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable
from typing import Any, Protocol

import backtrader as bt


class _Feed(Protocol):
    def has_pending(self) -> bool: ...

    def close_bucket(self, following: dt.datetime | None) -> None: ...


_UNKNOWN = object()


class Lockstep:
    """Shared by the feeds of one run; `ack(bar_start)` is the venue's acknowledgement call."""

    def __init__(
        self,
        ack: Callable[[dt.datetime], Any],
        status: Callable[[], Any] | None = None,
    ) -> None:
        self._ack = ack
        self._status = status
        self._following: dict[dt.datetime, dt.datetime | None] = {}
        self._feeds: list[_Feed] = []
        self._cond = threading.Condition()
        self._newest: dt.datetime | None = None
        self._acked: dt.datetime | None = None
        self._arrivals = 0
        self._delivered = 0  # bars handed to the strategy (main thread)
        self._processed = 0  # ... of which the strategy has run its next() on

    def delivered(self) -> None:
        """A feed handed a bar to Backtrader (main thread)."""
        self._delivered += 1

    def processed(self) -> None:
        """The strategy finished a bar: everything delivered so far has been decided on."""
        self._processed = self._delivered

    def register(self, feed: _Feed) -> None:
        self._feeds.append(feed)

    def arrived(self, bar_start: dt.datetime) -> None:
        """A bar of any symbol arrived (stream thread)."""
        with self._cond:
            if self._newest is None or bar_start > self._newest:
                self._newest = bar_start
            self._arrivals += 1
            self._cond.notify_all()

    def idle(self, feed: _Feed, timeout: float) -> None:
        """`feed` has nothing to deliver. Only the first feed acts: when no feed holds a bar the
        strategy has not seen, it acknowledges the newest step and waits for the next frame."""
        if not self._feeds or feed is not self._feeds[0]:
            return
        if self._processed != self._delivered:
            return  # a bar of this cycle has not reached the strategy's next() yet
        if any(f.has_pending() for f in self._feeds):
            return  # another feed still delivers this step's bar in this cycle
        with self._cond:
            seen = self._arrivals
            newest = self._newest
            due = newest is not None and newest != self._acked
        if due and newest is not None and self._close_buckets(newest):
            return  # a completed bucket goes to the strategy before the venue moves on
        if due and newest is not None:
            with self._cond:
                self._acked = newest
            self._learn(self._ack(newest))
        with self._cond:
            self._cond.wait_for(lambda: self._arrivals != seen, timeout)

    def _close_buckets(self, newest: dt.datetime) -> bool:
        """Close every feed's bucket the venue's next step does not belong to; True when a
        feed now holds a bar for the strategy."""
        if self._status is None:
            return False
        if newest not in self._following:
            self._learn(self._status())
        following = self._following.get(newest, _UNKNOWN)
        if following is _UNKNOWN:
            return False  # the venue did not say (an older venue): buckets close as before
        assert following is None or isinstance(following, dt.datetime)
        for feed in self._feeds:
            feed.close_bucket(following)
        return any(f.has_pending() for f in self._feeds)

    def next_step(self) -> dt.datetime | None:
        """When the venue's next step (the next bar it matches resting orders on) lies: `None`
        when the replay ends first; `LookupError` when the venue has not said."""
        with self._cond:
            newest = self._newest
        following = self._following.get(newest, _UNKNOWN) if newest is not None else _UNKNOWN
        if following is _UNKNOWN:
            raise LookupError("the venue has not said when its next step is")
        assert following is None or isinstance(following, dt.datetime)
        return following

    def _learn(self, status: Any) -> None:
        """Remember which step follows which from a venue status (`time`, `upcoming`)."""
        if not isinstance(status, dict) or not isinstance(status.get("upcoming"), list):
            return
        times = [dt.datetime.fromisoformat(t) for t in status["upcoming"]]
        if status.get("time"):
            times.insert(0, dt.datetime.fromisoformat(status["time"]))
        for earlier, later in itertools.pairwise(times):
            self._following[earlier] = later
        if len(status["upcoming"]) < 2 and times:
            self._following[times[-1]] = None  # the replay's last step
        acked = self._acked
        if acked is not None:  # steps before the one acknowledged are never asked again
            for earlier in [t for t in self._following if t < acked]:
                del self._following[earlier]


class LockstepMark(bt.Analyzer):
    """Tells the coordinator each time the strategy has finished a bar (warm-up bars too)."""

    params = (("lockstep", None),)

    def prenext(self) -> None:
        self.p.lockstep.processed()

    def next(self) -> None:
        self.p.lockstep.processed()
