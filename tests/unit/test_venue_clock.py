"""The local venue's clock follows the bars' exchange calendar: its zone, hours and half days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from parity.feeds.loader import load_bars
from parity.feeds.synthetic import session_bars, write_session_bars
from parity.instruments.calendars import calendar_named
from parity.timeframe import parse_timeframe
from parity.venue.clock import MarketCalendar, ny
from parity.venue.marketdata import MarketData
from parity.venue.models import calendar_json


def test_new_york_is_the_default_and_a_half_day_closes_at_one() -> None:
    cal = MarketCalendar([date(2024, 11, 27), date(2024, 11, 29)])
    assert cal.zone.key == "America/New_York"
    assert cal.close_of(date(2024, 11, 29)) == ny(datetime(2024, 11, 29, 13, 0))
    assert not cal.is_open(ny(datetime(2024, 11, 29, 13, 0)))
    assert cal.is_open(ny(datetime(2024, 11, 29, 12, 59)))
    # after the data, the next session is the exchange's own (Monday 2 December)
    assert cal.next_open(ny(datetime(2024, 11, 29, 14))) == ny(datetime(2024, 12, 2, 9, 30))
    assert calendar_json(date(2024, 11, 29), cal)["close"] == "13:00"


def test_nse_sessions_are_09_15_to_15_30_in_mumbai() -> None:
    cal = MarketCalendar([date(2024, 1, 1), date(2024, 1, 2)], calendar_named("XNSE"))
    ist = cal.zone
    assert ist.key == "Asia/Kolkata"
    open_ = datetime(2024, 1, 1, 9, 15, tzinfo=ist)
    assert cal.is_open(open_)
    assert not cal.is_open(datetime(2024, 1, 1, 15, 30, tzinfo=ist))
    # 04:00 UTC is 09:30 IST: open; as New York sees it, that is the night before
    assert cal.is_open(datetime(2024, 1, 1, 4, 0, tzinfo=UTC))
    assert cal.next_close(open_) == datetime(2024, 1, 1, 15, 30, tzinfo=ist)
    assert cal.session_date_for(datetime(2024, 1, 1, 16, 0, tzinfo=ist)) == date(2024, 1, 2)
    # 26 January (Republic Day) is an NSE holiday: the session after the 25th is the 29th
    late = MarketCalendar([date(2024, 1, 25)], calendar_named("XNSE"))
    after = late.next_open(datetime(2024, 1, 25, 16, 0, tzinfo=ist))
    assert after == datetime(2024, 1, 29, 9, 15, tzinfo=ist)
    assert cal.naive(open_.astimezone(UTC)) == datetime(2024, 1, 1, 9, 15)
    assert cal.parse_naive("2024-01-01T03:45:00Z") == datetime(2024, 1, 1, 9, 15)
    assert calendar_json(date(2024, 1, 1), cal) == {
        "date": "2024-01-01",
        "open": "09:15",
        "close": "15:30",
        "session_open": "0915",
        "session_close": "1530",
        "settlement_date": "2024-01-03",
    }


@pytest.mark.parametrize("hour", [0, 12, 23])
def test_around_the_clock_is_always_open(hour: int) -> None:
    cal = MarketCalendar([date(2024, 1, 6), date(2024, 1, 7)], calendar_named("24/7"))
    moment = datetime(2024, 1, 6, hour, 30, tzinfo=UTC)
    assert cal.is_open(moment)  # a Saturday
    assert cal.session_date_for(moment) == date(2024, 1, 6)
    assert cal.next_close(moment) == datetime(2024, 1, 7, tzinfo=UTC)
    assert cal.next_open(moment) == datetime(2024, 1, 7, tzinfo=UTC)


def test_the_venue_replays_an_nse_file_on_the_nse_clock(tmp_path: Path) -> None:
    nse = calendar_named("XNSE")
    bars = session_bars(nse, date(2024, 1, 1), date(2024, 1, 2), parse_timeframe("5Min"), seed=3)
    path = write_session_bars(bars, tmp_path / "RELIANCE.csv", nse)
    data = MarketData(load_bars(str(path), ["RELIANCE.NS"]))
    assert data.calendar.exchange.name == "XNSE"
    assert data.steps[0].time == datetime(2024, 1, 1, 9, 15)
    assert len(data.steps) == 2 * 75  # 75 five-minute bars a session, none across midnight
    page, _ = data.history(
        ["RELIANCE.NS"], "1Day", before=datetime(2024, 1, 3), start=None, end=None,
        limit=None, page_token=None,
    )  # fmt: skip
    # a day's bar starts at IST midnight, 18:30 UTC the day before
    assert [b["t"] for b in page["RELIANCE.NS"]] == ["2023-12-31T18:30:00Z", "2024-01-01T18:30:00Z"]
    first, _ = data.history(
        ["RELIANCE.NS"], "5Min", before=datetime(2024, 1, 3), start="2024-01-01T09:15:00",
        end="2024-01-01T09:15:00", limit=None, page_token=None,
    )  # fmt: skip
    assert first["RELIANCE.NS"][0]["t"] == "2024-01-01T03:45:00Z"
