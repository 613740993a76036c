"""Parameter sweep throughput: Backtrader's `optstrategy` vs `parity optimize` on Dask.

One run, the same grid of sma_cross params over the same synthetic 1-minute bars (NYSE session
minutes: the bars parity keeps for a US symbol, so both engines run every bar):

  backtrader   cerebro.optstrategy(...) with maxcpus = the cores: Backtrader's own process pool,
               PandasData, default stdstats, and the analyzers that give comparable figures
               (SharpeRatio, DrawDown, TradeAnalyzer, Returns)
  parity-1     run_optimize on a LocalCluster of 1 worker process: simulate + every metric per
               trial, the Optuna study in SQLite, trials table, DSR/PBO and the HTML report
  parity-N     the same on N = the cores worker processes

Trials per second are timed from the sweep's start to its results (parity: load, scatter, study,
report; the cluster is started before the clock, and its start-up is printed apart). It also
measures what `docs/scaling.md` uses: the scheduler's overhead per task (no-op tasks through the
same cluster) and the bytes shipped per trial (pickled submission and outcome).

Usage: python bench/sweep_scaling.py [--bars 1000000] [--fast 5,10,15,20] [--slow 50,100]
"""

from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd


def session_minutes(bars: int) -> pd.DatetimeIndex:
    """The first `bars` NYSE regular-session minutes from 2015 on, as New York wall time: the
    bars parity's loader keeps for a US symbol (it drops bars outside the sessions, so a 24/7
    index would give Backtrader about five times the bars parity runs on)."""
    import exchange_calendars as xcals

    calendar = xcals.get_calendar("XNYS", start="2015-01-01")
    minutes = calendar.minutes_in_range(pd.Timestamp("2015-01-02 14:30", tz="UTC"),
                                        calendar.last_minute)  # fmt: skip
    if len(minutes) < bars:
        raise SystemExit(f"--bars {bars}: at most {len(minutes):,} session minutes are available")
    local = minutes[:bars].tz_convert("America/New_York").tz_localize(None)
    return pd.DatetimeIndex(local, name="datetime")


def make_series(bars: int, seed: int = 7) -> pd.DataFrame:
    """A positive random walk of 1-minute OHLCV bars with consistent high/low, in sessions."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.0008, bars)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.0005, bars)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(100, 10_000, bars).astype("float64")
    index = session_minutes(bars)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


class PlainSmaCross(bt.Strategy):  # type: ignore[misc]
    """The same logic as sma_cross with fixed 100-share entries (module level: the pool pickles
    it)."""

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


def run_backtrader(frame: pd.DataFrame, fast: list[int], slow: list[int], cores: int) -> float:
    started = time.perf_counter()
    cerebro = bt.Cerebro(maxcpus=cores)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes), name="SYN")
    cerebro.broker.setcash(100_000.0)
    cerebro.optstrategy(PlainSmaCross, fast=fast, slow=slow)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe")
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(bt.analyzers.Returns, _name="returns")
    results = cerebro.run()
    assert len(results) == len(fast) * len(slow)
    return time.perf_counter() - started


def run_parity(
    path: Path, fast: list[int], slow: list[int], workers: int, days: int
) -> dict[str, Any]:
    from parity.config import BacktestConfig
    from parity.optimize.cluster import dask_client
    from parity.optimize.objective import parse_objective
    from parity.optimize.space import parse_space
    from parity.runners.optimize import Execution, OptimizeConfig, run_optimize

    boot = time.perf_counter()
    with dask_client(workers) as client, tempfile.TemporaryDirectory() as runs:
        client.run(lambda: __import__("parity.engine.simulate"))  # workers import parity first
        boot = time.perf_counter() - boot
        config = OptimizeConfig(
            backtest=BacktestConfig(
                strategy="sma_cross", params={"sizing": "fixed", "size": 100}, data=str(path),
                symbols=("SYN",), commission="0", slippage="0", runs_dir=Path(runs),
            ),
            space=parse_space([f"fast={','.join(map(str, fast))}",
                               f"slow={','.join(map(str, slow))}"]),
            objective=parse_objective("sharpe"),
            execution=Execution(client=client),
        )  # fmt: skip
        load = os.getloadavg()[0]
        started = time.perf_counter()
        result = run_optimize(config)
        seconds = time.perf_counter() - started
        trial = float(result.table["seconds"].mean())  # one trial's wall time on its worker
        assert result.ran == len(fast) * len(slow), result.table
        assert (result.table["state"] == "complete").all(), result.table["error"].tolist()
        overhead = scheduler_overhead(client) if workers > 1 else None
        shipped = shipped_bytes(result, config, days)
    return {
        "seconds": seconds,
        "boot": boot,
        "overhead": overhead,
        "bytes": shipped,
        "trial": trial,
        "busy": trial * len(result.table) / (seconds * workers),
        "load": load,
    }


def parity_bars(path: Path) -> int:
    """How many of the file's bars a parity backtest of SYN runs on."""
    from parity.config import BacktestConfig
    from parity.runners.backtest import backtest_bars
    from parity.strategies.registry import resolve_strategy

    config = BacktestConfig(strategy="sma_cross", data=str(path), symbols=("SYN",))
    return sum(len(s.frame) for s in backtest_bars(config, resolve_strategy("sma_cross")).series)


