"""Options throughput, in one run:

  pricing     the model chain pricing whole chains (every strike and expiry to 45 days, calls
              and puts) at a new spot each time: contracts priced per second
  chain       `put_credit_spread` with its options desk over a seeded SPY-like daily series
              (the chain asked for at every bar, orders filled, expiries settled): bars/s
  underlying  the same decisions (filters, strike from the price) on the underlying only, no
              chain: bars/s — the baseline the chain's cost is measured against

Usage: python bench/options_throughput.py [--sessions 2500] [--repeat 3]
Prints contracts/s, both bars/s and their ratio. The first call compiles py_vollib_vectorized's
numba kernels; it is done (and timed) apart, before any measurement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import warnings

import numpy as np

from parity.engine.simulate import simulate
from parity.feeds.bars import BarSeries
from parity.feeds.synthetic import session_bars
from parity.instruments.calendars import calendar_named
from parity.options.model import ModelChain
from parity.strategies.base import ParityStrategy
from parity.timeframe import DAILY

warnings.simplefilter("ignore")
XNYS = calendar_named("XNYS")


class UnderlyingOnly(ParityStrategy):
    """put_credit_spread's entry filters and strike choice, trading one share instead."""

    def next(self) -> None:
        data = self.datas[0]
        close = float(data.close[0])
        if float(data.high[0]) - float(data.low[0]) > 5.0:
            return
        buffer = 0.5 if close >= 500 else 0.3
        target = close * (1 - buffer / 100)
        if self.getposition(data).size:
            self.close(data=data)
        elif target > 0:
            self.buy(data=data, size=1)


def series(sessions: int) -> BarSeries:
    first = dt.date(2000, 1, 3)
    last = first + dt.timedelta(days=int(sessions * 1.46))
    frame = session_bars(XNYS, first, last, DAILY, seed=3, price=470.0, volatility=0.008)
    return BarSeries("SPY", frame.iloc[:sessions], DAILY, "synthetic")


def pricing(repeat: int) -> tuple[float, int]:
    chain = ModelChain("SPY", XNYS)
    for close in 470 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 40))):
        chain.observe_close(dt.date(2024, 1, 5), float(close))
    now = dt.datetime(2024, 1, 5, 16)
    listed = chain.contracts(now, 470.0)
    chain.quotes(listed, now, 470.0)  # compile
    spots = 470.0 + np.arange(repeat * 20) * 0.01
    start = time.perf_counter()
    for spot in spots:  # a new spot: nothing cached
        chain.quotes(listed, now, float(spot))
    elapsed = time.perf_counter() - start
    return len(listed) * len(spots) / elapsed, len(listed)


def bars_per_second(bars: BarSeries, strategy: object, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = simulate(bars, strategy, {})  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
    return len(bars) / best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    rate, size = pricing(1)
    print(f"first pricing call (numba compile included): {time.perf_counter() - start:.2f} s")
    rate, size = pricing(args.repeat)
    print(f"pricing     {rate:>12,.0f} contracts/s  (chains of {size:,} contracts)")
    bars = series(args.sessions)
    chain_rate, with_chain = bars_per_second(bars, "put_credit_spread", args.repeat)
    base_rate, _ = bars_per_second(bars, UnderlyingOnly, args.repeat)
    trades = with_chain.options.metrics["trades"]  # type: ignore[attr-defined]
    print(f"chain       {chain_rate:>12,.0f} bars/s  ({len(bars):,} sessions, {trades} spreads)")
    print(f"underlying  {base_rate:>12,.0f} bars/s")
    print(f"ratio chain/underlying: {chain_rate / base_rate:.2f}")


if __name__ == "__main__":
    main()
