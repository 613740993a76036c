"""A progress bar for a paper run that replays (the local venue): the session says how many of
its steps are done, a daemon thread reads that twice a second and moves the bar."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from parity.venues.protocol import Session

# `factory(total)` returns `update(done)`, as `run_backtest`'s progress
ProgressFactory = Callable[[int], Callable[[int], None]]
PERIOD_S = 0.5


@contextmanager
def replay_progress(session: Session, factory: ProgressFactory | None) -> Iterator[None]:
    """Move a progress bar from `factory` while the body runs, if the session replays."""
    first = session.progress() if factory is not None else None
    if factory is None or first is None:
        yield
        return
    update = factory(first[1])
    stop = threading.Event()

    def follow() -> None:
        while not stop.wait(PERIOD_S):
            now = session.progress()
            if now is not None:
                update(now[0])

    thread = threading.Thread(target=follow, name="replay-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        last = session.progress()
        if last is not None:
            update(last[0])
