"""The backtest twin a paper run's equity is drawn against.

`parity compare` leaves its twins in `RUN_DIR/compare/{tape-twin,history-twin}/equity.csv`; the
tape twin is used when it is there. Otherwise `TwinWorker` computes one in a background thread
with the injected `TwinProvider` (the composition root passes the backtest on the tape the run
received so far): one at a time, and again only when the tape has grown and at least
`min_interval` seconds have passed, so a live run costs one backtest a minute at most.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from parity.manifest import Manifest

log = logging.getLogger(__name__)

COMPARE_TWINS = (("tape-twin", "parity compare: tape twin"),
                 ("history-twin", "parity compare: history twin"))  # fmt: skip


class TwinProvider(Protocol):
    """Equity (`value` on a datetime index) of the backtest twin of a paper run, given its
    journaled manifest and the bars it has received (the tape)."""

    def __call__(self, manifest: Manifest, tape: pd.DataFrame) -> pd.Series: ...


@dataclass(frozen=True)
class Twin:
    """What the run page shows for the twin: `state` none | waiting | computing | ready | error."""

    state: str
    message: str
    source: str | None = None
    series: pd.Series | None = None
    bars: int = 0
    rev: str = ""
    computed_at: str | None = None
    updating: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "message": self.message,
            "source": self.source,
            "bars": self.bars,
            "rev": self.rev,
            "computed_at": self.computed_at,
            "updating": self.updating,
            "points": 0 if self.series is None else len(self.series),
        }


def compare_twin(run_dir: Path) -> Twin | None:
    """The twin `parity compare` wrote for this run, if any."""
    for name, label in COMPARE_TWINS:
        path = run_dir / "compare" / name / "equity.csv"
        if not path.is_file():
            continue
        try:
            frame = pd.read_csv(path, index_col="datetime", parse_dates=["datetime"])
            series = frame["value"].astype("float64")
        except (OSError, ValueError, KeyError) as exc:
            return Twin("error", f"{path} is unreadable ({exc}); re-run `parity compare`")
        stamp = path.stat().st_mtime
        return Twin(
            "ready",
            f"from {path.relative_to(run_dir)}",
            source=label,
            series=series,
            bars=len(series),
            rev=f"compare:{name}:{stamp:.3f}",
            computed_at=dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="seconds"),
        )
    return None


@dataclass
class _Entry:
    twin: Twin
    finished: float = float("-inf")  # monotonic time the last computation ended
    busy: bool = False
    count: int = 0


class TwinWorker:
    """Computes twins in one background thread (`start()` / `stop()`)."""

    SOURCE = "backtest on the tape received so far"

    def __init__(
        self,
        provider: TwinProvider,
        *,
        min_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.min_interval = min_interval
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, int, Callable[[], pd.Series]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="parity-twin", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def view(
        self,
        key: str,
        *,
        bars: int,
        manifest: Manifest,
        load_tape: Callable[[], pd.DataFrame],
    ) -> Twin:
        """The twin of run `key` as known now; schedules a computation when one is due."""
        with self._lock:
            entry = self._entries.setdefault(
                key, _Entry(Twin("waiting", "no bars received yet: no twin to compute"))
            )
            due = (
                bars > 0
                and not entry.busy
                and bars != entry.twin.bars
                and self.clock() - entry.finished >= self.min_interval
            )
            if due:
                entry.busy = True
                if entry.twin.series is None:
                    entry.twin = Twin("computing", f"computing the twin on {bars} bars")
                else:
                    entry.twin = dataclasses.replace(entry.twin, updating=True)
                self._queue.put((key, bars, lambda: self.provider(manifest, load_tape())))
            return entry.twin

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            key, bars, compute = job
            try:
                series = compute()
                twin = Twin("ready", f"computed on {bars} bars", source=self.SOURCE,
                            series=series.astype("float64"), bars=bars)  # fmt: skip
            except Exception as exc:  # any failure is shown, never raised into the server
                log.warning("twin of %s failed: %s: %s", key, type(exc).__name__, exc)
                twin = Twin("error", f"the twin failed: {type(exc).__name__}: {exc}", bars=bars)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            with self._lock:
                entry = self._entries[key]
                entry.count += 1
                entry.twin = dataclasses.replace(twin, rev=f"worker:{entry.count}",
                                                 computed_at=now)  # fmt: skip
                entry.finished = self.clock()
                entry.busy = False
