"""Dynamic time warping of two return series, in numpy, with a Sakoe-Chiba band.

Definition used by `parity compare` (see `annualised_dtw`):

* local cost ``c(i, j) = (a[i] - b[j]) ** 2``;
* ``D(i, j) = c(i, j) + min(D(i-1, j-1), D(i-1, j), D(i, j-1))`` with ``D(0, 0) = c(0, 0)``;
  the path starts at ``(0, 0)`` and ends at ``(n-1, m-1)``;
* the DTW distance is ``sqrt(D(n-1, m-1))``: the root of the smallest sum of squared return
  differences over every monotone alignment of the two series.

The table is filled one anti-diagonal at a time (cells on diagonal ``k = i + j`` depend only on
diagonals ``k-1`` and ``k-2``), each diagonal as one numpy operation, so the Python loop runs
``n + m - 1`` times and a band of half-width ``w`` costs ``O((n + m) * w)`` time and ``O(n)``
memory.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

# Above this many cells the full table is not filled: a band keeps long series cheap.
FULL_TABLE_CELLS = 4_000_000
# Warping further than this many periods is not a lag any more; it also bounds the cost.
MAX_BAND = 500


def default_band(n: int, m: int) -> int | None:
    """No band for small tables; otherwise a half-width of 10 % of the longer series, at least 10
    and at most ``MAX_BAND`` bars of lag, and always at least ``|n - m|`` so the end cell stays
    reachable."""
    if n * m <= FULL_TABLE_CELLS:
        return None
    return max(abs(n - m), min(max(10, max(n, m) // 10), MAX_BAND))


def dtw_cost(a: ArrayLike, b: ArrayLike, *, band: int | None = -1) -> float:
    """The accumulated cost ``D(n-1, m-1)`` (a sum of squared differences).

    ``band=None`` fills the whole table; a non-negative ``band`` only visits cells with
    ``|i - j| <= band`` (raised to ``|n - m|`` when smaller); the default ``-1`` picks
    :func:`default_band`. Empty input gives ``nan``.
    """
    x = np.asarray(a, dtype="float64")
    y = np.asarray(b, dtype="float64")
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        return math.nan
    width = default_band(n, m) if band == -1 else band
    if width is not None:
        width = max(int(width), abs(n - m))
    # Three rotating buffers hold diagonals k-2, k-1 and k, indexed by i + 1 (index 0 is the
    # i = -1 border, always inf). Only the cells a diagonal wrote are reset when its buffer is
    # reused, so a banded run never touches more than the band.
    buffers = [np.full(n + 1, math.inf) for _ in range(3)]
    spans: list[tuple[int, int]] = [(1, 0), (1, 0), (1, 0)]
    for k in range(n + m - 1):
        prev2, prev1, current = buffers[(k - 2) % 3], buffers[(k - 1) % 3], buffers[k % 3]
        old_lo, old_hi = spans[k % 3]
        current[old_lo + 1 : old_hi + 2] = math.inf
        lo, hi = max(0, k - m + 1), min(n - 1, k)
        if width is not None:
            lo = max(lo, math.ceil((k - width) / 2))
            hi = min(hi, (k + width) // 2)
        spans[k % 3] = (lo, hi)
        if lo > hi:
            continue
        i = np.arange(lo, hi + 1)
        cost = (x[lo : hi + 1] - y[k - i]) ** 2
        if k == 0:
            current[1] = cost[0]
            continue
        # (i-1, j-1) on k-2; (i-1, j) and (i, j-1) on k-1
        best = np.minimum(
            np.minimum(prev2[lo : hi + 1], prev1[lo : hi + 1]), prev1[lo + 1 : hi + 2]
        )
        current[lo + 1 : hi + 2] = cost + best
    return float(buffers[(n + m - 2) % 3][n])


def dtw_distance(a: ArrayLike, b: ArrayLike, *, band: int | None = -1) -> float:
    """``sqrt`` of :func:`dtw_cost`: the DTW distance in the units of the series."""
    cost = dtw_cost(a, b, band=band)
    return math.sqrt(cost) if math.isfinite(cost) else math.nan


def annualised_dtw(a: ArrayLike, b: ArrayLike, periods_per_year: float) -> float:
    """DTW distance of two return series, annualised like a volatility.

    ``dtw_distance * sqrt(periods_per_year / n)`` with ``n = max(len(a), len(b))``: for two
    series aligned one-to-one this is ``sqrt(periods_per_year * mean((a - b) ** 2))``, the
    annualised root-mean-square return difference (tracking error without the mean removed);
    warping can only lower it. Daily returns use ``periods_per_year = 252``.
    """
    n = max(len(np.asarray(a)), len(np.asarray(b)))
    if n == 0:
        return math.nan
    return dtw_distance(a, b) * math.sqrt(periods_per_year / n)
