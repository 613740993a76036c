"""What a paper run does at each session's close: the per-session divergence check against its
backtest twin and the daily report (sent by the alerts when configured); on a live venue the
report is due at the exchange's close by the wall clock, not at the next morning's first bar."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

import backtrader as bt

from parity.alerts.engine import RunAlerts
from parity.instruments.calendars import ExchangeCalendar
from parity.runners.daily import (
    SessionCloseTimer,
    daily_report_checker,
    once_per_day,
    traded_on,
)
from parity.runners.paper_config import PaperConfig
from parity.runners.session_divergence import SessionEnd, session_checker

Notify = Callable[[str], None]


def add_session_checks(
    cerebro: bt.Cerebro,
    config: PaperConfig,
    *,
    journal: Any,
    run_id: str,
    notify: Notify,
    alerts: RunAlerts | None,
    wall_clock: bool,
    exchange: ExchangeCalendar,
    skip_through: dt.datetime | None,
    starting_cash: float,
    cleanup: contextlib.ExitStack,
) -> None:
    """Add the session-close analyzers `config` asks for (`divergence_check`, `daily_reports`)."""
    if config.divergence_check:
        cerebro.addanalyzer(
            SessionEnd,
            skip_through=skip_through,
            check=session_checker(
                config,
                journal=journal,
                run_id=run_id,
                notify=notify,
                starting_cash=starting_cash,
            ),
        )
    if config.daily_reports:  # after the divergence check: the report shows its figures
        report_day = once_per_day(
            daily_report_checker(
                journal=journal,
                run_id=run_id,
                run_dir=config.runs_dir / run_id,
                notify=notify,
                sender=alerts if config.alerts.send_daily_report else None,
            )
        )
        cerebro.addanalyzer(
            SessionEnd,
            _name="daily_reports",
            check=report_day,
            skip_through=skip_through,
        )
        if wall_clock:  # live: tonight, not at the next morning's first bar
            timer = SessionCloseTimer(
                report_day,
                traded_on=traded_on(journal, run_id),
                now=exchange.now,  # the exchange's wall clock: 15:35 IST for an NSE run
                close=exchange.report_time(config.session or "regular"),
            ).start()
            cleanup.callback(timer.stop)
