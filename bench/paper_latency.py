"""Paper rehearsal throughput and decision latency, beside the same strategy's backtest.

Runs `sma_cross` (fast 5 / slow 20) on the bundled 1-minute IBM bars (6 sessions, 2,566 bars)
1. as a backtest (parity's machinery), and
2. as a `--speed max` (lock-step) paper rehearsal against the local venue: alpaca-py over loopback
   sockets, parity's store, broker and live feed,
and prints bars/s of each and the bar-arrival-to-order-submitted latency (p50/p99): from the
moment the data stream thread received the bar that triggered a decision to the moment the
order request left for the venue.

Usage: python bench/paper_latency.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from parity.config import BacktestConfig
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.venues.alpaca.client import AlpacaStore

PARAMS = {"fast": "5", "slow": "20"}


def main() -> None:
    submitted: list[float] = []
    original = AlpacaStore.submit_order

    def timed_submit(self: AlpacaStore, request):  # type: ignore[no-untyped-def]
        submitted.append(time.time())
        return original(self, request)

    AlpacaStore.submit_order = timed_submit  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        started = time.perf_counter()
        bt_result = run_backtest(
            BacktestConfig(
                strategy="sma_cross",
                params=PARAMS,
                data="sample:minute",
                symbols=("IBM",),
                commission="0",
                slippage="0",
                runs_dir=runs,
            )
        )
        bt_seconds = time.perf_counter() - started
        bars = len(pd.read_csv(bt_result.run_dir / "equity.csv"))

        started = time.perf_counter()
        paper = run_paper(
            PaperConfig(
                strategy="sma_cross",
                params=PARAMS,
                symbols=("IBM",),
                venue="local",
                data="sample:minute",
                cash=100_000.0,
                commission="0",  # the backtest's costs (paper's default slippage is 5bps)
                slippage="0",
                runs_dir=runs,
            )
        )
        paper_seconds = time.perf_counter() - started
        tape = pd.read_csv(paper.run_dir / "tape.csv", parse_dates=["received_at"])
        arrivals = tape["received_at"].map(lambda t: t.timestamp()).to_numpy(dtype=float)
        steady = arrivals[-1] - arrivals[0]
        same = pd.read_csv(paper.run_dir / "trades.csv").equals(
            pd.read_csv(bt_result.run_dir / "trades.csv")
        )

    latencies = []
    for stamp in submitted:
        before = arrivals[arrivals <= stamp]
        if len(before):
            latencies.append((stamp - before[-1]) * 1000.0)
    lat = np.array(latencies)
    print(f"bars: {bars:,} (IBM 1-minute sample), orders: {len(submitted)}")
    print(f"backtest                 {bt_seconds:7.2f} s  {bars / bt_seconds:10,.0f} bars/s")
    print(
        f"paper rehearsal (max)    {paper_seconds:7.2f} s  {bars / paper_seconds:10,.0f} bars/s "
        "(whole run: venue start and shutdown included; target >= 500)"
    )
    print(
        f"  steady state           {steady:7.2f} s  {bars / steady:10,.0f} bars/s (first-last bar)"
    )
    print(f"  paper/backtest speed   {bt_seconds / paper_seconds:.3f}")
    print(
        f"bar arrival -> order submitted: p50 {np.percentile(lat, 50):.2f} ms, "
        f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms (target p99 < 20 ms)"
    )
    print(f"rehearsal trades identical to the backtest: {same}")


if __name__ == "__main__":
    main()
