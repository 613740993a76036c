"""Value encoding between Python/numpy and the journal's databases.

The hot tables are written with the driver's `executemany` and read without SQLAlchemy's per-row
type processing (a backtest writes one equity row per bar); this module keeps both directions
consistent with what SQLAlchemy's own `DateTime`/`JSON` types store, so the models read the same.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from parity.timeframe import BT_EPOCH_ORDINAL

_EPOCH = dt.datetime(1970, 1, 1)


def utcnow() -> dt.datetime:
    """Naive UTC wall-clock time (the journal's convention for wall times)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def naive(value: dt.datetime) -> dt.datetime:
    """Aware datetimes become naive UTC; naive ones are kept as they are."""
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def bt_datetime(value: float, daily: bool) -> dt.datetime:
    """One Backtrader float-day number as the run artifacts label it: the date if daily, else
    rounded to whole seconds (the scalar twin of `bt_datetimes`)."""
    days = value - BT_EPOCH_ORDINAL
    if daily:
        return _EPOCH + dt.timedelta(days=math.floor(days))
    return _EPOCH + dt.timedelta(seconds=round(days * 86400.0))  # half to even, as np.round


def bt_datetimes(values: Sequence[float] | np.ndarray, daily: bool) -> np.ndarray:
    """Backtrader float-day numbers → `datetime64[us]` (dates if daily, else whole seconds)."""
    days = np.asarray(values, dtype="float64") - BT_EPOCH_ORDINAL
    if daily:
        return np.floor(days).astype("int64").astype("datetime64[D]").astype("datetime64[us]")
    seconds = np.round(days * 86400.0).astype("int64")
    return seconds.astype("datetime64[s]").astype("datetime64[us]")


def to_datetimes(values: Sequence[Any]) -> pd.DatetimeIndex:
    """Driver values (ISO strings from SQLite, datetimes from PostgreSQL, None) → naive index."""
    if len(values) == 0:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    series = pd.Series(values, dtype=object)
    first = next((v for v in values if v is not None), None)
    if isinstance(first, str) and len(first) == 26:  # what the journal writes on SQLite
        try:
            parsed = pd.to_datetime(series, format="%Y-%m-%d %H:%M:%S.%f")
        except ValueError:
            parsed = pd.to_datetime(series, format="ISO8601")
    else:
        parsed = pd.to_datetime(series, format="ISO8601")
    return pd.DatetimeIndex(parsed).as_unit("ns")


class Codec:
    """Encodes parameters for one dialect's driver (`sqlite` stores text, others native)."""

    def __init__(self, dialect: str) -> None:
        self.text_times = dialect == "sqlite"

    def time(self, value: dt.datetime | None) -> Any:
        if value is None:
            return None
        value = naive(value)
        # the format SQLAlchemy's SQLite DateTime stores ("%Y-%m-%d %H:%M:%S.%f"), faster
        return value.isoformat(" ", "microseconds") if self.text_times else value

    def times(self, values: np.ndarray) -> list[Any]:
        """A `datetime64` array, vectorised."""
        micro = np.asarray(values).astype("datetime64[us]")
        if not self.text_times:
            return micro.tolist()  # type: ignore[no-any-return]
        # whole seconds (every bar label) are stored without the fraction: shorter rows, and
        # still ISO text that sorts in time order and that SQLAlchemy reads back
        whole = not (micro.astype("int64") % 1_000_000).any()
        text = np.datetime_as_string(micro, unit="s" if whole else "us")
        if len(text):
            chars = text.view("U1").reshape(len(text), -1)
            chars[:, 10] = " "  # ISO's "T" → " ", as SQLAlchemy's SQLite DateTime stores it
        return text.tolist()  # type: ignore[no-any-return]

    @staticmethod
    def json(value: Any) -> str | None:
        return None if value is None else json.dumps(value, default=str, sort_keys=True)

    @staticmethod
    def unjson(value: Any) -> Any:
        if value is None or not isinstance(value, str | bytes):
            return value
        return json.loads(value)
