"""The wall clock live venues share: the run's exchange calendar (its zone, sessions, which bars
are traded), and when a quiet feed counts as stale."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from parity.instruments.calendars import ExchangeCalendar
from parity.venues.protocol import SessionConfig


def new_york_now() -> dt.datetime:
    """Naive America/New_York wall-clock time (XNYS runs; `exchange_now` for any calendar)."""
    return dt.datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)


def run_exchange(config: SessionConfig) -> ExchangeCalendar:
    """The exchange calendar of the run: `--calendar`, else its symbols' own."""
    from parity.feeds.loader import run_calendar

    return run_calendar(config.symbols, config.calendar)


def exchange_now(config: SessionConfig) -> Callable[[], dt.datetime]:
    """The run's wall clock: naive time in its exchange's zone (the convention of bar labels
    and `--until`: 15:30 on an NSE run is 15:30 in Mumbai)."""
    return run_exchange(config).now


def bar_filter(config: SessionConfig) -> Callable[[dt.datetime], bool]:
    """Whether a live bar (its naive exchange-time label) is traded in the run's session: a
    regular-session run drops pre- and post-market bars as its backtest does. Daily runs keep
    every bar (a daily bar is labelled with its session's date, at midnight), as the backtest's
    session filter does."""
    if config.timeframe.is_daily:
        return lambda _label: True
    return run_exchange(config).bar_filter(config.session or "regular")


def stale_seconds(config: SessionConfig) -> float:
    """Seconds without a bar after which a live feed is stale: `stale_bars` bar lengths."""
    return float(config.alerts.stale_bars * config.timeframe.seconds)
