"""Journal events a paper run writes beside its orders: stream state and the error that ended
it (the alert rules read them; see `parity.alerts.rules`), and the heartbeat that says the process
is alive when no bar arrives (nights, weekends)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("parity.run")


def stream_journal(journal: Any) -> Callable[[str, str, str], None]:
    """An `on_stream_state` journaling kind "stream": `{"stream", "state", "reason"}`, level
    warning on a disconnect."""

    def on_state(stream: str, state: str, reason: str) -> None:
        if journal.closed:
            return
        journal.event(
            "stream",
            {"stream": stream, "state": state, "reason": reason},
            level="warning" if state == "disconnected" else "info",
        )

    return on_state


def journal_error(journal: Any, exc: BaseException) -> None:
    """Journal kind "error" `{"type", "message"}` for an error that ends the run (not for a
    stop asked by Ctrl+C or `SystemExit`). Never raises: the run's own error comes first."""
    if journal is None or journal.closed or journal.run_id is None:
        return
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return
    message = " ".join(str(exc).split())[:1000]
    try:
        journal.event("error", {"type": type(exc).__name__, "message": message}, level="error")
    except Exception as failure:  # the journal itself may be what failed
        log.warning("could not journal the error: %s", failure)


class Heartbeat:
    """Marks the run alive every `interval` seconds from its own thread: bars beat too, but a
    live run waits through nights and weekends without one, and `parity status` and the
    dashboard must not call it hung. A failed beat is logged; the next one tries again."""

    def __init__(self, journal: Any, interval: float = 15.0) -> None:
        self.journal = journal
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="parity-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self.journal.closed:
                return
            try:
                self.journal.heartbeat()
            except Exception as exc:
                if self.journal.closed:  # the run ended between the check and the beat
                    return
                log.warning("heartbeat not journaled: %s", exc)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
