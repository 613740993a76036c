"""Per-trial time of `parity optimize`'s worker function, with and without `settle_worker`
(the once-per-worker `gc.freeze()` that keeps `simulate`'s closing `gc.collect()` from
traversing the worker's start-up objects), in one run on the same bars and points.

Each variant runs in a fresh interpreter that imports what a Dask worker has loaded (optuna,
distributed), loads the bars once and runs the same trials; the figures are seconds per trial
and the ratio to the baseline (no freeze) measured in the same run. Small and quick: the sample's
daily bars by default.

Usage: python bench/trial_overhead.py [--from 2005-01-01] [--to 2014-12-31] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import datetime as dt, json, sys, time
import distributed, optuna  # noqa: F401  (what a worker has imported)
from parity.config import BacktestConfig
from parity.optimize import trial
from parity.optimize.objective import parse_objective
from parity.runners.backtest import backtest_bars
from parity.runners.optimize import trial_settings
from parity.strategies.registry import resolve_strategy

start, end, freeze = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
config = BacktestConfig(strategy="sma_cross", start=dt.date.fromisoformat(start),
                        end=dt.date.fromisoformat(end))
bars = backtest_bars(config, resolve_strategy("sma_cross"))
settings = trial_settings(config, parse_objective("sharpe"))
if not freeze:
    trial.settle_worker = lambda: None  # the baseline: no freeze
points = [{"fast": f, "slow": s} for f in (5, 10, 15) for s in (30, 50)]
trial.run_trial(bars, settings, points[0])  # first trial: imports, caches (and the freeze)
began = time.perf_counter()
values = [trial.run_trial(bars, settings, p).value for p in points]
print(json.dumps({"per_trial": (time.perf_counter() - began) / len(points), "values": values,
                  "bars": max(len(s) for s in bars.series)}))
"""


def measure(start: str, end: str, freeze: bool) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, start, end, "1" if freeze else "0"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="2005-01-01")
    parser.add_argument("--to", dest="end", default="2014-12-31")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    best: dict[bool, float] = {}
    values: dict[bool, object] = {}
    bars = 0
    for _ in range(args.repeat):  # interleaved, best of each: the machine may be shared
        for freeze in (False, True):
            got = measure(args.start, args.end, freeze)
            best[freeze] = min(best.get(freeze, float("inf")), float(got["per_trial"]))  # type: ignore[arg-type]
            values[freeze] = got["values"]
            bars = int(got["bars"])  # type: ignore[call-overload]
    assert values[False] == values[True], "the freeze changed a trial's objective"
    print(f"sma_cross, {bars} daily bars, 6 trials, best of {args.repeat}")
    print(f"  baseline (no freeze)   {best[False]:.3f} s/trial")
    print(f"  settle_worker (freeze) {best[True]:.3f} s/trial   "
          f"{best[False] / best[True]:.2f}x the baseline")  # fmt: skip


if __name__ == "__main__":
    main()
