"""`ArrayFeed`: a Backtrader data feed that hands preloaded arrays straight to its lines.

Plain `bt.feeds.PandasData` loads one bar at a time through `_load()` (a Python call, a pandas row
access and seven line writes per bar). With `preload=True` this feed instead fills each line's
buffer with one `array.array` assignment, which is what makes parity's backtests about twice as
fast. With `preload=False` (live mode, or a user who turns preload off) it falls back to `_load()`
over plain Python lists, so both paths see exactly the same numbers.
"""

from __future__ import annotations

import array
import datetime as dt
import math
from typing import Any

import backtrader as bt
import numpy as np

from parity.feeds.bars import BarSeries
from parity.feeds.currency import is_us_listing
from parity.feeds.lines import SESSION_END
from parity.timeframe import BT_EPOCH_ORDINAL

# The end of a US regular session (16:00 New York) as Backtrader's `sessionend` on bar-start
# labels: the 15:59 bar is the session's last, so a `Close` order fills at its close (Alpaca's
# official close, the venue's `cls`) instead of at the last after-hours bar. A millisecond short
# of 16:00 so the 16:00 bar is past it (Backtrader then fills at the annotated 15:59 close).
US_REGULAR_SESSION_END = dt.time(15, 59, 59, 999000)


def datetime_numbers(series: BarSeries) -> np.ndarray:
    """Backtrader float-day numbers for the bars' labels.

    Daily bars are stamped at the end of their session (as Backtrader's own CSV feeds do) so
    that orders and timers on daily data behave as users of Backtrader expect.
    """
    seconds = series.frame.index.as_unit("ns").asi8 / 1e9
    days = BT_EPOCH_ORDINAL + seconds / 86400.0
    if series.timeframe.is_daily:
        days = np.floor(days) + SESSION_END
    return days


class ArrayFeed(bt.feed.DataBase):
    """A feed over a `BarSeries`. Construct with `ArrayFeed(series=..., name=SYMBOL)`."""

    params = (("series", None),)

    def __init__(self) -> None:
        series: BarSeries = self.p.series
        frame = series.frame
        # contiguous float64 arrays: 8 bytes a value, copied into the lines without boxing
        self._arrays: dict[str, np.ndarray] = {
            "datetime": np.ascontiguousarray(datetime_numbers(series), dtype="float64"),
            **{
                name: np.ascontiguousarray(frame[name].to_numpy(dtype="float64"))
                for name in ("open", "high", "low", "close", "volume")
            },
        }
        self._columns: dict[str, list[float]] | None = None  # built only for bar-by-bar loading
        self._count = len(frame)
        self._next_index = 0
        if series.timeframe.is_daily:
            self.p.timeframe, self.p.compression = bt.TimeFrame.Days, 1
        else:
            self.p.timeframe = bt.TimeFrame.Minutes
            self.p.compression = max(1, series.timeframe.seconds // 60)
            if is_us_listing(series.symbol):  # only Close orders and session timers read it
                self.p.sessionend = US_REGULAR_SESSION_END

    def start(self) -> None:
        super().start()
        self._next_index = 0

    # Backtrader resets and refills `tick_open`... (what its broker fills orders at) on every
    # bar of every feed by looking each line up by alias name (`getattr(self.lines, alias)`,
    # `'tick_' + alias`): ~15% of a sma_cross trial. The same assignments, with the names and
    # line objects looked up once per run (bench/sweep_scaling.py).
    def _ticks(self) -> tuple[list[tuple[str, Any]], str, Any]:
        found = self.__dict__.get("_tick_lines")
        if found is None:
            first = self._getlinealias(0)
            found = self._tick_lines = (
                [("tick_" + a, getattr(self.lines, a)) for a in self.getlinealiases()
                 if a != "datetime"],
                "tick_" + first,
                getattr(self.lines, first),
            )  # fmt: skip
            self._tick_nones = dict.fromkeys([name for name, _ in found[0]] + ["tick_last"])
        return found

    def _tick_nullify(self) -> None:
        self._ticks()
        self.__dict__.update(self._tick_nones)

    def _tick_fill(self, force: bool = False) -> None:
        pairs, first, line0 = self._ticks()
        if force or getattr(self, first, None) is None:
            values = self.__dict__
            for name, line in pairs:
                values[name] = line[0]
            values["tick_last"] = line0[0]

    def preload(self) -> None:
        """Fill every line buffer in one assignment instead of one `_load()` per bar."""
        lines = self.lines
        for name, values in self._arrays.items():
            buffer = array.array("d")
            buffer.frombytes(values.tobytes())
            getattr(lines, name).array = buffer
        lines.openinterest.array = array.array("d", [0.0]) * self._count
        for alias in self.getlinealiases():
            if alias not in self._arrays and alias != "openinterest":
                getattr(lines, alias).array = array.array("d", [math.nan]) * self._count
        self._next_index = self._count
        self._arrays = {}  # every bar now lives in the lines; _load() has nothing left to read
        self._last()
        self.home()

    def _load(self) -> bool:
        i = self._next_index
        if i >= self._count:
            return False
        columns = self._columns
        if columns is None:  # first bar-by-bar load: plain floats index fastest
            columns = self._columns = {k: v.tolist() for k, v in self._arrays.items()}
        lines = self.lines
        lines.datetime[0] = columns["datetime"][i]
        lines.open[0] = columns["open"][i]
        lines.high[0] = columns["high"][i]
        lines.low[0] = columns["low"][i]
        lines.close[0] = columns["close"][i]
        lines.volume[0] = columns["volume"][i]
        lines.openinterest[0] = 0.0
        self._next_index = i + 1
        return True
