"""Per-bar decision latency of the `policy` strategy on CPU, beside `sma_cross`, in one process.

Both strategies run through parity's own `build_cerebro` (ArrayFeed, sim broker, Recorder) on the
same bars (the bundled IBM daily sample, 2000-2013, ~3,500 bars). Each strategy's `next()` is
timed per bar with `perf_counter_ns`; the policy's time is further split into the feature
pipeline and the torch forward pass. The whole `cerebro.run()` time per bar is printed too.

The checkpoint is trained here first (seeded, a few thousand PPO timesteps; its quality does not
affect the latency) unless `--checkpoint DIR` is given.

Usage: python bench/policy_latency.py [--checkpoint DIR] [--repeat 3]
Target: policy p99 per-bar decision under 2 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from parity.config import BacktestConfig
from parity.feeds.loader import LoadedData, load_bars
from parity.runners.backtest import build_cerebro
from parity.strategies.params import coerce_params
from parity.strategies.policy import PolicyStrategy
from parity.strategies.registry import StrategySpec
from parity.strategies.sma_cross import SmaCross


class TimedPolicy(PolicyStrategy):
    """`policy` with its per-bar `next()` time, and its features and forward time, recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.bar_ns: list[int] = []
        self.feature_ns: list[int] = []
        self.forward_ns: list[int] = []
        act = self.policy.act

        def timed_act(observation: np.ndarray) -> int:
            began = time.perf_counter_ns()
            action = act(observation)
            self.forward_ns.append(time.perf_counter_ns() - began)
            return action

        self.policy.act = timed_act  # type: ignore[method-assign]

    def state(self, data: Any) -> np.ndarray | None:
        began = time.perf_counter_ns()
        out = super().state(data)
        if out is not None:
            self.feature_ns.append(time.perf_counter_ns() - began)
        return out

    def next(self) -> None:
        began = time.perf_counter_ns()
        super().next()
        self.bar_ns.append(time.perf_counter_ns() - began)


class TimedSmaCross(SmaCross):
    """`sma_cross` with its per-bar `next()` time recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.bar_ns: list[int] = []

    def next(self) -> None:
        began = time.perf_counter_ns()
        super().next()
        self.bar_ns.append(time.perf_counter_ns() - began)


def run(cls: type, params: dict[str, Any], loaded: LoadedData, runs: Path) -> tuple[Any, float]:
    config = BacktestConfig(strategy="bench", data="sample", runs_dir=runs)
    spec = StrategySpec("bench", cls, "", "")
    cerebro = build_cerebro(config, spec, coerce_params(cls, params), loaded, {"id_prefix": "b"})
    began = time.perf_counter()
    strategy = cerebro.run()[0]
    return strategy, time.perf_counter() - began


def stats(ns: list[int]) -> str:
    us = np.array(ns) / 1000.0
    p50, p99 = np.percentile(us, [50, 99])
    return f"p50 {p50:8.1f} us   p99 {p99:8.1f} us   max {us.max():8.1f} us   n={len(us)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each; the last is shown.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None:
            from parity.models.train import TrainConfig, train_ppo

            checkpoint = Path(tmp) / "ppo"
            began = time.perf_counter()
            train_ppo(
                TrainConfig(
                    symbols=("IBM",),
                    start=dt.date(2011, 1, 1),
                    end=dt.date(2012, 12, 31),
                    timesteps=4096,
                    seed=0,
                    out=checkpoint,
                )
            )
            print(
                f"trained checkpoint (4096 timesteps, ~500 bars) in "
                f"{time.perf_counter() - began:.1f} s"
            )
        loaded = load_bars("sample", ["IBM"])
        bars = len(loaded.series[0])
        for _ in range(args.repeat):  # warm up imports, caches and torch; keep the last run
            policy, policy_s = run(TimedPolicy, {"checkpoint": str(checkpoint)}, loaded, Path(tmp))
            sma, sma_s = run(TimedSmaCross, {}, loaded, Path(tmp))
    print(f"IBM daily sample, {bars} bars, preload on, CPU, torch threads default")
    print(f"policy    next()   {stats(policy.bar_ns)}")
    print(f"            features {stats(policy.feature_ns)}")
    print(f"            forward  {stats(policy.forward_ns)}")
    print(f"sma_cross next()   {stats(sma.bar_ns)}")
    print(
        f"whole run per bar: policy {policy_s / bars * 1e6:.1f} us, sma_cross "
        f"{sma_s / bars * 1e6:.1f} us, ratio {policy_s / sma_s:.1f}x"
    )
    p99 = float(np.percentile(np.array(policy.bar_ns) / 1e6, 99))
    verdict = "OK" if p99 < 2.0 else "OVER"
    print(f"policy p99 decision latency {p99:.3f} ms (target < 2 ms): {verdict}")


if __name__ == "__main__":
    main()