def scheduler_overhead(client: Any, tasks: int = 2000) -> float:
    """Seconds per no-op task through the cluster (submit, schedule, run, gather), in batches."""
    from distributed import wait

    client.gather(client.map(_noop, range(50), pure=False))  # warm
    started = time.perf_counter()
    futures = client.map(_noop, range(tasks), pure=False)
    wait(futures)
    client.gather(futures)
    return (time.perf_counter() - started) / tasks


def bookkeeping(trials: int = 300) -> float:
    """Seconds of study bookkeeping per trial on the coordinator (choose the next grid point,
    write the outcome to a SQLite study), with outcomes made up: no simulation, no Dask."""
    from parity.analyzers.metrics import METRIC_KEYS
    from parity.optimize.objective import parse_objective
    from parity.optimize.space import parse_space
    from parity.optimize.study import Ledger, StudyPlan, open_study
    from parity.optimize.trial import TrialOutcome

    space = parse_space(["fast=1:1000:1", "slow=1:10:1"])
    plan = StudyPlan("sma_cross", space, parse_objective("sharpe"), (), "grid", 0, {})
    metrics = dict.fromkeys(METRIC_KEYS, 0.1)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(open_study("bench", f"sqlite:///{tmp}/studies.sqlite", plan), plan)
        started = time.perf_counter()
        for _ in range(trials):
            proposal = ledger.propose()
            assert proposal is not None
            trial, params = proposal
            ledger.record(trial, TrialOutcome(params, 0.5, metrics, np.zeros(252), 0.1))
        return (time.perf_counter() - started) / trials


def _noop(i: int) -> int:
    return i


def shipped_bytes(result: Any, config: Any, days: int) -> dict[str, int]:
    """Pickled bytes of one trial's submission (its params: the settings are scattered once per
    worker, as the bars are, and printed apart) and of its outcome (params, objective, metrics,
    `days` daily returns)."""
    from parity.optimize.trial import TrialOutcome
    from parity.runners.optimize import trial_settings

    settings = trial_settings(config.backtest, config.objective)
    best = result.best[0]
    outcome = TrialOutcome(best["params"], 1.0, best["metrics"], np.zeros(days), 0.1)
    return {"submit": len(pickle.dumps(best["params"])), "settings": len(pickle.dumps(settings)),
            "outcome": len(pickle.dumps(outcome)), "days": days}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--fast", default="5,10,15,20")
    parser.add_argument("--slow", default="50,100")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    fast = [int(v) for v in args.fast.split(",")]
    slow = [int(v) for v in args.slow.split(",")]
    trials = len(fast) * len(slow)
    frame = make_series(args.bars)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SYN.parquet"
        frame.to_parquet(path)
        kept = parity_bars(path)
        if kept != args.bars:  # both engines must run the same bars
            raise SystemExit(f"parity's loader keeps {kept:,} of the {args.bars:,} bars")
        print(f"{trials} trials (fast={args.fast} slow={args.slow}) on {args.bars:,} bars, "
              f"{args.cores} cores")  # fmt: skip
        bt_seconds = run_backtrader(frame, fast, slow, args.cores)
        days = frame.index.normalize().nunique()
        one = run_parity(path, fast, slow, 1, days)
        many = run_parity(path, fast, slow, args.cores, days)
    rows = [
        ("backtrader optstrategy", f"maxcpus={args.cores}", bt_seconds, None),
        ("parity optimize", "1 worker", one["seconds"], one["boot"]),
        ("parity optimize", f"{args.cores} workers", many["seconds"], many["boot"]),
    ]
    base = trials / bt_seconds
    print(f"{'contender':24} {'on':12} {'seconds':>8} {'trials/s':>9} {'vs bt':>7} {'boot s':>7}")
    for name, on, seconds, boot in rows:
        rate = trials / seconds
        boot_text = "-" if boot is None else f"{boot:.1f}"
        print(f"{name:24} {on:12} {seconds:8.1f} {rate:9.3f} {rate / base:6.2f}x {boot_text:>7}")
    print(f"parity {args.cores} workers vs 1 worker: {one['seconds'] / many['seconds']:.2f}x")
    # where the time went: a trial on its worker, the share of the sweep the workers were busy
    # (the rest is the coordinator: loading, scattering, the study, the report), and the load
    # average when the sweep began (the machine may be shared: a trial that takes longer on 2
    # workers than on 1 lost CPU to other processes, not to parity)
    for label, run in (("1 worker", one), (f"{args.cores} workers", many)):
        print(
            f"parity {label}: {run['trial']:.2f} s a trial on its worker, workers busy "
            f"{run['busy']:.0%} of the sweep, load average {run['load']:.1f} at its start"
        )
    print(f"study bookkeeping per trial (SQLite, coordinator): {bookkeeping() * 1e3:.1f} ms")
    if many["overhead"] is not None:
        print(f"scheduler overhead per task: {many['overhead'] * 1e3:.2f} ms "
              f"(no-op tasks, {args.cores} workers)")  # fmt: skip
    shipped = one["bytes"]
    print(f"bytes per trial: submit {shipped['submit']:,}, outcome {shipped['outcome']:,} "
          f"(with {shipped['days']:,} daily returns); the settings ({shipped['settings']:,}) "
          f"and the bars ({int(frame.memory_usage().sum()):,} bytes in memory) go to each "
          "worker once"
    )  # fmt: skip


if __name__ == "__main__":
    main()
