"""The daily report at the session close on the wall clock, and one report per day whichever
trigger comes first."""

from __future__ import annotations

import datetime as dt
import threading

from parity.runners.daily import SessionCloseTimer, once_per_day

DAY = dt.date(2026, 11, 20)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def test_the_report_waits_for_the_close_and_comes_once():
    calls: list[dt.date] = []
    clock = Clock(dt.datetime.combine(DAY, dt.time(16, 30)))
    timer = SessionCloseTimer(once_per_day(calls.append), traded_on=lambda d: d == DAY, now=clock)
    timer.tick()
    assert calls == []  # extended hours still trade
    clock.at = dt.datetime.combine(DAY, dt.time(20, 5))
    timer.tick()
    timer.tick()
    assert calls == [DAY]


def test_no_report_for_a_day_without_bars():
    calls: list[dt.date] = []
    clock = Clock(dt.datetime.combine(DAY, dt.time(21, 0)))  # a holiday: no bar today
    SessionCloseTimer(calls.append, traded_on=lambda _d: False, now=clock).tick()
    assert calls == []


def test_the_next_mornings_bar_does_not_repeat_the_report():
    calls: list[dt.date] = []
    report = once_per_day(calls.append)
    report(DAY)  # the wall clock at 20:05
    report(DAY)  # the first bar of the next date (SessionEnd)
    report(DAY + dt.timedelta(days=1))
    assert calls == [DAY, DAY + dt.timedelta(days=1)]


def test_once_per_day_holds_across_threads():
    calls: list[dt.date] = []
    report = once_per_day(calls.append)
    threads = [threading.Thread(target=report, args=(DAY,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [DAY]


def test_the_thread_ticks_and_stops():
    fired = threading.Event()
    clock = Clock(dt.datetime.combine(DAY, dt.time(20, 30)))
    timer = SessionCloseTimer(
        lambda _d: fired.set(), traded_on=lambda _d: True, now=clock, poll_seconds=0.01
    ).start()
    try:
        assert fired.wait(5)
    finally:
        timer.stop()
    assert timer._thread is not None and not timer._thread.is_alive()
