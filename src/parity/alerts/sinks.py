"""`Delivery`: external messages through apprise, on one background thread.

A bounded queue between the run and the sinks: a full queue drops the message (logged), a
failing sink is logged with apprise's reason, a hanging one costs the worker its timeout (apprise's
connect/read timeouts), never the run. Failures are not alerted about (that would loop).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from parity.alerts.config import redact

log = logging.getLogger("parity.alerts")

_NOTIFY_TYPES = {"info": "info", "warning": "warning", "critical": "failure"}


@dataclass(frozen=True)
class Outcome:
    """One message to one sink."""

    sink: str  # redacted
    ok: bool
    reason: str = ""


class Sink:
    """One apprise URL (one `Apprise` object each, so a failure names its sink)."""

    def __init__(self, url: str) -> None:
        import apprise

        self.name = redact(url)
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ValueError(f"alert URL {self.name} is not a valid apprise URL")

    def send(self, title: str, body: str, severity: str = "info") -> Outcome:
        try:
            result: Any = self._apprise.notify(
                body=body, title=title, notify_type=_NOTIFY_TYPES.get(severity, "info")
            )
        except Exception as exc:  # a plugin bug must not reach the run
            return Outcome(self.name, False, f"{type(exc).__name__}: {exc}")
        if result:
            return Outcome(self.name, True)
        return Outcome(self.name, False, _reason(result))


def _reason(result: Any) -> str:
    """apprise's own words for a failure (its structured result's log), else a generic one."""
    try:
        messages = [str(entry.message) for entry in result.logs()]
    except Exception:  # an older result without logs
        messages = []
    return "; ".join(dict.fromkeys(messages)) or "delivery failed (no reason given)"


class Delivery:
    """Sends `(title, body, severity)` to every sink on a daemon thread."""

    def __init__(self, urls: Sequence[str], *, queue_size: int = 100) -> None:
        self.sinks = [Sink(url) for url in urls]
        self._queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self.outcomes: list[Outcome] = []  # the latest outcomes (kept short)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sinks]

    def start(self) -> None:
        if self.sinks and self._thread is None:
            thread = threading.Thread(target=self._work, name="parity-alerts-send", daemon=True)
            thread.start()
            self._thread = thread

    def put(self, title: str, body: str, severity: str = "info") -> bool:
        """Queue a message; False (and a log line) when there is no room."""
        if not self.sinks:
            return False
        self.start()
        try:
            self._queue.put_nowait((title, body, severity))
        except queue.Full:
            log.warning("alert not delivered: the send queue is full (%s)", title)
            return False
        return True

    def send_now(self, title: str, body: str, severity: str = "info") -> list[Outcome]:
        """Deliver on this thread and return each sink's outcome (`parity alerts test`)."""
        return [self._send_one(sink, title, body, severity) for sink in self.sinks]

    def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` s for every queued message to be handled; True if all were."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning(
                        "alerts: %d message(s) still unsent after %.0f s; giving up on them",
                        self._queue.unfinished_tasks, timeout,
                    )  # fmt: skip
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def stop(self) -> None:
        """Ask the worker to end after what is queued (it is a daemon: a hung sink is left)."""
        if self._thread is not None:
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._thread = None

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                for sink in self.sinks:
                    self._send_one(sink, *item)
            finally:
                self._queue.task_done()

    def _send_one(self, sink: Sink, title: str, body: str, severity: str) -> Outcome:
        started = time.monotonic()
        outcome = sink.send(title, body, severity)
        self.outcomes = [*self.outcomes[-49:], outcome]
        if outcome.ok:
            spent = time.monotonic() - started
            log.debug("alert sent to %s in %.2f s: %s", sink.name, spent, title)
        else:
            log.warning("alert sink %s failed: %s (%s)", sink.name, outcome.reason, title)
        return outcome
