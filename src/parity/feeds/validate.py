"""Validate raw bar rows (as read, before any sorting) and explain every problem in one line.

Errors raise `DataError` with a message naming the file, the line, the column, the offending value
and the fix, e.g. ``IBM.csv line 42: high 101.5 is below low 102.0; fix or remove the row``.
Nothing is dropped or reordered here. Gaps are only warnings, summarised per file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from parity.errors import DataError
from parity.feeds.files import MISSING_TEXT
from parity.instruments.calendars import ExchangeCalendar
from parity.timeframe import Timeframe

REQUIRED = ("open", "high", "low", "close", "volume")
# No traded instrument is quoted anywhere near this (the dearest share is below 1e6); a price
# this large is a unit or parsing error, and it would overflow the accounting later.
MAX_PRICE = 1e12
DAILY_GAP_DAYS = 5
DAILY_GAP_SESSIONS = 3  # in a row; about the old 5 calendar days
INTRADAY_GAP_INTERVALS = 30
_SHOWN_GAPS = 3


def validate_frame(
    frame: pd.DataFrame,
    *,
    origin: str,
    timeframe: Timeframe,
    line_numbers: Sequence[int] | None = None,
    calendar: ExchangeCalendar | None = None,
) -> list[str]:
    """Check a raw bar frame from `read_bar_file`; return gap warnings, raise `DataError` on errors.

    `line_numbers` gives the file line of each row; by default the frame's `line` column is used,
    or, without one, row position + 2 (header on line 1). Checks, in order: empty file, missing
    columns, unparseable dates, NaN/non-numeric OHLCV, infinite values and prices of `MAX_PRICE`
    or more, non-positive prices, negative volume,
    high < low, high/low not enclosing open and close, unsorted and duplicate timestamps.
    """
    lines = _lines(frame, line_numbers)
    kind = str(frame.attrs.get("line_kind", "line"))
    bad_cells: dict[tuple[int, str], str] = frame.attrs.get("bad_cells", {})
    source_columns = frame.attrs.get("source_columns")
    has_index = isinstance(frame.index, pd.DatetimeIndex)

    if len(frame) == 0 and not source_columns and has_index is False:
        raise DataError(
            f"{origin}: the file is empty; add a header row and bars, or pick another file"
        )
    _check_columns(frame, origin, source_columns, has_index)
    if len(frame) == 0:
        raise DataError(
            f"{origin}: the file has a header but no bars; add bars or pick another file"
        )

    def where(pos: int) -> str:
        return f"{origin} {kind} {lines[pos]}"

    def count_note(mask: np.ndarray) -> str:
        total = int(mask.sum())
        return f" ({total} rows have this problem)" if total > 1 else ""

    index = pd.DatetimeIndex(frame.index)
    nat = np.asarray(index.isna())
    if nat.any():
        pos = int(np.flatnonzero(nat)[0])
        raw = bad_cells.get((lines[pos], "datetime"), "")
        raise DataError(
            f"{where(pos)}: datetime {raw!r} is not a date{count_note(nat)}; "
            "use a format like 2024-01-02 or 2024-01-02 09:30:00"
        )
    values = {c: frame[c].to_numpy(dtype="float64", na_value=np.nan) for c in REQUIRED}
    _check_numbers(values, lines, bad_cells, where, count_note)
    _check_finite(values, lines, bad_cells, where, count_note)
    _check_ranges(values, where, count_note)
    _check_order(index, lines, where, kind)
    return gap_warnings(index, origin, timeframe, calendar)


def _lines(frame: pd.DataFrame, line_numbers: Sequence[int] | None) -> list[int]:
    if line_numbers is not None:
        lines = [int(x) for x in line_numbers]
        if len(lines) != len(frame):
            raise ValueError("line_numbers must have one entry per row")
        return lines
    if "line" in frame.columns:
        return [int(x) for x in frame["line"].to_numpy()]
    return list(range(2, len(frame) + 2))


def _check_columns(
    frame: pd.DataFrame, origin: str, source_columns: list[str] | None, has_index: bool
) -> None:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if not has_index:
        missing.insert(0, "datetime")
    if missing:
        found = source_columns if source_columns is not None else [str(c) for c in frame.columns]
        raise DataError(
            f"{origin} line 1: missing required column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, found)) or 'none'}); "
            "the header needs datetime (or date), open, high, low, close, volume"
        )


def _check_numbers(
    values: dict[str, np.ndarray],
    lines: list[int],
    bad_cells: dict[tuple[int, str], str],
    where: Callable[[int], str],
    count_note: Callable[[np.ndarray], str],
) -> None:
    nan_any = np.zeros(len(lines), dtype=bool)
    for column in REQUIRED:
        nan_any |= np.isnan(values[column])
    if not nan_any.any():
        return
    pos = int(np.flatnonzero(nan_any)[0])
    column = next(c for c in REQUIRED if np.isnan(values[c][pos]))
    raw = bad_cells.get((lines[pos], column), "")
    text = raw.strip()
    if not text:
        problem = "is empty"
    elif text.lower() in MISSING_TEXT:
        problem = f"{text!r} is missing"
    else:
        problem = f"{text!r} is not a number"
    raise DataError(
        f"{where(pos)}: {column} {problem}{count_note(nan_any)}; "
        "fill in the value or remove the row"
    )


def _check_finite(
    values: dict[str, np.ndarray],
    lines: list[int],
    bad_cells: dict[tuple[int, str], str],
    where: Callable[[int], str],
    count_note: Callable[[np.ndarray], str],
) -> None:
    """Infinite values (a cell such as `1e400` parses as inf) and absurd prices."""
    bad = np.zeros(len(lines), dtype=bool)
    for column in REQUIRED:
        bad |= np.isinf(values[column])
        if column != "volume":
            bad |= values[column] >= MAX_PRICE
    pos = _first(bad)
    if pos is None:
        return
    column = next(
        c
        for c in REQUIRED
        if np.isinf(values[c][pos]) or (c != "volume" and values[c][pos] >= MAX_PRICE)
    )
    value = values[column][pos]
    text = bad_cells.get((lines[pos], column)) or f"{float(value):g}"
    problem = "is not a finite number" if np.isinf(value) else "is not a plausible price (>= 1e12)"
    raise DataError(
        f"{where(pos)}: {column} {text!r} {problem}{count_note(bad)}; fix or remove the row"
    )


def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


def _check_ranges(
    values: dict[str, np.ndarray],
    where: Callable[[int], str],
    count_note: Callable[[np.ndarray], str],
) -> None:
    o, h, lo, c, v = (values[k] for k in REQUIRED)
    for column in ("open", "high", "low", "close"):
        mask = values[column] <= 0
        pos = _first(mask)
        if pos is not None:
            raise DataError(
                f"{where(pos)}: {column} {_fmt(values[column][pos])} is not a positive price"
                f"{count_note(mask)}; fix or remove the row"
            )
    mask = v < 0
    pos = _first(mask)
    if pos is not None:
        raise DataError(
            f"{where(pos)}: volume {_fmt(v[pos])} is negative{count_note(mask)}; "
            "fix or remove the row"
        )
    mask = h < lo
    pos = _first(mask)
    if pos is not None:
        raise DataError(
            f"{where(pos)}: high {_fmt(h[pos])} is below low {_fmt(lo[pos])}{count_note(mask)}; "
            "fix or remove the row"
        )
    mask = h < np.maximum(o, c)
    pos = _first(mask)
    if pos is not None:
        name, value = ("open", o[pos]) if o[pos] > h[pos] else ("close", c[pos])
        raise DataError(
            f"{where(pos)}: high {_fmt(h[pos])} is below {name} {_fmt(value)}{count_note(mask)}; "
            "fix or remove the row"
        )
    mask = lo > np.minimum(o, c)
    pos = _first(mask)
    if pos is not None:
        name, value = ("open", o[pos]) if o[pos] < lo[pos] else ("close", c[pos])
        raise DataError(
            f"{where(pos)}: low {_fmt(lo[pos])} is above {name} {_fmt(value)}{count_note(mask)}; "
            "fix or remove the row"
        )


def _check_order(
    index: pd.DatetimeIndex, lines: list[int], where: Callable[[int], str], kind: str
) -> None:
    stamps = index.asi8
    if len(stamps) < 2:
        return
    step = np.diff(stamps)
    pos = _first(step < 0)
    if pos is not None:
        raise DataError(
            f"{where(pos + 1)}: datetime {index[pos + 1]} comes before {index[pos]} on "
            f"{kind} {lines[pos]}; sort the file by time, oldest first"
        )
    pos = _first(step == 0)
    if pos is not None:
        raise DataError(
            f"{where(pos + 1)}: datetime {index[pos + 1]} duplicates {kind} {lines[pos]}; "
            "remove one of the two rows"
        )


def gap_warnings(
    index: pd.DatetimeIndex,
    origin: str,
    timeframe: Timeframe,
    calendar: ExchangeCalendar | None = None,
) -> list[str]:
    """One summary line per file of the gaps in sorted `index`.

    With the instrument's `calendar`, gaps are counted in the exchange's sessions, so holidays,
    closures and half days are never gaps: daily bars missing `DAILY_GAP_SESSIONS` or more
    sessions in a row; intraday bars missing more than 30 bars inside a regular session (its
    open and close included, a half day closing early) or a whole session. Without one (a frame
    checked on its own), the old rule: over 5 calendar days, or over 30 bars within a day."""
    if len(index) < 2:
        return []
    if calendar is not None:
        if timeframe.is_daily:
            return _daily_session_gaps(index, origin, calendar)
        return _intraday_session_gaps(index, origin, timeframe, calendar)
    prev, curr = index[:-1], index[1:]
    delta = curr - prev
    if timeframe.is_daily:
        mask = np.asarray(delta > pd.Timedelta(days=DAILY_GAP_DAYS))
        what = f"longer than {DAILY_GAP_DAYS} calendar days"
    else:
        interval = pd.Timedelta(seconds=timeframe.seconds)
        same_day = np.asarray(prev.normalize() == curr.normalize())
        mask = same_day & np.asarray(delta > interval * (INTRADAY_GAP_INTERVALS + 1))
        what = (
            f"of more than {INTRADAY_GAP_INTERVALS} missing {timeframe.name} bars within a session"
        )
    return _summary(origin, what, [(prev[i], curr[i]) for i in np.flatnonzero(mask)])


def _summary(origin: str, what: str, gaps: Sequence[tuple[object, object]]) -> list[str]:
    if not gaps:
        return []
    shown = ", ".join(f"{a} -> {b}" for a, b in gaps[:_SHOWN_GAPS])
    more = f" and {len(gaps) - _SHOWN_GAPS} more" if len(gaps) > _SHOWN_GAPS else ""
    return [f"{origin}: {len(gaps)} gap(s) {what} ({shown}{more}); check the data is complete"]


def _daily_session_gaps(
    index: pd.DatetimeIndex, origin: str, calendar: ExchangeCalendar
) -> list[str]:
    days = index.normalize()
    sessions = calendar.sessions(days[0].date(), days[-1].date())
    # sessions strictly between two consecutive bars are missing
    position = sessions.searchsorted(days)
    after = sessions.searchsorted(days, side="right")
    missing = position[1:] - after[:-1]
    hits = np.flatnonzero(missing >= DAILY_GAP_SESSIONS)
    what = f"of {DAILY_GAP_SESSIONS} or more missing {calendar.name} sessions"
    return _summary(origin, what, [(index[i], index[i + 1]) for i in hits])


def _intraday_session_gaps(
    index: pd.DatetimeIndex, origin: str, timeframe: Timeframe, calendar: ExchangeCalendar
) -> list[str]:
    interval = pd.Timedelta(seconds=timeframe.seconds)
    limit = interval * (INTRADAY_GAP_INTERVALS + 1)
    table = calendar.schedule(index[0].date(), index[-1].date())
    labels = index[calendar.in_regular_session(index)]
    days = labels.normalize()
    empty = [f"{day:%Y-%m-%d}" for day in table.index.difference(days.unique())]
    gaps: list[tuple[object, object]] = []
    if len(labels):
        # the open and the close bound a session: a late start or an early end is a gap too
        opens = pd.DatetimeIndex(table["open"].reindex(days)) - interval
        closes = pd.DatetimeIndex(table["close"].reindex(days))
        new_day = np.r_[True, np.asarray(days[1:] != days[:-1])]
        last = np.r_[new_day[1:], True]
        # the data may start or end inside a session: only sessions it spans must be whole
        head, tail = new_day.copy(), last.copy()
        head[0] = tail[-1] = False
        step = pd.TimedeltaIndex(labels.to_series().diff().fillna(pd.Timedelta(0)))
        for i in np.flatnonzero(
            (head & np.asarray(labels - opens > limit))
            | (~new_day & np.asarray(step > limit))
            | (tail & np.asarray(closes - labels > limit))
        ):
            if head[i] and labels[i] - opens[i] > limit:
                gaps.append((opens[i] + interval, labels[i]))
            if not new_day[i] and step[i] > limit:
                gaps.append((labels[i - 1], labels[i]))
            if tail[i] and closes[i] - labels[i] > limit:
                gaps.append((labels[i], closes[i]))
    what = (
        f"of more than {INTRADAY_GAP_INTERVALS} missing {timeframe.name} bars within a "
        f"{calendar.name} session"
    )
    out = _summary(origin, what, gaps)
    if empty:
        shown = ", ".join(empty[:_SHOWN_GAPS])
        more = f" and {len(empty) - _SHOWN_GAPS} more" if len(empty) > _SHOWN_GAPS else ""
        out.append(
            f"{origin}: no bars in {len(empty)} {calendar.name} session(s) ({shown}{more}); "
            "check the data is complete"
        )
    return out
