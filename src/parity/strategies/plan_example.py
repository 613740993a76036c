"""A seeded stand-in for a user's daily planning pipeline: it writes plan rows for one day from
the bars up to that day only (the bundled example plan, `parity plan example`).

It is an example, not a model: a symbol whose close is above its 20-day average gets a long
bracket when a seeded coin says so; the take-profit is one average daily range (of the last
ten sessions) above the close and the stop-loss three quarters of one below; entries are
market orders or, one time in three, limits a quarter range below the close; rows alternate
between a fixed quantity and a risk of 0.5 % of equity; each lives five sessions. The coin
for a day is seeded by the seed and the date, so one day's rows are the same whether
generated alone or in a month.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from parity.strategies.plan_file import COLUMNS

EXAMPLE_SEED = 7
LOOKBACK = 20


def example_rows(
    bars: Mapping[str, pd.DataFrame], day: dt.date, *, seed: int = EXAMPLE_SEED
) -> list[dict[str, Any]]:
    """Plan rows dated `day` from `bars` (symbol -> daily OHLC frame), reading no bar after it."""
    rng = np.random.default_rng([seed, day.toordinal()])
    rows: list[dict[str, Any]] = []
    for symbol in sorted(bars):
        frame = bars[symbol]
        seen = frame[frame.index.date <= day]  # type: ignore[operator]  # (an index of dates)
        coin, kind, sizing = rng.random(), rng.random(), rng.random()
        if len(seen) < LOOKBACK or seen.index[-1].date() != day:
            continue
        close = float(seen["close"].iloc[-1])
        average = float(seen["close"].iloc[-LOOKBACK:].mean())
        span = float((seen["high"] - seen["low"]).iloc[-10:].mean())
        if close <= average or coin < 0.4 or not span > 0:
            continue
        limit = kind < 1 / 3
        entry = round(close - 0.25 * span, 2) if limit else None
        rows.append(
            {
                "date": day.isoformat(),
                "symbol": symbol,
                "side": "long",
                "qty": 10 if sizing < 0.5 else "",
                "risk": "" if sizing < 0.5 else 0.005,
                "entry_type": "limit" if limit else "market",
                "entry": "" if entry is None else entry,
                "tp": round(close + 1.0 * span, 2),
                "sl": round(close - 0.75 * span, 2),
                "valid_until": "",
                "max_days": 5,
                "tag": "above-20d-average",
                "score": round(close / average - 1.0, 4),
            }
        )
    return rows


def example_plan(
    bars: Mapping[str, pd.DataFrame], days: Sequence[dt.date], *, seed: int = EXAMPLE_SEED
) -> str:
    """The plan CSV of every day in `days`, in order."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for day in days:
        writer.writerows(example_rows(bars, day, seed=seed))
    return out.getvalue()
