"""Seeded synthetic bars on an exchange's calendar, for examples and tests of markets beyond New
York (NSE 5-minute bars stamped in IST, 24/7 crypto bars) without shipping vendor data.

Prices follow a seeded geometric random walk; every regular session of the calendar gets every
bar from its open to its close (fewer on a half day), labelled with the bar's start. The written
file stamps each bar with the exchange's UTC offset (`2024-01-01 09:15:00+05:30`), as a vendor
export in the exchange's zone would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from parity.instruments.calendars import ExchangeCalendar
from parity.timeframe import Timeframe


def session_bars(
    calendar: ExchangeCalendar,
    first: dt.date,
    last: dt.date,
    timeframe: Timeframe,
    *,
    seed: int = 7,
    price: float = 2500.0,
    volatility: float = 0.002,
) -> pd.DataFrame:
    """OHLCV bars for every session of `calendar` from `first` to `last`, indexed by naive
    exchange-time bar starts (`volatility` is the standard deviation of a bar's log return)."""
    table = calendar.schedule(first, last)
    step = pd.Timedelta(seconds=timeframe.seconds)
    labels = [
        pd.date_range(open_, close - step, freq=step) if not timeframe.is_daily else [day]
        for day, open_, close in zip(table.index, table["open"], table["close"], strict=True)
    ]
    index = pd.DatetimeIndex(np.concatenate([np.asarray(x) for x in labels]), name="datetime")
    rng = np.random.default_rng(seed)
    closes = price * np.exp(np.cumsum(rng.normal(0.0, volatility, len(index))))
    opens = np.r_[price, closes[:-1]]
    spread = np.abs(rng.normal(0.0, volatility / 2, len(index))) * closes
    frame = pd.DataFrame(
        {
            "open": opens.round(2),
            "high": (np.maximum(opens, closes) + spread).round(2),
            "low": (np.minimum(opens, closes) - spread).round(2),
            "close": closes.round(2),
            "volume": rng.integers(1_000, 50_000, len(index)).astype("float64"),
        },
        index=index.as_unit("ns"),
    )
    return frame


def write_session_bars(frame: pd.DataFrame, path: Path, calendar: ExchangeCalendar) -> Path:
    """Write `frame` as CSV with each stamp carrying the exchange's UTC offset."""
    stamps = pd.DatetimeIndex(frame.index).tz_localize(calendar.timezone)
    out = frame.copy()
    out.index = pd.Index([stamp.isoformat(sep=" ") for stamp in stamps], name="datetime")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path)
    return path
