"""The venue's market calendar and time helpers, in the zone of the bars' exchange calendar.

The calendar is built from the data and an exchange calendar (`parity.instruments.calendars`):
every date that has bars is a session, with that exchange's hours for the date (09:30-16:00 New
York, 13:00 on an NYSE half day; 09:15-15:30 Mumbai; whole UTC days around the clock). After the
last date, sessions continue on the exchange's own sessions so that `next_open` is always defined.
Naive datetimes are wall-clock times in the calendar's zone (bar labels); aware ones carry it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from parity.instruments.calendars import ExchangeCalendar, calendar_named

NEW_YORK = ZoneInfo("America/New_York")
_LOOKAHEAD_DAYS = 400  # sessions searched after the data and `now` (a year always has some)


def ny(naive: datetime) -> datetime:
    """Attach New York time to a naive New York wall time (XNYS bars; tests)."""
    return naive.replace(tzinfo=NEW_YORK)


def rfc3339(moment: datetime) -> str:
    """`2013-10-07T13:30:00Z` (UTC, microseconds only when non-zero)."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


class MarketCalendar:
    """Sessions on the given dates with `exchange`'s hours (XNYS unless named), and the
    conversions between the venue's aware clock and naive bar labels in the exchange's zone."""

    def __init__(self, dates: Iterable[date], exchange: ExchangeCalendar | None = None) -> None:
        self.exchange = exchange or calendar_named("XNYS")
        self.zone = ZoneInfo(self.exchange.timezone)
        self.dates: list[date] = sorted(set(dates))
        self._hours: dict[date, tuple[datetime, datetime]] = {}
        self._after: list[date] | None = None

    # ------------------------------------------------------------------ zones
    def aware(self, naive: datetime) -> datetime:
        """Attach the exchange's zone to a naive wall time in it (a bar label)."""
        return naive.replace(tzinfo=self.zone)

    def naive(self, moment: datetime) -> datetime:
        """The naive wall time in the exchange's zone of an aware datetime (naive unchanged)."""
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def parse(self, text: str) -> datetime:
        """Parse an ISO/RFC 3339 time; naive input is the exchange's wall time. Aware result."""
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T"))
        if value.tzinfo is None:
            return self.aware(value)
        return value.astimezone(self.zone)

    def parse_naive(self, text: str) -> datetime:
        """Parse an ISO time into a naive wall time in the exchange's zone."""
        return self.naive(self.parse(text))

    # --------------------------------------------------------------- sessions
    def session_dates(self, start: date | None = None, end: date | None = None) -> list[date]:
        """The session dates in the inclusive window."""
        return [
            d for d in self.dates if (start is None or d >= start) and (end is None or d <= end)
        ]

    def hours(self, day: date) -> tuple[datetime, datetime]:
        """The aware open and close of `day`: the exchange's own (half days close early), or
        its regular hours on a date the exchange has no session but the data has bars."""
        if day not in self._hours:
            table = self.exchange.schedule(day, day)
            if len(table):
                opens, closes = table["open"].iloc[0], table["close"].iloc[0]
                open_, close = opens.to_pydatetime(), closes.to_pydatetime()
            else:
                first, last = self.exchange.regular_hours()
                open_ = datetime.combine(day, first)
                close = datetime.combine(day + timedelta(days=int(last <= first)), last)
            self._hours[day] = (self.aware(open_), self.aware(close))
        return self._hours[day]

    def open_of(self, day: date) -> datetime:
        return self.hours(day)[0]

    def close_of(self, day: date) -> datetime:
        return self.hours(day)[1]

    def _sessions_from(self, day: date) -> Iterable[date]:
        index = bisect.bisect_left(self.dates, day)
        yield from self.dates[index:]
        if self._after is None:
            first = self.dates[-1] + timedelta(days=1) if self.dates else day
            last = max(first, day) + timedelta(days=_LOOKAHEAD_DAYS)
            self._after = [d.date() for d in self.exchange.sessions(first, last)]
        yield from self._after[bisect.bisect_left(self._after, day) :]

    def is_open(self, now: datetime) -> bool:
        """Whether `now` (aware) is inside a regular session."""
        local = now.astimezone(self.zone)
        for day in (local.date() - timedelta(days=1), local.date()):  # 24/7 closes at midnight
            index = bisect.bisect_left(self.dates, day)
            if index < len(self.dates) and self.dates[index] == day:
                open_, close = self.hours(day)
                if open_ <= local < close:
                    return True
        return False

    def next_open(self, now: datetime) -> datetime:
        """The first session open strictly after `now`."""
        local = now.astimezone(self.zone)
        for day in self._sessions_from(local.date()):
            if self.open_of(day) > local:
                return self.open_of(day)
        raise RuntimeError("no session found")  # pragma: no cover - sessions never run out

    def next_close(self, now: datetime) -> datetime:
        """The close of the current session, or of the next one when closed."""
        return self.close_of(self.session_date_for(now))

    def session_date_for(self, moment: datetime) -> date:
        """The session a `day` order submitted at `moment` belongs to: the one open now, or the
        next one (a session's date is its open's: a 24/7 day closes at the next midnight)."""
        local = moment.astimezone(self.zone)
        for day in self._sessions_from(local.date() - timedelta(days=1)):
            if self.close_of(day) > local:
                return day
        raise RuntimeError("no session found")  # pragma: no cover
