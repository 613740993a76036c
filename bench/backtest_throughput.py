"""Backtest throughput: plain Backtrader (defaults, PandasData) vs parity's backtest machinery.

The same SMA-cross logic (fast 10 / slow 30, 100 shares per entry) runs over the same synthetic
1-minute series in three variants, each in its own subprocess so peak memory is measured cleanly:

  plain          bt.Cerebro() defaults + bt.feeds.PandasData + an equivalent SMA-cross strategy
  parity         parity.runners.backtest.run_backtest (ArrayFeed, sim broker, Recorder, metrics,
                 every run artifact written)
  parity+progress  the same with the progress callback enabled (to show it costs nothing)

Usage: python bench/backtest_throughput.py [--bars 1000000]
Prints bars/s, peak RSS and the ratios parity/plain measured side by side in this one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_series(bars: int, seed: int = 7) -> pd.DataFrame:
    """A positive random walk of 1-minute OHLCV bars with consistent high/low."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.0008, bars)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.0005, bars)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(100, 10_000, bars).astype("float64")
    index = pd.date_range("2020-01-01", periods=bars, freq="min", name="datetime")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def run_plain(path: Path) -> dict[str, float]:
    import backtrader as bt

    frame = pd.read_parquet(path)

    class PlainSmaCross(bt.Strategy):
        params = (("fast", 10), ("slow", 30))

        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(
                bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow)
            )

        def next(self) -> None:
            if self.cross[0] > 0 and not self.position:
                self.buy(size=100)
            elif self.cross[0] < 0 and self.position:
                self.close()

    started = time.perf_counter()
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes), name="SYN")
    cerebro.broker.setcash(100_000.0)
    cerebro.addstrategy(PlainSmaCross)
    cerebro.run()
    return {"seconds": time.perf_counter() - started, "value": cerebro.broker.getvalue()}


def run_parity(path: Path, progress: bool) -> dict[str, float]:
    from parity.config import BacktestConfig
    from parity.runners.backtest import run_backtest

    calls = []

    def factory(total: int):  # type: ignore[no-untyped-def]
        return calls.append

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs:
        config = BacktestConfig(
            strategy="sma_cross",
            params={"sizing": "fixed", "size": 100},
            data=str(path),
            symbols=("SYN",),
            cash=100_000.0,
            commission="0",
            slippage="0",
            runs_dir=Path(runs),
        )
        result = run_backtest(config, progress=factory if progress else None)
        value = float(pd.read_csv(result.run_dir / "equity.csv")["value"].iloc[-1])
    return {"seconds": time.perf_counter() - started, "value": value, "progress_calls": len(calls)}


def child(variant: str, path: Path) -> None:
    import resource

    if variant == "plain":
        out = run_plain(path)
    else:
        out = run_parity(path, progress=variant == "parity+progress")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--path", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.path))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SYN.parquet"
        make_series(args.bars).to_parquet(path)
        results = {}
        for variant in ("plain", "parity", "parity+progress"):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", variant, "--path", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"bars: {args.bars:,}")
    for variant, out in results.items():
        rate = args.bars / out["seconds"]
        print(
            f"{variant:<16} {out['seconds']:8.2f} s  {rate:10,.0f} bars/s  "
            f"peak RSS {out['peak_rss_mb']:8.1f} MB  final value {out['value']:,.2f}"
        )
    plain, parity = results["plain"], results["parity"]
    print(
        f"speed ratio parity/plain:          {plain['seconds'] / parity['seconds']:.2f}x "
        "(target >= 1.5x)"
    )
    print(
        f"peak memory ratio parity/plain:    {parity['peak_rss_mb'] / plain['peak_rss_mb']:.2f} "
        "(target <= 1.0)"
    )
    print(
        f"progress overhead:                 "
        f"{results['parity+progress']['seconds'] / parity['seconds'] - 1:+.1%}"
    )


if __name__ == "__main__":
    main()
