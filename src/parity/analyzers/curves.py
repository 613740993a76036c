"""Equity-curve agreement of a live run and its twin: correlation, DTW, tracking error, gap.

Two grids are compared:

* **daily**: daily simple returns of total equity (:func:`parity.analyzers.metrics.daily_returns`),
  on the union of both runs' dates (a date missing on one side is a 0 return there), annualised
  with 252 periods;
* **per bar**: equity on the union of both runs' bar labels, forward-filled (equity does not move
  between a run's bars), simple returns with the first bar measured against the starting cash,
  annualised with ``252 * bars per day`` (bars per day = union bars / distinct dates).

Per grid: Pearson correlation of the two return series (two constant series that are equal count
as 1.0; one constant and one not is undefined, ``None``), the annualised DTW distance
(:func:`parity.analyzers.dtw.annualised_dtw`) and the tracking error, the annualised sample
standard deviation (ddof=1) of the return differences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from parity.analyzers.dtw import annualised_dtw
from parity.analyzers.metrics import daily_returns

TRADING_DAYS = 252
_ZERO_STD = 1e-14


def correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation; ``1.0`` for two equal constant series, ``None`` when undefined."""
    if len(a) < 2 or len(a) != len(b):
        return None
    sa, sb = float(np.std(a)), float(np.std(b))
    if sa < _ZERO_STD or sb < _ZERO_STD:
        return 1.0 if sa < _ZERO_STD and sb < _ZERO_STD and np.allclose(a, b, atol=1e-15) else None
    return float(np.corrcoef(a, b)[0, 1])


def tracking_error(a: np.ndarray, b: np.ndarray, periods: float) -> float | None:
    """Annualised sample std of ``a - b``; ``None`` with fewer than two observations."""
    if len(a) < 2:
        return None
    return float(np.std(a - b, ddof=1) * math.sqrt(periods))


def paired_daily(
    live: pd.Series, reference: pd.Series, live_cash: float, reference_cash: float
) -> pd.DataFrame:
    """Daily returns of two equity series side by side (columns ``live, reference``)."""
    frame = pd.concat(
        [daily_returns(live, live_cash), daily_returns(reference, reference_cash)],
        axis=1,
        keys=["live", "reference"],
    )
    return frame.fillna(0.0).sort_index()


def paired_bars(
    live: pd.Series, reference: pd.Series, live_cash: float, reference_cash: float
) -> pd.DataFrame:
    """Per-bar returns of two equity series on the union of their bar labels."""
    index = live.index.union(reference.index).sort_values()
    out = {}
    for name, series, cash in (
        ("live", live, live_cash),
        ("reference", reference, reference_cash),
    ):
        values = series.astype(float).reindex(index).ffill().fillna(cash)
        previous = values.shift(1)
        previous.iloc[0] = cash
        out[name] = values / previous - 1.0
    return pd.DataFrame(out, index=index)


def _grid(frame: pd.DataFrame, periods: float) -> dict[str, Any]:
    a = frame["live"].to_numpy(dtype="float64")
    b = frame["reference"].to_numpy(dtype="float64")
    dtw = annualised_dtw(a, b, periods) if len(a) else math.nan
    return {
        "n": len(a),
        "periods_per_year": periods,
        "correlation": correlation(a, b),
        "dtw": dtw if math.isfinite(dtw) else None,
        "tracking_error": tracking_error(a, b, periods),
    }


def curve_agreement(
    live: pd.Series, reference: pd.Series, *, live_cash: float, reference_cash: float
) -> dict[str, Any]:
    """``{"daily": {...}, "per_bar": {...}, "final_equity": {...}}`` (see the module doc)."""
    daily = paired_daily(live, reference, live_cash, reference_cash)
    bars = paired_bars(live, reference, live_cash, reference_cash)
    days = max(len(pd.DatetimeIndex(bars.index).normalize().unique()), 1)
    per_day = len(bars) / days
    live_final = float(live.iloc[-1]) if len(live) else live_cash
    ref_final = float(reference.iloc[-1]) if len(reference) else reference_cash
    gap = live_final - ref_final
    return {
        "daily": _grid(daily, TRADING_DAYS),
        "per_bar": _grid(bars, TRADING_DAYS * per_day),
        "final_equity": {
            "live": live_final,
            "reference": ref_final,
            "gap": gap,
            "relative_gap": gap / ref_final if ref_final else None,
        },
    }
