"""`Delivery`: external messages through apprise, one background thread per sink.

A bounded queue between the run and each sink: a full queue drops the message (logged), a
failing sink is logged with apprise's reason and retried twice (1 s, then 2 s later), a hanging
one costs its own worker apprise's connect/read timeouts, never the run or the other sinks.
Failures are not alerted about (that would loop).
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


class _Worker:
    """One sink's queue and thread: a slow or hanging sink delays only its own messages."""

    def __init__(self, sink: Sink, send: Any, queue_size: int) -> None:
        self.sink = sink
        self.send = send
        self.queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue(maxsize=queue_size)
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(
                target=self._work, name=f"parity-alerts-send-{self.sink.name[:24]}", daemon=True
            )
            self.thread.start()

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                self.send(self.sink, *item)
            finally:
                self.queue.task_done()


class Delivery:
    """Sends `(title, body, severity)` to every sink, each on its own daemon thread, retrying a
    failed message `retries` times with growing pauses (1 s, 2 s, ...)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        queue_size: int = 100,
        retries: int = 2,
        retry_wait: float = 1.0,
    ) -> None:
        self.sinks = [Sink(url) for url in urls]
        self.retries = retries
        self.retry_wait = retry_wait
        self._workers = [_Worker(sink, self._deliver, queue_size) for sink in self.sinks]
        self._stopping = threading.Event()
        self.outcomes: list[Outcome] = []  # the latest outcomes (kept short)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sinks]

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def put(self, title: str, body: str, severity: str = "info") -> bool:
        """Queue a message for every sink; False (and a log line) when no sink had room."""
        if not self.sinks:
            return False
        self.start()
        queued = False
        for worker in self._workers:
            try:
                worker.queue.put_nowait((title, body, severity))
                queued = True
            except queue.Full:
                log.warning(
                    "alert not delivered to %s: its send queue is full (%s)",
                    worker.sink.name,
                    title,
                )
        return queued

    def send_now(self, title: str, body: str, severity: str = "info") -> list[Outcome]:
        """Deliver on this thread, once, and return each sink's outcome (`parity alerts test`)."""
        return [self._send_one(sink, title, body, severity) for sink in self.sinks]

    def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` s for every queued message to be handled; True if all were."""
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            pending = worker.queue
            with pending.all_tasks_done:
                while pending.unfinished_tasks:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        log.warning(
                            "alerts: %d message(s) to %s still unsent after %.0f s; giving up",
                            pending.unfinished_tasks, worker.sink.name, timeout,
                        )  # fmt: skip
                        self._stopping.set()  # no more retries: the run is ending
                        return False
                    pending.all_tasks_done.wait(remaining)
        return True

    def stop(self) -> None:
        """Ask the workers to end after what is queued (daemons: a hung sink is left)."""
        self._stopping.set()
        for worker in self._workers:
            if worker.thread is not None:
                with contextlib.suppress(queue.Full):
                    worker.queue.put_nowait(None)
                worker.thread = None

    def _deliver(self, sink: Sink, title: str, body: str, severity: str) -> Outcome:
        outcome = self._send_one(sink, title, body, severity)
        attempt = 0
        while not outcome.ok and attempt < self.retries and not self._stopping.is_set():
            attempt += 1
            pause = self.retry_wait * 2 ** (attempt - 1)
            log.info("alert to %s: retry %d/%d in %.0f s", sink.name, attempt, self.retries, pause)
            if self._stopping.wait(pause):
                break
            outcome = self._send_one(sink, title, body, severity)
        return outcome

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
