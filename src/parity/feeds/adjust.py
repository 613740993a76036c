"""Price adjustment of one symbol's validated, sorted bars: for splits (the default), for splits
and dividends, or none.

* `splits`: prices before each split inside the run's window are divided by its ratio (volume
  multiplied), so a 2:1 split is not a 50 % loss. The splits come from a `split_coefficient`
  column (Alpha Vantage's `split_coefficient`, yfinance's `Stock Splits`: 2 for 2:1, 0.5 for 1:2,
  0 or 1 for none) or, failing that, from an `adj_close` column: a day-over-day step of
  `adj_close / close` matching a common split ratio (within 2 %) is a split; the small steps of
  dividends are not applied. Prices after the window's last split are the traded prices;
  dividends are neither added to prices nor paid as cash.
* `all`: open/high/low/close scaled by `adj_close / close` (splits and dividends: total-return
  prices, the `--adjusted` flag).
* `raw`: the prices as written (`--raw`).

Without split information the data cannot be adjusted: a session-to-session jump matching a
common split ratio (within 4 %) is then a warning naming the date, and so is every known split a
`raw` run leaves in its window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from parity.feeds.files import PRICE_COLUMNS, apply_adjustment

Adjustment = Literal["splits", "all", "raw"]
ADJUSTMENTS: tuple[str, ...] = ("splits", "all", "raw")
SPLIT_COLUMNS = ("adj_close", "split_coefficient")
# new shares per old share: 2:1, 3:2, ... and reverse splits 1:2, 1:3, ...
COMMON_SPLITS = tuple(
    Fraction(a, b)
    for a, b in (
        (2, 1), (3, 1), (3, 2), (4, 1), (5, 1), (7, 1), (8, 1), (10, 1), (20, 1),
        (1, 2), (1, 3), (1, 4), (1, 5), (1, 8), (1, 10), (1, 20),
    )
)  # fmt: skip
_RECORDED_TOLERANCE = 0.02  # adj_close steps: a split's day may also carry a dividend
_JUMP_TOLERANCE = 0.04  # price jumps: the overnight move on top of the split


@dataclass(frozen=True)
class Split:
    """A split taking effect on `date` (the first bar at the new price)."""

    date: dt.date
    ratio: Fraction  # new shares per old share: 2 for 2:1, 1/2 for 1:2
    evidence: str  # "split_coefficient", "adj_close" or "price jump"

    @property
    def text(self) -> str:
        return f"{self.ratio.numerator}:{self.ratio.denominator}"

    def describe(self) -> dict[str, str]:
        return {"date": self.date.isoformat(), "ratio": self.text, "from": self.evidence}


@dataclass(frozen=True)
class Adjusted:
    """The bars after adjustment, the splits applied, and what to tell the user."""

    frame: pd.DataFrame
    applied: str  # "splits", "all", "raw", or "none available" (splits asked, no split data)
    splits: tuple[Split, ...]
    warnings: tuple[str, ...]


def adjust_prices(
    frame: pd.DataFrame,
    adjustment: Adjustment,
    *,
    symbol: str,
    origin: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Adjusted:
    """Adjust `frame` (sorted, validated bars with optional `adj_close` / `split_coefficient`
    columns, which are dropped) as `adjustment` says; `start`/`end` bound the window whose splits
    matter. Raises `DataError` for `all` without an `adj_close` column."""
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment {adjustment!r} is not one of {ADJUSTMENTS}")
    if adjustment == "all":
        out = apply_adjustment(frame, origin=origin)
        return Adjusted(_bars(out), "all", (), ())
    recorded = "split_coefficient" in frame.columns or "adj_close" in frame.columns
    if not recorded:
        jumps = _in_window(frame.index, _price_jumps(frame), start, end)
        why = "the data has no adj_close or split_coefficient column to adjust it"
        warnings = tuple(
            f"{symbol} ({origin}): the move into {s.date} (x{float(1 / s.ratio):.2f}) looks like "
            f"a {s.text} split and {why}; add one, or ignore this if the move is real"
            for _, s in jumps
        )
        applied = "none available" if adjustment == "splits" else "raw"
        return Adjusted(_bars(frame), applied, (), warnings)
    splits = _in_window(frame.index, _recorded_splits(frame), start, end)
    found = tuple(s for _, s in splits)
    if adjustment == "raw":
        warnings = tuple(
            f"{symbol} ({origin}): {s.text} split on {s.date} (from {s.evidence}) is not adjusted "
            "because of --raw, so its price change counts as profit or loss; "
            "drop --raw to adjust for splits"
            for s in found
        )
        return Adjusted(_bars(frame), "raw", found, warnings)
    return Adjusted(_bars(_apply_splits(frame, splits)), "splits", found, ())


def _bars(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in SPLIT_COLUMNS if c in frame.columns])


def _nearest(ratio: float, tolerance: float) -> Fraction | None:
    if not np.isfinite(ratio) or ratio <= 0:
        return None
    best = min(COMMON_SPLITS, key=lambda r: abs(np.log(ratio / float(r))))
    return best if abs(np.log(ratio / float(best))) <= np.log1p(tolerance) else None


def _recorded_splits(frame: pd.DataFrame) -> list[tuple[int, Split]]:
    """(row, split) pairs from `split_coefficient`, else from the steps of adj_close / close."""
    days = frame.index
    out: list[tuple[int, Split]] = []
    if "split_coefficient" in frame.columns:
        coefficient = frame["split_coefficient"].to_numpy(dtype="float64")
        for i in np.flatnonzero(np.isfinite(coefficient) & (coefficient > 0)):
            if coefficient[i] != 1.0 and i > 0:
                given = Fraction(float(coefficient[i])).limit_denominator(100)
                out.append((int(i), Split(days[i].date(), given, "split_coefficient")))
        return out
    factor = (frame["adj_close"] / frame["close"]).to_numpy(dtype="float64")
    steps = factor[1:] / factor[:-1]
    for i in np.flatnonzero(np.abs(np.log(steps)) > np.log(1.2)):  # NaN compares False
        step = _nearest(float(steps[i]), _RECORDED_TOLERANCE)
        if step is not None:
            out.append((int(i) + 1, Split(days[i + 1].date(), step, "adj_close")))
    return out


def _price_jumps(frame: pd.DataFrame) -> list[tuple[int, Split]]:
    """Session-to-session moves (previous close to open) matching a common split ratio."""
    index = pd.DatetimeIndex(frame.index)
    day = index.as_unit("ns").asi8 // 86_400_000_000_000  # naive stamps: the calendar day
    rows = np.flatnonzero(day[1:] != day[:-1]) + 1
    close, open_ = frame["close"].to_numpy(dtype="float64"), frame["open"].to_numpy("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        moves = np.log(close[rows - 1] / open_[rows])
    # vectorised first pass (a million daily bars): only moves near a split ratio go on
    ratios = np.log(np.array([float(r) for r in COMMON_SPLITS]))
    near = np.abs(moves[:, None] - ratios[None, :]).min(axis=1) <= np.log1p(_JUMP_TOLERANCE)
    out: list[tuple[int, Split]] = []
    for i in rows[near]:
        ratio = _nearest(close[i - 1] / open_[i], _JUMP_TOLERANCE)
        if ratio is not None:
            out.append((int(i), Split(index[i].date(), ratio, "price jump")))
    return out


def _in_window(
    index: pd.Index, splits: list[tuple[int, Split]], start: dt.date | None, end: dt.date | None
) -> list[tuple[int, Split]]:
    """The splits between two bars of the window (one before it or after it changes nothing)."""
    kept = []
    for row, split in splits:
        before = index[row - 1].date()
        if (start is None or before >= start) and (end is None or split.date <= end):
            kept.append((row, split))
    return kept


def _apply_splits(frame: pd.DataFrame, splits: list[tuple[int, Split]]) -> pd.DataFrame:
    """Prices before each split's row divided by its ratio, volumes multiplied by it."""
    if not splits:
        return frame
    factor = np.ones(len(frame))
    for row, split in splits:
        factor[:row] /= float(split.ratio)
    out = frame.copy()
    for column in PRICE_COLUMNS:
        out[column] = out[column] * factor
    out["volume"] = out["volume"] / factor
    return out


def manifest_adjustment(data: Mapping[str, Any]) -> Adjustment:
    """The adjustment a run's manifest `data` section records (older manifests only have the
    boolean `adjusted`, whose false meant raw prices)."""
    recorded = data.get("adjustment")
    if recorded in ADJUSTMENTS:
        return cast(Adjustment, recorded)
    return "all" if data.get("adjusted") else "raw"
