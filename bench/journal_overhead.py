"""Journal overhead: the same sma_cross backtest with and without the run journal.

Both variants run parity's backtest machinery (ArrayFeed, simulated broker, Recorder, metrics,
every artifact written) over the same synthetic 1-minute series, each in its own subprocess,
alternating and repeated; the fastest of each is compared:

  no-journal   the pre-journal `run_backtest`: artifacts written from the recorder's memory
  journal      `parity.runners.backtest.run_backtest`: every equity row, order, order state and
               fill written to `journal.sqlite` (WAL) in batches, artifacts exported from it

Usage: python bench/journal_overhead.py [--bars 200000] [--repeat 2]
Prints seconds per run, the journal's size and rows, and the ratio journal/no-journal
(target <= 1.10).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backtest_throughput import make_series


def _config(path: Path, runs: Path) -> Any:
    from parity.config import BacktestConfig

    return BacktestConfig(
        strategy="sma_cross",
        params={"sizing": "fixed", "size": 100},
        data=str(path),
        symbols=("SYN",),
        cash=100_000.0,
        commission="0",
        slippage="0",
        runs_dir=runs,
    )


def run_without_journal(config: Any) -> Path:
    """`run_backtest` as it was before the journal: frames straight from the recorder (and, as
    it did, Cerebro released and collected before the artifacts are built)."""
    import gc

    from parity.analyzers.ledger import round_trips
    from parity.analyzers.metrics import compute_metrics, daily_returns
    from parity.feeds.loader import load_bars
    from parity.runners.backtest import build_cerebro, run_manifest
    from parity.runstore import RunArtifacts, new_run_id, write_run
    from parity.strategies.params import coerce_params
    from parity.strategies.registry import resolve_strategy

    spec = resolve_strategy(config.strategy)
    params = coerce_params(spec.cls, config.params)
    loaded = load_bars(config.data, config.symbols)
    run_id = new_run_id(spec.name)
    cerebro = build_cerebro(config, spec, params, loaded, {"id_prefix": run_id})
    strategy = cerebro.run()[0]
    recorder = strategy.analyzers.recorder
    daily = loaded.series[0].timeframe.is_daily
    equity = recorder.equity_frame(daily)
    orders, fills = recorder.orders_frame(daily), recorder.fills_frame(daily)
    del cerebro, strategy, recorder
    gc.collect()
    trades = round_trips(fills)
    metrics = compute_metrics(equity, trades, fills, starting_cash=config.cash)
    returns = daily_returns(equity["value"], config.cash)
    run_dir = config.runs_dir / run_id
    manifest = run_manifest(run_id, config, spec, params, loaded)
    write_run(run_dir, RunArtifacts(manifest, metrics, equity, returns, trades, orders, fills))
    return run_dir


def child(variant: str, path: Path) -> None:
    import pandas as pd

    from parity.runners.backtest import run_backtest

    with tempfile.TemporaryDirectory() as runs:
        config = _config(path, Path(runs))
        started = time.perf_counter()
        if variant == "journal":
            run_dir = run_backtest(config).run_dir
        else:
            run_dir = run_without_journal(config)
        seconds = time.perf_counter() - started
        journal = run_dir / "journal.sqlite"
        out = {
            "seconds": seconds,
            "value": float(pd.read_csv(run_dir / "equity.csv")["value"].iloc[-1]),
            "orders": len(pd.read_csv(run_dir / "orders.csv")),
            "journal_mb": journal.stat().st_size / 1e6 if journal.exists() else 0.0,
        }
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--path", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.path))
        return
    results: dict[str, list[dict[str, float]]] = {"no-journal": [], "journal": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SYN.parquet"
        make_series(args.bars).to_parquet(path)
        for _ in range(args.repeat):
            for variant in results:
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", variant, "--path", str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[variant].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"bars: {args.bars:,}  repeats: {args.repeat} (fastest shown, all runs in brackets)")
    best = {}
    for variant, runs in results.items():
        best[variant] = min(runs, key=lambda r: r["seconds"])
        out = best[variant]
        every = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        print(
            f"{variant:<11} {out['seconds']:8.2f} s  ({every})  {args.bars / out['seconds']:9,.0f} "
            f"bars/s  orders {out['orders']:,}  journal {out['journal_mb']:.1f} MB  "
            f"final value {out['value']:,.2f}"
        )
    ratio = best["journal"]["seconds"] / best["no-journal"]["seconds"]
    print(f"journal overhead: {ratio - 1:+.1%}  (ratio {ratio:.3f}, target <= 1.10)")


if __name__ == "__main__":
    main()
