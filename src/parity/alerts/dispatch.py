"""`AlertDispatcher`: what happens to an alert once a rule raised it.

Every alert is logged (logger `parity.alerts`, the always-on sink) and recorded (the runner
journals it as kind "alert"); it goes to the external sinks unless the same key was sent within
`dedup_seconds` (a flapping feed sends one message) or `rate_limit` messages already went out in
the last minute (those are counted, and the next message sent says how many were held back).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from parity.alerts.config import AlertConfig
from parity.alerts.rules import Alert
from parity.alerts.sinks import Delivery
from parity.logs import FILE_ONLY

log = logging.getLogger("parity.alerts")

Record = Callable[[Alert, dict[str, Any]], None]
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}
WINDOW_S = 60.0  # the rate limit's window


def alert_payload(alert: Alert, *, suppressed_by: str | None, sinks: list[str]) -> dict[str, Any]:
    """The journal payload of an alert (kind "alert", level = severity)."""
    return {
        "rule": alert.rule,
        "key": alert.key,
        "title": alert.title,
        "message": alert.message,
        "symbol": alert.symbol,
        "value": alert.value,
        "threshold": alert.threshold,
        "suppressed": suppressed_by is not None,
        "suppressed_by": suppressed_by,
        "sinks": [] if suppressed_by else sinks,
    }


class AlertDispatcher:
    """De-duplicates, rate limits, logs, records and hands alerts to a `Delivery`."""

    def __init__(
        self,
        config: AlertConfig,
        *,
        delivery: Delivery | None = None,
        record: Record | None = None,
        clock: Callable[[], float] = time.monotonic,
        run_label: str = "",
    ) -> None:
        self.config = config
        self.delivery = delivery if delivery is not None else Delivery(config.urls)
        self.record = record
        self.clock = clock
        self.run_label = run_label
        self._last_sent: dict[str, float] = {}
        self._sent_at: collections.deque[float] = collections.deque()
        self._held_back = 0  # rate limited since the last message sent
        self._lock = threading.Lock()

    @property
    def external(self) -> bool:
        return bool(self.delivery.sinks)

    def submit(self, alert: Alert) -> bool:
        """Handle one alert; True if it was queued for the external sinks."""
        with self._lock:
            now = self.clock()
            suppressed_by = self._suppression(alert, now)
            summary = ""
            if suppressed_by is None:
                self._last_sent[alert.key] = now
                if self.external:
                    self._sent_at.append(now)
                    if self._held_back:
                        summary = self._summary()
            elif suppressed_by == "rate_limit":
                self._held_back += 1
        self._log(alert, suppressed_by)
        if self.record is not None:
            payload = alert_payload(alert, suppressed_by=suppressed_by, sinks=self.delivery.names)
            try:
                self.record(alert, payload)
            except Exception as exc:  # recording must never stop the run (a closed journal)
                log.warning("alert not journaled (%s): %s", exc, alert.title)
        if suppressed_by is not None or not self.external:
            return False
        body = alert.message + (f"\n\n{summary}" if summary else "")
        return self.delivery.put(self._title(alert.title, alert.severity), body, alert.severity)

    def send_report(self, title: str, body: str) -> bool:
        """A report (the daily report) to the external sinks: not de-duplicated or limited."""
        log.info("report sent to %d sink(s): %s", len(self.delivery.sinks), title)
        return self.delivery.put(self._title(title, "info"), body, "info")

    def flush_summary(self) -> bool:
        """At the end: say how many alerts the rate limit held back since the last message."""
        with self._lock:
            if not self._held_back or not self.external:
                return False
            text = self._summary()
        log.warning("alerts: %s", text)
        return self.delivery.put(self._title("alerts held back", "warning"), text, "warning")

    # ------------------------------------------------------------------ internals

    def _suppression(self, alert: Alert, now: float) -> str | None:
        last = self._last_sent.get(alert.key)
        if last is not None and now - last < self.config.dedup_seconds:
            return "duplicate"
        while self._sent_at and now - self._sent_at[0] >= WINDOW_S:
            self._sent_at.popleft()
        if self.external and len(self._sent_at) >= self.config.rate_limit:
            return "rate_limit"
        return None

    def _summary(self) -> str:
        held, self._held_back = self._held_back, 0
        return (
            f"{held} more alert(s) were held back by the rate limit "
            f"({self.config.rate_limit}/min); see `parity alerts list`"
        )

    def _title(self, title: str, severity: str) -> str:
        prefix = f"[parity {self.run_label}]" if self.run_label else "[parity]"
        return f"{prefix} {severity.upper()}: {title}"

    def _log(self, alert: Alert, suppressed_by: str | None) -> None:
        note = f" (not sent: {suppressed_by})" if suppressed_by else ""
        log.log(
            _LEVELS.get(alert.severity, logging.WARNING),
            "alert %s: %s: %s%s", alert.rule, alert.title, alert.message, note,
            extra={} if alert.console else FILE_ONLY,
        )  # fmt: skip
