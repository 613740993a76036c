"""`Lockstep`: acknowledgements to a lock-step venue, coordinated across all feeds of a run.

A lock-step venue publishes one step (the bars of every symbol at one time) and waits for the
client's acknowledgement before the next. A step may hold bars of some symbols only, so a feed
cannot acknowledge on its own: the first feed acknowledges, once every feed has handed all it
received to the strategy (so decisions on this step's bars are already submitted), and then
waits for the next frame.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, Protocol

import backtrader as bt


class _Feed(Protocol):
    def has_pending(self) -> bool: ...


class Lockstep:
    """Shared by the feeds of one run; `ack(bar_start)` is the venue's acknowledgement call."""

    def __init__(self, ack: Callable[[dt.datetime], Any]) -> None:
        self._ack = ack
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
            if due:
                self._acked = newest
        if due and newest is not None:
            self._ack(newest)
        with self._cond:
            self._cond.wait_for(lambda: self._arrivals != seen, timeout)


class LockstepMark(bt.Analyzer):
    """Tells the coordinator each time the strategy has finished a bar (warm-up bars too)."""

    params = (("lockstep", None),)

    def prenext(self) -> None:
        self.p.lockstep.processed()

    def next(self) -> None:
        self.p.lockstep.processed()
