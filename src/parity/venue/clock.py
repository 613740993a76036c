"""The venue's market calendar and time helpers.

The calendar is built from the data: every date that has bars is a session with the regular hours
09:30-16:00 America/New_York. After the last date, sessions continue on weekdays so that
`next_open` is always defined. All datetimes handled here are tz-aware (New York) unless a name
says `naive`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
SESSION_OPEN = time(9, 30)
SESSION_CLOSE = time(16, 0)


def ny(naive: datetime) -> datetime:
    """Attach New York time to a naive New York wall time."""
    return naive.replace(tzinfo=NEW_YORK)


def naive_ny(moment: datetime) -> datetime:
    """The naive New York wall time of an aware datetime (naive input is returned unchanged)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(NEW_YORK).replace(tzinfo=None)


def rfc3339(moment: datetime) -> str:
    """`2013-10-07T13:30:00Z` (UTC, microseconds only when non-zero)."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO/RFC 3339 time. Naive input is New York wall time; the result is aware (NY)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T"))
    if value.tzinfo is None:
        return ny(value)
    return value.astimezone(NEW_YORK)


def parse_naive_ny(text: str) -> datetime:
    """Parse an ISO time into a naive New York wall time (aware input is converted)."""
    return naive_ny(parse_iso(text))


class MarketCalendar:
    """Regular sessions (09:30-16:00 New York) on the given dates."""

    def __init__(self, dates: Iterable[date]) -> None:
        self.dates: list[date] = sorted(set(dates))

    def session_dates(self, start: date | None = None, end: date | None = None) -> list[date]:
        """The session dates in the inclusive window."""
        return [
            d for d in self.dates if (start is None or d >= start) and (end is None or d <= end)
        ]

    def _sessions_from(self, day: date) -> Iterable[date]:
        index = bisect.bisect_left(self.dates, day)
        yield from self.dates[index:]
        extra = max(day, self.dates[-1] + timedelta(days=1)) if self.dates else day
        for _ in range(3700):
            if extra.weekday() < 5:
                yield extra
            extra += timedelta(days=1)

    @staticmethod
    def open_of(day: date) -> datetime:
        return datetime.combine(day, SESSION_OPEN, tzinfo=NEW_YORK)

    @staticmethod
    def close_of(day: date) -> datetime:
        return datetime.combine(day, SESSION_CLOSE, tzinfo=NEW_YORK)

    def is_open(self, now: datetime) -> bool:
        """Whether `now` (aware) is inside a regular session."""
        local = now.astimezone(NEW_YORK)
        day = local.date()
        index = bisect.bisect_left(self.dates, day)
        in_data = index < len(self.dates) and self.dates[index] == day
        return in_data and self.open_of(day) <= local < self.close_of(day)

    def next_open(self, now: datetime) -> datetime:
        """The first session open strictly after `now`."""
        local = now.astimezone(NEW_YORK)
        for day in self._sessions_from(local.date()):
            if self.open_of(day) > local:
                return self.open_of(day)
        raise RuntimeError("no session found")  # pragma: no cover - weekdays never run out

    def next_close(self, now: datetime) -> datetime:
        """The close of the current session, or of the next one when closed."""
        local = now.astimezone(NEW_YORK)
        for day in self._sessions_from(local.date()):
            if self.close_of(day) > local:
                return self.close_of(day)
        raise RuntimeError("no session found")  # pragma: no cover

    def session_date_for(self, moment: datetime) -> date:
        """The session a `day` order submitted at `moment` belongs to: today's if before today's
        close, else the next one."""
        return self.next_close(moment).date()
