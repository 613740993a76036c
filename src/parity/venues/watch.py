"""`StreamWatch`: notices when alpaca-py's websocket streams drop and come back.

alpaca-py reconnects by itself and tells no one: its stream object's `_running` is True while
connected, and a drop is logged (a warning with the reason) by the stream's thread. A small
thread looks at `_running` ten times a second, and a log handler on alpaca-py's stream loggers
catches the reason (and drops shorter than a look), matched to our streams by thread id. Each
transition is logged (warning on disconnect, info on reconnect) and given to the callback.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from parity.logs import ROUTINE
from parity.venues.protocol import StreamState

log = logging.getLogger("parity.alpaca")

ALPACA_STREAM_LOGGERS = ("alpaca.data.live.websocket", "alpaca.trading.stream")


class _Reasons(logging.Handler):
    """alpaca-py's warnings and errors from our stream threads: the disconnect reasons."""

    def __init__(self, threads: dict[int, str]) -> None:
        super().__init__(logging.WARNING)
        self.threads = threads
        self.pending: dict[str, str] = {}
        self.lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        name = self.threads.get(record.thread or 0)
        if name is None:
            return
        text = " ".join(record.getMessage().split())
        with self.lock_:
            self.pending.setdefault(name, text)

    def take(self, name: str) -> str | None:
        with self.lock_:
            return self.pending.pop(name, None)


class StreamWatch:
    """Watches named alpaca-py streams; `start()` after their threads run, `stop()` before
    they are stopped (a requested stop is not a disconnect)."""

    def __init__(self, on_state: StreamState | None = None, *, interval: float = 0.1) -> None:
        self.on_state = on_state
        self.interval = interval
        self.states: dict[str, str] = {}
        self._streams: dict[str, Any] = {}
        self._threads: dict[int, str] = {}
        self._reasons = _Reasons(self._threads)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, name: str, stream: Any, thread: threading.Thread) -> None:
        self._streams[name] = stream
        if thread.ident is not None:
            self._threads[thread.ident] = name

    def start(self) -> None:
        if self._thread is not None:
            return
        for name in ALPACA_STREAM_LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.NOTSET)  # a previous store's stop may have silenced it
            logger.addHandler(self._reasons)
        self._thread = threading.Thread(target=self._loop, name="alpaca-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for name in ALPACA_STREAM_LOGGERS:
            logging.getLogger(name).removeHandler(self._reasons)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def check(self) -> None:
        """One look at every stream."""
        for name, stream in list(self._streams.items()):
            if self._stop.is_set():
                return
            running = bool(getattr(stream, "_running", False))
            previous = self.states.get(name)
            reason = self._reasons.take(name)
            if reason is not None and previous != "disconnected":
                # dropped since the last look (perhaps already back): report the drop first
                self._change(name, "disconnected", reason)
                previous = "disconnected"
            if running and previous != "connected":
                self._change(name, "connected", "reconnected" if previous else "connected")
            elif not running and previous == "connected":
                self._change(name, "disconnected", reason or "connection lost")

    def _change(self, name: str, state: str, reason: str) -> None:
        self.states[name] = state
        if state == "disconnected":
            log.warning("%s stream disconnected: %s", name, reason)
        elif reason == "reconnected":
            log.info("%s stream reconnected", name)
        else:  # the first connection: routine (the console shows it at --log-level debug)
            log.info("%s stream connected", name, extra=ROUTINE)
        if self.on_state is not None:
            try:
                self.on_state(name, state, reason)
            except Exception as exc:  # the callback's failure must not end the watch
                log.warning("stream state callback failed: %s", exc)
