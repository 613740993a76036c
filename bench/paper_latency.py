"""Paper rehearsal throughput and decision latency, beside the same strategy's backtest.

Runs `sma_cross` (fast 5 / slow 20) on the bundled 1-minute IBM bars (6 sessions, 2,566 bars)
1. as a backtest (parity's machinery), and
2. as a `--speed max` (lock-step) paper rehearsal against the local venue: alpaca-py over loopback
   sockets, parity's store, broker and live feed,
and prints bars/s of each and the bar-arrival-to-order-submitted latency (p50/p99): from the
moment the data stream thread received the bar that triggered a decision to the moment the
order request left for the venue.

Then options (issue 17): `put_credit_spread` on the bundled daily IBM bars of 2012 as a
lock-step rehearsal on the local venue, and the same latency for its combos (two-leg `mleg`
orders: the decision reads the chain snapshot from the venue first), printed beside the equity
single-order latency measured above, in the same run, as a ratio.

Usage: python bench/paper_latency.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from parity.config import BacktestConfig
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe
from parity.venues.alpaca.client import AlpacaStore

PARAMS = {"fast": "5", "slow": "20"}
COMBO_WINDOW = {"start": dt.date(2012, 1, 3), "end": dt.date(2012, 12, 31)}


def latencies_ms(run_dir: Path, submitted: list[float]) -> np.ndarray:
    """Each submission's delay after the newest bar that arrived before it."""
    tape = pd.read_csv(run_dir / "tape.csv", parse_dates=["received_at"])
    arrivals = tape["received_at"].map(lambda t: t.timestamp()).to_numpy(dtype=float)
    out = []
    for stamp in submitted:
        before = arrivals[arrivals <= stamp]
        if len(before):
            out.append((stamp - before[-1]) * 1000.0)
    return np.array(out)


def combo_latency(runs: Path, submitted: list[tuple[float, str]]) -> tuple[np.ndarray, int]:
    """`put_credit_spread` rehearsed on the local venue: its mleg orders' latencies."""
    submitted.clear()
    paper = run_paper(
        PaperConfig(
            strategy="put_credit_spread",
            symbols=("IBM",),
            venue="local",
            data="sample:daily",
            timeframe=parse_timeframe("1Day"),
            cash=100_000.0,
            commission="0",
            slippage="0",
            runs_dir=runs,
            **COMBO_WINDOW,
        )
    )
    combos = [t for t, kind in submitted if kind == "mleg"]
    return latencies_ms(paper.run_dir, combos), len(combos)


def main() -> None:
    submitted: list[tuple[float, str]] = []
    original = AlpacaStore.submit_order

    def timed_submit(self: AlpacaStore, request):  # type: ignore[no-untyped-def]
        submitted.append((time.time(), request.order_class))
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
        lat = latencies_ms(paper.run_dir, [t for t, _kind in submitted])
        orders = len(submitted)
        combo, combos = combo_latency(runs, submitted)

    print(f"bars: {bars:,} (IBM 1-minute sample), orders: {orders}")
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
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    c50, c99 = np.percentile(combo, 50), np.percentile(combo, 99)
    print(
        f"combo (put_credit_spread mleg, {combos} orders, daily IBM 2012) bar arrival -> order "
        f"submitted: p50 {c50:.2f} ms, p99 {c99:.2f} ms, max {combo.max():.2f} ms"
    )
    print(
        f"  vs equity single order (sma_cross, same run): p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
        f"combo/equity ratio p50 {c50 / p50:.2f}x, p99 {c99 / p99:.2f}x"
    )


if __name__ == "__main__":
    main()
