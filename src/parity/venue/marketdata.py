"""The bars the venue replays and serves: replay steps, per-step bars, and REST history with
pagination and aggregation (never a bar starting at or after the simulated clock)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from parity.engine.fills import Bar
from parity.errors import ConfigError
from parity.feeds.loader import LoadedData
from parity.venue.clock import MarketCalendar, rfc3339
from parity.venue.engine import VenueError, invalid

_TIMEFRAME = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNIT_SECONDS = {"Min": 60, "T": 60, "Hour": 3600, "H": 3600, "Day": 86400, "D": 86400}
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000


def parse_rest_timeframe(text: str) -> int:
    """`1Min`/`5T`/`1Hour`/`1Day` → seconds; weeks and months are not served (422)."""
    match = _TIMEFRAME.match(text.strip())
    if not match:
        raise invalid(f"invalid timeframe: {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    if unit not in _UNIT_SECONDS or amount <= 0:
        raise invalid(f"timeframe {text!r} is not served by the parity venue (use Min/Hour/Day)")
    if unit in ("Day", "D") and amount != 1:
        raise invalid(f"timeframe {text!r} is not served by the parity venue (use 1Day)")
    return amount * _UNIT_SECONDS[unit]


def bar_json(label: datetime, row: Bar, calendar: MarketCalendar) -> dict[str, Any]:
    """A REST bar: `t` RFC 3339 UTC of the bar start (`label`, naive in the calendar's zone),
    `n`/`vw` present (unknown)."""
    volume = row.volume
    return {
        "t": rfc3339(calendar.aware(label)),
        "o": row.open,
        "h": row.high,
        "l": row.low,
        "c": row.close,
        "v": int(volume) if float(volume).is_integer() else volume,
        "n": 0,
        "vw": None,
    }


def _token(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.b64decode(token.encode(), validate=True).decode())
    except (ValueError, binascii.Error):
        raise VenueError(400, 40010000, f"invalid page_token: {token!r}") from None


@dataclass(frozen=True)
class Step:
    """One replay step: the bar-start time (naive exchange time) and every symbol's bar at it."""

    time: datetime
    bars: dict[str, Bar]


class MarketData:
    """Bars by symbol, the replay steps from `start`, history queries, and the market calendar
    of the bars' exchange (`calendar`: its zone labels them)."""

    def __init__(self, loaded: LoadedData, start: str | None = None) -> None:
        self.frames: dict[str, pd.DataFrame] = {s.symbol: s.frame for s in loaded.series}
        self.symbols = list(self.frames)
        self.bar_seconds = min(s.timeframe.seconds for s in loaded.series)
        self.bar_length = timedelta(seconds=self.bar_seconds)
        by_time: dict[datetime, dict[str, Bar]] = {}
        for symbol, frame in self.frames.items():
            for row in frame.itertuples():
                label = pd.Timestamp(row.Index).to_pydatetime()
                by_time.setdefault(label, {})[symbol] = Bar(
                    float(row.open),
                    float(row.high),
                    float(row.low),
                    float(row.close),
                    float(row.volume),
                )
        times = sorted(by_time)
        self.dates = sorted({t.date() for t in times})
        self.calendar = MarketCalendar(self.dates, loaded.calendar)
        first = self.calendar.parse_naive(start) if start else times[0]
        self.start = first
        self.steps = [Step(t, by_time[t]) for t in times if t >= first]
        if not self.steps:
            raise ConfigError(
                f"start {start} is after the last bar ({times[-1].isoformat()}); pick an "
                "earlier start"
            )
        self.reference_prices: dict[str, float] = {}
        for symbol, frame in self.frames.items():
            before = frame[frame.index < pd.Timestamp(first)]
            self.reference_prices[symbol] = float(
                before["close"].iloc[-1] if len(before) else frame["open"].iloc[0]
            )

    def history(
        self,
        symbols: list[str],
        timeframe: str,
        *,
        before: datetime,
        start: str | None,
        end: str | None,
        limit: int | None,
        page_token: str | None,
        descending: bool = False,
    ) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        """Bars of `symbols` starting before `before` (naive exchange time), inside `[start, end]`,
        aggregated to `timeframe`; one page of at most `limit` bars across all symbols."""
        seconds = parse_rest_timeframe(timeframe)
        if seconds < self.bar_seconds or seconds % self.bar_seconds:
            raise invalid(
                f"timeframe {timeframe} is finer than or not a multiple of the venue's bars"
            )
        low = self.calendar.parse_naive(start) if start else None
        high = self.calendar.parse_naive(end) if end else None
        size = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
        if size <= 0:
            raise invalid("limit must be > 0")
        flat: list[tuple[str, datetime, Bar]] = []
        for symbol in sorted(dict.fromkeys(symbols)):
            frame = self.frames.get(symbol)
            if frame is None:
                continue
            frame = frame[frame.index < pd.Timestamp(before)]
            frame = self._aggregate(frame, seconds)
            if low is not None:
                frame = frame[frame.index >= pd.Timestamp(low)]
            if high is not None:
                frame = frame[frame.index <= pd.Timestamp(high)]
            rows = [
                (
                    symbol,
                    pd.Timestamp(r.Index).to_pydatetime(),
                    Bar(r.open, r.high, r.low, r.close, r.volume),
                )
                for r in frame.itertuples()
            ]
            flat.extend(reversed(rows) if descending else rows)
        offset = _offset(page_token)
        page = flat[offset : offset + size]
        out: dict[str, list[dict[str, Any]]] = {}
        for symbol, label, row in page:
            out.setdefault(symbol, []).append(bar_json(label, row, self.calendar))
        following = offset + size
        return out, (_token(following) if following < len(flat) else None)

    def latest(self, symbols: list[str], *, before: datetime) -> dict[str, dict[str, Any]]:
        """The last bar of each symbol starting before `before`."""
        out = {}
        for symbol in symbols:
            frame = self.frames.get(symbol)
            if frame is None:
                continue
            frame = frame[frame.index < pd.Timestamp(before)]
            if len(frame):
                r = frame.iloc[-1]
                label = pd.Timestamp(frame.index[-1]).to_pydatetime()
                out[symbol] = bar_json(
                    label, Bar(r.open, r.high, r.low, r.close, r.volume), self.calendar
                )
        return out

    def _aggregate(self, frame: pd.DataFrame, seconds: int) -> pd.DataFrame:
        if seconds == self.bar_seconds or frame.empty:
            return frame
        rule = "1D" if seconds >= 86400 else f"{seconds // 60}min"
        grouped = frame.resample(rule, label="left", closed="left")
        agg = grouped.agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        )
        return agg.dropna(subset=["open"])
