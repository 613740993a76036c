"""Resample bars to a coarser timeframe with parity's bar-label convention.

Bins are clock-aligned, left-closed and left-labelled: the 5Min bar labelled 09:30 covers
09:30:00-09:34:59, the 1Hour bar labelled 10:00 covers 10:00:00-10:59:59. Intraday bars resampled
to 1Day are grouped by session (calendar) date and labelled at midnight. Bins without a source bar
are dropped, never forward-filled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from parity.errors import DataError
from parity.timeframe import DAILY, MINUTE, Timeframe, parse_timeframe

COLUMNS = ("open", "high", "low", "close", "volume")
_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def resample(frame: pd.DataFrame, source_tf: Timeframe, target_tf: Timeframe) -> pd.DataFrame:
    """Aggregate sorted bars of `source_tf` into `target_tf` bars (first/max/min/last/sum).

    Returns a new frame with a `datetime` index and float64 `open, high, low, close, volume`.
    Raises `DataError` if the target is finer than the source, or if an intraday target is not a
    whole multiple of the source.
    """
    if target_tf < source_tf:
        raise DataError(
            f"cannot resample {source_tf} bars to {target_tf}: the target timeframe is finer than "
            f"the data; use {source_tf} or coarser, or load finer data"
        )
    bars = frame.loc[:, list(COLUMNS)].astype("float64")
    if target_tf == source_tf:
        return bars.copy()
    index = pd.DatetimeIndex(frame.index)
    if target_tf.is_daily:
        keys = index.normalize()
    else:
        if target_tf.seconds % source_tf.seconds:
            raise DataError(
                f"cannot resample {source_tf} bars to {target_tf}: {target_tf} is not a whole "
                f"number of {source_tf} bars; pick a timeframe that is a multiple of {source_tf}"
            )
        day = index.normalize()
        step = pd.Timedelta(seconds=target_tf.seconds)
        keys = day + ((index - day) // step) * step
    out = bars.groupby(pd.DatetimeIndex(keys, name="datetime"), sort=True).agg(_AGG)
    out = out.loc[:, list(COLUMNS)].astype("float64")
    out.index = pd.DatetimeIndex(out.index, name="datetime")
    return out


def infer_timeframe(index: pd.Index) -> Timeframe:
    """Infer the bar timeframe from the median spacing of `index` (>= 20 hours means DAILY).

    Intraday, the median is rounded to whole minutes; if some spacing is not a multiple of it
    (sparse bars), the greatest common divisor of the spacings is used instead. A single bar is
    DAILY if it is labelled at midnight, otherwise 1Min. A median below one minute raises
    `DataError`.
    """
    stamps = pd.DatetimeIndex(index).dropna().as_unit("ns")
    unique = np.unique(stamps.asi8)
    if len(unique) == 0:
        return DAILY
    if len(unique) == 1:
        return DAILY if (stamps == stamps.normalize()).all() else MINUTE
    spacing = np.diff(unique) // 1_000_000_000  # whole seconds
    seconds = float(np.median(spacing))
    if seconds >= 20 * 3600:
        return DAILY
    minutes = round(seconds / 60)
    if minutes < 1:
        raise DataError(
            f"bars are {seconds:g} seconds apart; parity needs bars of 1 minute or longer"
        )
    if np.any(spacing % (minutes * 60)):
        # sparse bars (e.g. 1-minute bars with untraded minutes absent): the largest bar length
        # that every spacing is a whole multiple of
        minutes = max(1, int(np.gcd.reduce(np.round(spacing / 60).astype("int64"))))
    return parse_timeframe(f"{minutes}Min")
