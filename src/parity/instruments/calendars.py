"""The exchange calendar an instrument trades on: its time zone, sessions, opens and closes.

Holidays and half days come from `exchange-calendars` (kept upstream), never from lists of our
own. Bar labels are naive wall-clock times in the calendar's zone (09:15 on an NSE bar is 09:15 in
Mumbai), so a session's date is the label's date: New York and Mumbai sessions never cross
midnight, and the 24/7 calendar's sessions are UTC days.

The NSE has no calendar of its own in the library; it keeps the same holidays and hours as the
BSE (`XBOM`), which it uses under the NSE's MIC, `XNSE`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from parity.errors import ConfigError
from parity.instruments.instrument import Instrument

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar as LibraryCalendar

# MICs (or pseudo-codes) that exchange-calendars knows under another name
_LIBRARY_NAME = {"XNSE": "XBOM", "CRYPTO": "24/7", "OPRA": "XNYS", "XSHE": "XSHG"}
# an instrument's pseudo-exchange shown as the calendar it trades on
_SHOWN_AS = {"CRYPTO": "24/7", "OPRA": "XNYS"}
AROUND_THE_CLOCK = "24/7"
Session = Literal["regular", "extended"]
SESSIONS: tuple[Session, ...] = ("regular", "extended")


@dataclass(frozen=True)
class Annualisation:
    """How many return periods make a year, and the words a report uses for it."""

    periods: int
    convention: str

    def describe(self) -> dict[str, object]:
        return {"periods_per_year": self.periods, "convention": self.convention}


EXCHANGE_YEAR = Annualisation(252, "252 sessions a year")
CALENDAR_YEAR = Annualisation(365, "365 days a year")


@dataclass(frozen=True)
class ExchangeCalendar:
    """One exchange's calendar, as parity uses it: `name` is what the user writes (`XNSE`),
    `library_name` what exchange-calendars calls it (`XBOM`)."""

    name: str
    library_name: str
    timezone: str

    @property
    def around_the_clock(self) -> bool:
        return self.library_name == AROUND_THE_CLOCK

    @property
    def annualisation(self) -> Annualisation:
        """252 sessions a year for an exchange, 365 days for a market that never closes."""
        return CALENDAR_YEAR if self.around_the_clock else EXCHANGE_YEAR

    def describe(self) -> dict[str, object]:
        """The manifest's `calendar` entry."""
        return {"name": self.name, "timezone": self.timezone, **self.annualisation.describe()}

    def schedule(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        """Sessions from `first` to `last` (inclusive): index the session dates, columns `open`
        and `close` as naive times in the exchange's zone (a half day closes early)."""
        library = _library(self.library_name, first.year, last.year)
        rows = library.schedule.loc[pd.Timestamp(first) : pd.Timestamp(last), ["open", "close"]]
        out = pd.DataFrame(
            {
                column: pd.DatetimeIndex(rows[column])
                .tz_convert(self.timezone)
                .tz_localize(None)
                .as_unit("ns")
                for column in ("open", "close")
            },
            index=pd.DatetimeIndex(rows.index, name="session").as_unit("ns"),
        )
        return out

    def sessions(self, first: dt.date, last: dt.date) -> pd.DatetimeIndex:
        """The session dates from `first` to `last`, inclusive."""
        return pd.DatetimeIndex(self.schedule(first, last).index)

    def is_session(self, day: dt.date) -> bool:
        return len(self.schedule(day, day)) == 1

    def session_open(self, day: dt.date) -> pd.Timestamp:
        """When the session of `day` opens (naive, exchange time); `ConfigError` if `day` is not
        a session."""
        return pd.Timestamp(self._session_row(day)["open"])

    def session_close(self, day: dt.date) -> pd.Timestamp:
        """When the session of `day` closes (13:00 on an NYSE half day)."""
        return pd.Timestamp(self._session_row(day)["close"])

    def in_regular_session(self, labels: pd.DatetimeIndex) -> np.ndarray:
        """Whether each bar label (its start, naive exchange time) is inside its date's regular
        session: at or after the open and before the close. A holiday has no regular session."""
        labels = pd.DatetimeIndex(labels)
        if not len(labels):
            return np.zeros(0, dtype=bool)
        if self.around_the_clock:
            return np.ones(len(labels), dtype=bool)
        days = labels.normalize()
        table = self.schedule(days.min().date(), days.max().date())
        opens = pd.Series(table["open"]).reindex(days).to_numpy()
        closes = pd.Series(table["close"]).reindex(days).to_numpy()
        stamps = labels.to_numpy()
        with np.errstate(invalid="ignore"):
            return np.asarray((stamps >= opens) & (stamps < closes), dtype=bool)

    def regular_hours(self) -> tuple[dt.time, dt.time]:
        """The exchange's regular open and close times today (local; 00:00-00:00 around the
        clock), for days that are not sessions of the library's calendar."""
        library = _library(self.library_name, None, None)
        return library.open_times[-1][1], library.close_times[-1][1]

    def now(self) -> dt.datetime:
        """The exchange's wall-clock time, naive (the convention of bar labels and `--until`)."""
        return dt.datetime.now(ZoneInfo(self.timezone)).replace(tzinfo=None)

    def bar_filter(self, session: str) -> Callable[[dt.datetime], bool]:
        """Whether a live intraday bar starting at a naive exchange-time label is traded: all
        with `extended`, else those inside their date's regular session (`in_regular_session`
        for one bar at a time; a day's hours are looked up once)."""
        if session == "extended" or self.around_the_clock:
            return lambda _label: True
        hours: dict[dt.date, tuple[dt.datetime, dt.datetime] | None] = {}

        def traded(label: dt.datetime) -> bool:
            day = label.date()
            if day not in hours:
                table = self.schedule(day, day)
                hours[day] = (
                    (table["open"].iloc[0].to_pydatetime(), table["close"].iloc[0].to_pydatetime())
                    if len(table)
                    else None
                )
            window = hours[day]
            return window is not None and window[0] <= label < window[1]

        return traded

    def report_time(self, session: str) -> Callable[[dt.date], dt.datetime | None]:
        """When a live run's daily report for `day` is due on the exchange's wall clock: five
        minutes after the regular close (13:05 on an NYSE half day, 15:35 in Mumbai), after
        New York's post-market (20:05) with `extended`; None on a day that is no session."""
        grace = dt.timedelta(minutes=5)

        def due(day: dt.date) -> dt.datetime | None:
            if self.around_the_clock:
                return dt.datetime.combine(day + dt.timedelta(days=1), dt.time()) + grace
            if not self.is_session(day):
                return None
            if session == "extended" and self.name == "XNYS":
                return dt.datetime.combine(day, dt.time(20, 0)) + grace
            return self.session_close(day).to_pydatetime() + grace

        return due

    def localize(self, stamps: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Zone-aware stamps as naive wall-clock times in this exchange's zone."""
        return pd.DatetimeIndex(stamps).tz_convert(self.timezone).tz_localize(None).as_unit("ns")

    def _session_row(self, day: dt.date) -> pd.Series:
        table = self.schedule(day, day)
        if not len(table):
            raise ConfigError(f"{day} is not a {self.name} session; pick a trading day")
        return table.iloc[0]


def calendar_names() -> list[str]:
    """Every name `--calendar` accepts: exchange-calendars' own and parity's (`XNSE`)."""
    import exchange_calendars as xcals

    return sorted({*xcals.get_calendar_names(include_aliases=True), *_LIBRARY_NAME})


def calendar_named(name: str) -> ExchangeCalendar:
    """The calendar `name` names (`XNYS`, `XNSE`, `24/7`, any exchange-calendars name);
    `ConfigError` listing the valid names otherwise."""
    import exchange_calendars as xcals

    key = name.strip().upper()
    library_name = _LIBRARY_NAME.get(key, key)
    names = set(xcals.get_calendar_names(include_aliases=True))
    if library_name not in names:
        common = "XNYS, XNSE, XBOM, 24/7, XLON, XTKS, XHKG"
        raise ConfigError(
            f"calendar {name!r} is not known; use one of {common} or another exchange-calendars "
            f"name ({', '.join(n for n in calendar_names() if n not in common.split(', '))})"
        )
    library_name = xcals.resolve_alias(library_name)
    shown = _SHOWN_AS.get(key, key)
    return ExchangeCalendar(shown, library_name, str(_library(library_name, None, None).tz))


def manifest_calendar(manifest: Any) -> ExchangeCalendar:
    """The calendar a run's manifest (a mapping or a `Manifest`) names (XNYS for runs recorded
    before manifests named one)."""
    if manifest is None:
        entry = None
    elif isinstance(manifest, Mapping):
        entry = manifest.get("calendar")
    else:
        entry = getattr(manifest, "calendar", None)
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return calendar_named(str(name) if name else "XNYS")


def calendar_for(instrument: Instrument) -> ExchangeCalendar:
    """The calendar of the exchange `instrument` trades on (XNYS for US equities and options,
    XNSE for `.NS` listings, 24/7 for crypto pairs)."""
    return calendar_named(instrument.exchange)


@lru_cache(maxsize=64)
def _library(name: str, first_year: int | None, last_year: int | None) -> LibraryCalendar:
    """The library's calendar covering `first_year..last_year` (its default window, about 20
    years back and one ahead, when that already covers them)."""
    import exchange_calendars as xcals

    default = xcals.get_calendar(name)
    if first_year is None or last_year is None:
        return default
    first, last = pd.Timestamp(first_year, 1, 1), pd.Timestamp(last_year, 12, 31)
    if default.first_session <= first and last <= default.last_session:
        return default
    start = min(first, default.first_session)
    end = max(last, default.last_session)
    return xcals.get_calendar(name, start=start, end=end)
