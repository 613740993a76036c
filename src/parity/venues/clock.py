"""The wall clock live venues share: New York time, and when a quiet feed counts as stale."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from parity.venues.protocol import SessionConfig


def new_york_now() -> dt.datetime:
    """Naive America/New_York wall-clock time (the convention of `--until` and bar labels)."""
    return dt.datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)


def stale_seconds(config: SessionConfig) -> float:
    """Seconds without a bar after which a live feed is stale: `stale_bars` bar lengths."""
    return float(config.alerts.stale_bars * config.timeframe.seconds)
