"""Alerts: rules over a run's journal, delivered through apprise sinks and the log.

`AlertConfig` (thresholds and sink URLs), `Rules` (journal rows → `Alert`), `AlertDispatcher`
(de-duplication, rate limit, journal, log, delivery), `AlertEngine` (incremental journal polling)
and `RunAlerts` (the engine on a paper run's thread).
"""

from __future__ import annotations

from parity.alerts.config import ENV_ALERT_URLS, AlertConfig, alert_config, redact
from parity.alerts.dispatch import AlertDispatcher, alert_payload
from parity.alerts.engine import AlertEngine, Cursor, RunAlerts
from parity.alerts.rules import Alert, Rules
from parity.alerts.sinks import Delivery, Outcome

__all__ = [
    "ENV_ALERT_URLS",
    "Alert",
    "AlertConfig",
    "AlertDispatcher",
    "AlertEngine",
    "Cursor",
    "Delivery",
    "Outcome",
    "Rules",
    "RunAlerts",
    "alert_config",
    "alert_payload",
    "redact",
]
