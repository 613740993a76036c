"""Hand-written code vs the maintained library that does the same job (issue 14, item 9).

* DTW: the numpy anti-diagonal fill `parity.analyzers.dtw` used to carry (copied below as
  `numpy_dtw`) vs `dtaidistance.dtw.distance_fast` (C), on paired return series of the sizes
  `parity compare` meets (a year of days; a month and a 16,770-bar rehearsal of minutes).
* Bootstrap: `parity.analyzers.evidence.bootstrap_sharpe_diff` (stationary bootstrap, one
  vectorised pass over a resamples x days index matrix) vs `arch.bootstrap.StationaryBootstrap`
  (the same method, its own draws) and `scipy.stats.bootstrap` (i.i.d. resampling of the pairs:
  not the same method, shown for its speed and how much narrower it is).

Usage: python bench/libraries.py [--repeat 3]
Prints, per case, the two results, whether they are identical, the best-of-N seconds of each
and the ratio ours / library (above 1: the library is faster).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from parity.analyzers.dtw import default_band, dtw_distance
from parity.analyzers.evidence import bootstrap_sharpe_diff


def numpy_dtw(a: np.ndarray, b: np.ndarray, band: int | None) -> float:
    """The hand-written DTW distance parity used before dtaidistance (anti-diagonal fill)."""
    n, m = len(a), len(b)
    width = None if band is None else max(int(band), abs(n - m))
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
        cost = (a[lo : hi + 1] - b[k - i]) ** 2
        if k == 0:
            current[1] = cost[0]
            continue
        best = np.minimum(
            np.minimum(prev2[lo : hi + 1], prev1[lo : hi + 1]), prev1[lo + 1 : hi + 2]
        )
        current[lo + 1 : hi + 2] = cost + best
    return math.sqrt(float(buffers[(n + m - 2) % 3][n]))


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, value = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def paired_returns(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A live return series and its twin: the twin lags a fill now and then and pays costs."""
    rng = np.random.default_rng(seed)
    live = rng.normal(0.0003, 0.01, n)
    twin = np.roll(live, 1) * 0.3 + live * 0.7 + rng.normal(-0.00002, 0.0005, n)
    return live, twin


def dtw_cases(repeat: int) -> None:
    print("DTW (sqrt of the accumulated squared cost)")
    print(
        f"{'case':<28}{'ours':>22}{'dtaidistance':>22}  same  {'ours s':>9}{'lib s':>9}{'ratio':>8}"
    )
    for label, n in (("252 days", 252), ("2,000 bars (full table)", 2000), ("8,190 bars", 8190)):
        _dtw_row(label, n, repeat)
    _dtw_row("16,770 bars (band 500)", 16770, repeat)


def _dtw_row(label: str, n: int, repeat: int) -> None:
    a, b = paired_returns(n, seed=n)
    band = default_band(n, n)
    ours_s, ours = best_of(repeat, lambda: numpy_dtw(a, b, band))
    lib_s, lib = best_of(repeat, lambda: dtw_distance(a, b))
    print(
        f"{label:<28}{ours:>22.17g}{lib:>22.17g}  {'yes' if ours == lib else 'NO ':<4}"
        f"  {ours_s:>9.4f}{lib_s:>9.4f}{ours_s / lib_s:>8.1f}"
    )


def sharpe_diff(live: np.ndarray, twin: np.ndarray, axis: int = -1) -> np.ndarray:
    def sharpe(x: np.ndarray) -> np.ndarray:
        return np.asarray(x.mean(axis=axis) / x.std(axis=axis, ddof=1) * math.sqrt(252))

    return sharpe(live) - sharpe(twin)


def bootstrap_cases(repeat: int, resamples: int) -> None:
    print(f"\nBootstrap 95% interval of sharpe(live) - sharpe(twin), {resamples} resamples")
    print(f"{'case':<14}{'method':<34}{'low':>10}{'high':>10}{'seconds':>10}{'ours/lib':>10}")
    for days in (60, 252, 1000):
        _bootstrap_rows(days, repeat, resamples)


def _bootstrap_rows(days: int, repeat: int, resamples: int) -> None:
    from scipy import stats

    live, twin = paired_returns(days, seed=days)
    block = max(1, round(days ** (1 / 3)))

    def ours() -> tuple[float, float]:
        out = bootstrap_sharpe_diff(live, twin, resamples=resamples, seed=0)
        return out["low"], out["high"]

    def with_arch() -> tuple[float, float]:
        from arch.bootstrap import StationaryBootstrap  # pip install arch (bench only)

        bs = StationaryBootstrap(block, live, twin, seed=np.random.default_rng(0))
        ci = bs.conf_int(sharpe_diff, reps=resamples, method="percentile")
        return float(ci[0, 0]), float(ci[1, 0])

    def with_scipy() -> tuple[float, float]:
        res = stats.bootstrap(
            (live, twin),
            sharpe_diff,
            paired=True,
            vectorized=True,
            n_resamples=resamples,
            method="percentile",
            rng=np.random.default_rng(0),
        )
        return float(res.confidence_interval.low), float(res.confidence_interval.high)

    ours_s, (lo, hi) = best_of(repeat, ours)
    name = "ours (stationary, vectorised)"
    print(f"{days:>4} days    {name:<34}{lo:>10.4f}{hi:>10.4f}{ours_s:>10.4f}")
    for name, fn in (
        ("arch StationaryBootstrap", with_arch),
        ("scipy.stats.bootstrap (i.i.d.)", with_scipy),
    ):
        try:
            lib_s, (lo, hi) = best_of(repeat, fn)
        except ImportError as exc:  # arch is not a dependency of parity
            print(f"{'':<14}{name:<34}  not installed ({exc.name}): pip install {exc.name}")
            continue
        print(f"{'':<14}{name:<34}{lo:>10.4f}{hi:>10.4f}{lib_s:>10.4f}{ours_s / lib_s:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    dtw_cases(args.repeat)
    bootstrap_cases(args.repeat, args.resamples)


if __name__ == "__main__":
    main()
