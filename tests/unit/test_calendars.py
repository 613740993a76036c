"""Exchange calendars on instruments: zones, sessions, half days, annualisation, and the bars and
gap warnings that follow them (issue 15). The NSE and US bars are generated from the calendar
(`parity.feeds.synthetic`), seeded, not shipped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from parity.errors import ConfigError
from parity.feeds.loader import load_bars
from parity.feeds.synthetic import session_bars, write_session_bars
from parity.instruments import instrument_for
from parity.instruments.calendars import calendar_for, calendar_named
from parity.instruments.money import format_money
from parity.timeframe import MINUTE, parse_timeframe

FIVE = parse_timeframe("5Min")


def test_each_instrument_has_its_exchange_calendar() -> None:
    shown = {
        symbol: (c.name, c.timezone, c.annualisation.periods)
        for symbol in ("AAPL", "SPY240119C00450000", "RELIANCE.NS", "BTC/USD")
        for c in [calendar_for(instrument_for(symbol))]
    }
    assert shown == {
        "AAPL": ("XNYS", "America/New_York", 252),
        "SPY240119C00450000": ("XNYS", "America/New_York", 252),
        "RELIANCE.NS": ("XNSE", "Asia/Kolkata", 252),
        "BTC/USD": ("24/7", "UTC", 365),
    }


def test_sessions_holidays_and_half_days_come_from_the_library() -> None:
    nyse, nse = calendar_named("XNYS"), calendar_named("XNSE")
    assert not nyse.is_session(dt.date(2013, 11, 28))  # Thanksgiving
    assert nyse.session_open(dt.date(2013, 11, 29)) == pd.Timestamp("2013-11-29 09:30")
    assert nyse.session_close(dt.date(2013, 11, 29)) == pd.Timestamp("2013-11-29 13:00")
    assert nyse.session_close(dt.date(2013, 11, 27)) == pd.Timestamp("2013-11-27 16:00")
    assert nse.session_open(dt.date(2024, 1, 2)) == pd.Timestamp("2024-01-02 09:15")
    assert nse.session_close(dt.date(2024, 1, 2)) == pd.Timestamp("2024-01-02 15:30")
    january = nse.sessions(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert len(january) == 21
    assert pd.Timestamp("2024-01-22") not in january  # special holiday
    assert pd.Timestamp("2024-01-26") not in january  # Republic Day
    labels = pd.DatetimeIndex(
        [
            *("2013-11-29 09:29", "2013-11-29 09:30", "2013-11-29 12:59", "2013-11-29 13:00"),
            *("2013-11-28 10:00", "2013-11-27 15:59"),
        ]
    )
    assert nyse.in_regular_session(labels).tolist() == [False, True, True, False, False, True]
    assert len(calendar_named("24/7").sessions(dt.date(2024, 1, 1), dt.date(2024, 1, 31))) == 31


def test_a_bad_calendar_name_is_one_line_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        calendar_named("NSE-INDIA")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("calendar 'NSE-INDIA' is not known; use one of XNYS, XNSE, XBOM, 24/7")


def test_symbols_on_different_calendars_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"AAPL \(XNYS\), BTC/USD \(24/7\); run them"):
        load_bars("sample", ["AAPL", "BTC/USD"])


def test_an_ist_five_minute_file_keeps_its_labels_and_sessions(tmp_path: Path) -> None:
    """The issue's RELIANCE case: `09:15+05:30 .. 15:25` stays 09:15..15:25 on the NSE dates,
    75 bars a session, one session a date, no gap warning (today: split across two New York
    dates and '16 gaps ... 04:55 -> 22:45')."""
    nse = calendar_named("XNSE")
    bars = session_bars(nse, dt.date(2024, 1, 1), dt.date(2024, 1, 31), FIVE, seed=15)
    path = write_session_bars(bars, tmp_path / "RELIANCE.csv", nse)
    assert path.read_text().splitlines()[1].startswith("2024-01-01 09:15:00+05:30,")
    loaded = load_bars(str(path), ["RELIANCE.NS"])
    assert loaded.warnings == ()
    assert loaded.calendar.name == "XNSE"
    index = loaded.series[0].frame.index
    assert index[0] == pd.Timestamp("2024-01-01 09:15") and index[-1] == pd.Timestamp(
        "2024-01-31 15:25"
    )
    per_day = pd.Series(index.time, index=index.normalize()).groupby(level=0)
    assert (per_day.size() == 75).all()
    assert (per_day.min() == dt.time(9, 15)).all() and (per_day.max() == dt.time(15, 25)).all()
    assert per_day.size().index.equals(nse.sessions(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))


def test_calendar_override_reads_the_stamps_in_its_zone(tmp_path: Path) -> None:
    nse = calendar_named("XNSE")
    bars = session_bars(nse, dt.date(2024, 1, 1), dt.date(2024, 1, 2), FIVE)
    path = write_session_bars(bars, tmp_path / "RELIANCE.csv", nse)
    loaded = load_bars(str(path), ["RELIANCE.NS"], calendar="XNYS")
    assert loaded.calendar.name == "XNYS"
    assert loaded.series[0].frame.index[0] == pd.Timestamp("2023-12-31 22:45")


def _us_minutes(tmp_path: Path, drop: slice | None = None, cut: str | None = None) -> Path:
    nyse = calendar_named("XNYS")
    bars = session_bars(nyse, dt.date(2013, 11, 25), dt.date(2013, 12, 3), MINUTE, price=180.0)
    if cut is not None:  # a regular day whose bars stop at 13:00
        day = bars.index.normalize() == pd.Timestamp(cut)
        bars = bars[~day | (bars.index.time < dt.time(13, 0))]
    if drop is not None:
        bars = bars[~((bars.index >= drop.start) & (bars.index < drop.stop))]
    return write_session_bars(bars, tmp_path / "IBM.csv", nyse)


def test_a_us_holiday_and_a_half_day_are_not_gaps_but_a_missing_session_is(
    tmp_path: Path,
) -> None:
    """Thanksgiving (2013-11-28) has no bars and the day after closes at 13:00: no warning.
    The same week missing a whole session, or a regular day stopping at 13:00, warns: the
    calendar, not a fixed 16:00 close, says what a complete session is."""
    whole = load_bars(str(_us_minutes(tmp_path)), ["IBM"])
    index = whole.series[0].frame.index
    assert pd.Timestamp("2013-11-28") not in index.normalize()
    assert index[index.normalize() == pd.Timestamp("2013-11-29")][-1] == pd.Timestamp(
        "2013-11-29 12:59"
    )
    assert whole.warnings == ()
    tuesday = slice(pd.Timestamp("2013-11-26"), pd.Timestamp("2013-11-27"))
    missing = load_bars(str(_us_minutes(tmp_path, drop=tuesday)), ["IBM"])
    assert missing.warnings == (
        f"{tmp_path / 'IBM.csv'}: no bars in 1 XNYS session(s) (2013-11-26); "
        "check the data is complete",
    )
    short = load_bars(str(_us_minutes(tmp_path, cut="2013-11-27")), ["IBM"])
    assert short.warnings == (
        f"{tmp_path / 'IBM.csv'}: 1 gap(s) of more than 30 missing 1Min bars within a XNYS "
        "session (2013-11-27 12:59:00 -> 2013-11-27 16:00:00); check the data is complete",
    )


def test_money_shows_the_currency_symbol() -> None:
    assert format_money(50_000, "INR") == "₹50,000.00"
    assert format_money(-1234.5, "USD") == "-$1,234.50"
    assert format_money(10, "GBP") == "GBP 10.00"
