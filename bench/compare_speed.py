"""`parity compare` of a long run, before and after the in-memory twins, side by side.

A long "paper run" is made from a backtest of sma_cross on a synthetic 1-minute series (its
equity, orders and fills, a paper manifest on the local venue replaying the same data, and a
`tape.csv` of every bar), so the comparison PASSes and both versions do the same work. Each
version runs `run_compare` on its own copy in a subprocess: "before" is commit `--before`
(default 242e529, the twins through tape.csv -> per-symbol CSVs -> a journaled backtest -> CSVs)
checked out in a temporary git worktree and put first on PYTHONPATH; "after" is this tree.

Usage: python bench/compare_speed.py [--bars 20000] [--before 242e529]
Prints each version's wall and CPU seconds, the ratio, and whether divergence.json is identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
RUN_ID = "paper-long"


def make_bars(bars: int, seed: int = 11) -> pd.DataFrame:
    """Regular-session 1-minute bars (390 a day) of a positive random walk."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.0008, bars)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.0005, bars)) * close
    days = pd.bdate_range("2021-01-04", periods=bars // 390 + 1)
    minutes = pd.timedelta_range("09:30:00", periods=390, freq="min")
    index = (days.values[:, None] + minutes.values[None, :]).ravel()[:bars]
    return pd.DataFrame(
        {
            "datetime": pd.DatetimeIndex(index),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.integers(100, 10_000, bars).astype("float64"),
        }
    )


def make_paper_run(root: Path, bars: int) -> None:
    """A paper run (local venue) whose fills are exactly its backtest's."""
    from parity.config import BacktestConfig
    from parity.runners.backtest import run_backtest

    data = root / "data"
    data.mkdir(parents=True)
    frame = make_bars(bars)
    frame.to_csv(data / "SYN.csv", index=False)
    config = BacktestConfig(
        strategy="sma_cross",
        params={"sizing": "fixed", "size": 100},
        data=str(data),
        symbols=("SYN",),
        commission="0",
        slippage="0",
        adjustment="raw",
        runs_dir=root / "runs",
    )
    run_dir = run_backtest(config, run_id=RUN_ID).run_dir
    (run_dir / "journal.sqlite").unlink(missing_ok=True)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest.update(mode="paper", venue="local")
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    tape = frame.assign(symbol="SYN", source="stream", received_at=frame["datetime"])
    tape["received_at"] = pd.DatetimeIndex(tape["received_at"]).tz_localize("UTC")
    columns = ["symbol", "datetime", "open", "high", "low", "close", "volume", "source",
               "received_at"]  # fmt: skip
    tape[columns].to_csv(run_dir / "tape.csv", index=False)


def child(runs: Path) -> None:
    from parity.runners.compare import CompareConfig, run_compare

    cpu, started = time.process_time(), time.perf_counter()
    result = run_compare(CompareConfig(paper_run=RUN_ID, runs_dir=runs, allow_code_change=True))
    seconds = time.perf_counter() - started
    print(
        json.dumps({"seconds": seconds, "cpu": time.process_time() - cpu, "status": result.status})
    )


def _version(src: Path, runs: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(runs)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bars", type=int, default=20_000)
    parser.add_argument("--before", default="242e529")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child))
        return
    repo = HERE.parent
    with tempfile.TemporaryDirectory(prefix="parity-compare-speed-") as tmp:
        base = Path(tmp) / "tree-before"
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "add", "--detach", str(base), args.before],
            check=True,
            capture_output=True,
        )
        try:
            make_paper_run(Path(tmp) / "made", args.bars)
            results = {}
            for name, src in (("before", base / "src"), ("after", SRC)):
                runs = Path(tmp) / f"runs-{name}"
                shutil.copytree(Path(tmp) / "made" / "runs", runs)
                results[name] = _version(src, runs)
            same = (Path(tmp) / "runs-before" / RUN_ID / "divergence.json").read_bytes() == (
                Path(tmp) / "runs-after" / RUN_ID / "divergence.json"
            ).read_bytes()
        finally:
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )
    print(f"parity compare of a {args.bars:,}-bar paper run (twins on the tape and the history)")
    for name, out in results.items():
        label = f"{name} ({args.before})" if name == "before" else "after (this tree)"
        print(f"{label:<18} {out['seconds']:7.2f} s wall  {out['cpu']:7.2f} s cpu  {out['status']}")
    before, after = results["before"], results["after"]
    print(
        f"speed-up: {before['cpu'] / after['cpu']:.2f}x cpu, "
        f"{before['seconds'] / after['seconds']:.2f}x wall; divergence.json identical: {same}"
    )


if __name__ == "__main__":
    main()
