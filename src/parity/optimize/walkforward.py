"""Walk-forward analysis: the windows (rolling or anchored), the bars of each, the out-of-sample
pieces stitched into one equity curve, and the figures that judge the choice (walk-forward
efficiency, parameter stability).

A window's training bars end strictly before its test bars begin (`Window` refuses otherwise),
so the optimisation of a window never sees the bars it is tested on. A test run may read the
bars just before its window to warm its indicators up, exactly as a live run reads history
before its first bar; it decides nothing before the window's first bar and only equity from that
bar on counts."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from parity.errors import ConfigError
from parity.feeds.bars import BarSeries
from parity.feeds.loader import LoadedData

_PERIOD = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


def parse_period(text: str, what: str) -> pd.DateOffset:
    """`2y`, `6m`, `4w`, `30d` → a calendar offset."""
    found = _PERIOD.match(str(text))
    if found is None or int(found.group(1)) == 0:
        raise ConfigError(f"{what} {text!r} must be a positive period like 2y, 6m, 4w or 30d")
    return pd.DateOffset(**{_UNITS[found.group(2).lower()]: int(found.group(1))})


@dataclass(frozen=True)
class Window:
    """Train on `[train_start, train_end)`, test on `[test_start, test_end)`."""

    index: int
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def __post_init__(self) -> None:
        if not self.train_start < self.train_end <= self.test_start < self.test_end:
            raise ValueError(f"window {self.index}: training must end before testing begins")

    def describe(self) -> dict[str, str]:
        day = pd.Timedelta(days=1)
        return {
            "train": f"{self.train_start:%Y-%m-%d}..{self.train_end - day:%Y-%m-%d}",
            "test": f"{self.test_start:%Y-%m-%d}..{self.test_end - day:%Y-%m-%d}",
        }


def windows(
    first: pd.Timestamp,
    last: pd.Timestamp,
    train: pd.DateOffset,
    test: pd.DateOffset,
    step: pd.DateOffset,
    *,
    anchored: bool = False,
) -> list[Window]:
    """The walk-forward windows over bars from `first` to `last` (inclusive): the first trains
    on `train` from `first`; each next one starts `step` later (anchored: its training still
    starts at `first`). A last test window shorter than `test` ends at `last`."""
    start = pd.Timestamp(first).normalize()
    end = pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
    if start + step < start + test:
        raise ConfigError(
            "--step is shorter than --test: test windows would overlap and be counted twice; "
            "use --step at least as long as --test"
        )
    found: list[Window] = []
    offset = start
    while True:
        train_start = start if anchored else offset
        train_end = offset + train
        test_end = min(train_end + test, end)
        if train_end >= end:
            break
        found.append(Window(len(found), train_start, train_end, train_end, test_end))
        offset = offset + step
    if not found:
        raise ConfigError(
            f"no walk-forward window fits the bars {start:%Y-%m-%d}..{last:%Y-%m-%d}: --train "
            "leaves no bars to test on; shorten --train or give more data"
        )
    return found


def cut(loaded: LoadedData, start: pd.Timestamp, end: pd.Timestamp) -> LoadedData:
    """The bars in `[start, end)` of every symbol (symbols without any are dropped)."""
    series = []
    for s in loaded.series:
        frame = s.frame[(s.frame.index >= start) & (s.frame.index < end)]
        if len(frame):
            series.append(BarSeries(s.symbol, frame, s.timeframe, s.origin))
    if not series:
        raise ConfigError(f"no bars between {start:%Y-%m-%d} and {end:%Y-%m-%d}")
    return replace(loaded, series=tuple(series), warnings=())


def with_warmup(
    loaded: LoadedData, start: pd.Timestamp, end: pd.Timestamp, bars: int
) -> LoadedData:
    """The bars in `[start, end)` and, per symbol, the `bars` bars before `start` (warm-up)."""
    series = []
    for s in loaded.series:
        before = s.frame[s.frame.index < start].tail(max(bars, 0))
        inside = s.frame[(s.frame.index >= start) & (s.frame.index < end)]
        if len(inside):
            series.append(BarSeries(s.symbol, pd.concat([before, inside]), s.timeframe, s.origin))
    if not series:
        raise ConfigError(f"no bars between {start:%Y-%m-%d} and {end:%Y-%m-%d}")
    return replace(loaded, series=tuple(series), warnings=())


def stitch(pieces: Sequence[pd.DataFrame], cash: float) -> pd.DataFrame:
    """Out-of-sample equity pieces (each starting from `cash`) chained into one curve: each
    piece is scaled so that it starts where the previous one ended."""
    scaled, level = [], 1.0
    for piece in pieces:
        if not len(piece):
            continue
        scaled.append(piece[["value", "cash"]] * level)
        level *= float(piece["value"].iloc[-1]) / cash
    if not scaled:
        return pd.DataFrame({"value": [], "cash": []}, index=pd.DatetimeIndex([], name="datetime"))
    return pd.concat(scaled)


def efficiency(oos_annual: float | None, is_annual: Sequence[float | None]) -> float | None:
    """Walk-forward efficiency: the out-of-sample annualised return over the mean in-sample
    annualised return of the chosen params (Pardo); None when either is undefined or the
    in-sample mean is not positive."""
    known = [v for v in is_annual if v is not None]
    if oos_annual is None or not known:
        return None
    mean = sum(known) / len(known)
    return oos_annual / mean if mean > 0 else None


def stability(chosen: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per parameter: the values chosen window by window, how often the most common one was
    chosen, how many times the choice changed, and (numbers) the coefficient of variation."""
    out: dict[str, dict[str, Any]] = {}
    names = sorted({name for params in chosen for name in params})
    for name in names:
        values = [params.get(name) for params in chosen]
        common, count = Counter(map(str, values)).most_common(1)[0]
        entry: dict[str, Any] = {
            "values": values,
            "most_common": common,
            "most_common_share": count / len(values),
            "changes": sum(1 for a, b in itertools.pairwise(values) if a != b),
        }
        numbers = [
            float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if len(numbers) == len(values) and len(numbers) > 1:
            mean = sum(numbers) / len(numbers)
            std = pd.Series(numbers).std(ddof=0)
            entry["cv"] = float(std / abs(mean)) if mean else None
        out[name] = entry
    return out
