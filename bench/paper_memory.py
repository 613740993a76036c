"""Memory of a long paper rehearsal: this version beside a previous one, in one run.

Runs `parity run paper sma_cross --venue local --speed max` (lock-step, the local venue in the
same process) on a seeded synthetic 1-minute series (`--bars`, 20,280 by default: 52 sessions
of 390 bars) once with this checkout's `src` and once with a `git worktree` of `--previous`
(each in its own subprocess, `PYTHONPATH` pointing at its `src`). Each child samples the Python
heap (`tracemalloc`, after a `gc.collect()`) when the strategy has processed 25/50/75/100 % of
the bars; the table shows both side by side with their ratio, and the slope in bytes per bar
(least squares over the four samples).

Usage: python bench/paper_memory.py [--bars 20280] [--previous 242e529]

It also reports the heap without what was allocated in `parity/venue/` (the in-process local
venue's own order book and fills: the venue's record, which a remote Alpaca keeps on its side).

Measured (2 shared cores): 20,280 bars, 46.55 MB at the end vs 58.75 MB (ratio 1.26), slope
201 bytes/bar vs 847. Again after the instrument work, against main 9f8d7e6 (no broker core):
51.37 MB vs 63.61 MB (ratio 1.24), slope 200 bytes/bar vs 850; without the venue's record
149 bytes/bar vs 799 (the venue's record: 51 bytes/bar). What still grows beside the venue is
mostly Backtrader lines until they reach their 2,000-bar window.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKS = (0.25, 0.5, 0.75, 1.0)


def synthetic_minutes(directory: Path, bars: int, seed: int = 14) -> Path:
    """`bars` seeded random-walk 1-minute bars of IBM, 09:30-15:59 New York on weekdays."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2024-01-02", periods=bars // 390 + 1)
    stamps = [d + pd.Timedelta(minutes=570 + m) for d in days for m in range(390)][:bars]
    close = 150.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, len(stamps))))
    opens = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.0005, len(stamps))) * close
    frame = pd.DataFrame(
        {
            "datetime": stamps,
            "open": opens.round(2),
            "high": (np.maximum(opens, close) + spread).round(2),
            "low": (np.minimum(opens, close) - spread).round(2),
            "close": close.round(2),
            "volume": rng.integers(1_000, 50_000, len(stamps)),
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    frame.to_csv(directory / "IBM.csv", index=False)
    return directory


def child(data: Path, runs: Path, bars: int) -> None:
    """In the subprocess: run the rehearsal, print the samples as JSON on the last line."""
    import gc
    import tracemalloc

    from parity.analyzers.recorder import Recorder
    from parity.cli import cli

    marks = [int(bars * m) for m in MARKS]
    samples: dict[int, int] = {}
    venue: dict[int, int] = {}
    seen = [0]
    original = Recorder.next

    def counted(self: Recorder) -> None:
        original(self)
        seen[0] += 1
        if seen[0] in marks:
            gc.collect()
            samples[seen[0]] = tracemalloc.get_traced_memory()[0]
            # what the in-process local venue allocated (its order book and fills: the venue's
            # record, which a remote Alpaca keeps on its side), by the allocating line
            snapshot = tracemalloc.take_snapshot().filter_traces([
                tracemalloc.Filter(True, f"*{os.sep}parity{os.sep}venue{os.sep}*")
            ])  # fmt: skip
            venue[seen[0]] = sum(stat.size for stat in snapshot.statistics("filename"))

    Recorder.next = counted  # type: ignore[method-assign]
    tracemalloc.start()
    args = ["run", "paper", "sma_cross", "--venue", "local", "--speed", "max",
            "--data", str(data), "--symbols", "IBM", "--runs-dir", str(runs),
            "--commission", "0.005/share", "-p", "fast=5", "-p", "slow=20",
            "--no-daily-reports"]  # fmt: skip
    try:
        cli.main(args=args, prog_name="parity", standalone_mode=False)
    finally:
        tracemalloc.stop()
    print(json.dumps({"bars": seen[0], "samples": samples, "venue": venue}))


def measure(src: Path, data: Path, runs: Path, bars: int) -> tuple[dict[int, int], dict[int, int]]:
    """The heap at each mark: in all, and the part the in-process venue allocated."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(data), str(runs),
         str(bars)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"rehearsal with {src} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    total = {int(k): int(v) for k, v in result["samples"].items()}
    return total, {int(k): int(v) for k, v in result["venue"].items()}


def slope(samples: dict[int, int]) -> float:
    x = np.array(sorted(samples), dtype=float)
    y = np.array([samples[int(k)] for k in x], dtype=float)
    return float(np.polyfit(x, y, 1)[0]) if len(x) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=20_280)
    parser.add_argument("--previous", default="242e529")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        data, runs, bars = args.child
        child(Path(data), Path(runs), int(bars))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = synthetic_minutes(root / "data", args.bars)
        previous = root / "previous"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(previous), args.previous],
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            now, now_venue = measure(REPO / "src", data, root / "runs-now", args.bars)
            before, before_venue = measure(previous / "src", data, root / "runs-before", args.bars)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(previous)],
                check=False, capture_output=True,
            )  # fmt: skip
    print(
        f"paper rehearsal, {args.bars:,} 1-minute bars, sma_cross 5/20, Python heap (tracemalloc)"
    )
    print(f"{'bars':>8} {'this (MB)':>10} {args.previous + ' (MB)':>14} {'ratio':>6}")
    for bar in sorted(now):
        ratio = before[bar] / now[bar] if now[bar] else float("nan")
        print(f"{bar:>8,} {now[bar] / 1e6:>10.2f} {before[bar] / 1e6:>14.2f} {ratio:>6.2f}")
    print(f"slope (bytes/bar): this {slope(now):,.0f}, {args.previous} {slope(before):,.0f}")
    run_now = {bar: now[bar] - now_venue[bar] for bar in now}
    run_before = {bar: before[bar] - before_venue[bar] for bar in before}
    print("without the in-process venue's own record (allocated in parity/venue/):")
    for bar in sorted(run_now):
        print(f"{bar:>8,} {run_now[bar] / 1e6:>10.2f} {run_before[bar] / 1e6:>14.2f}")
    print(
        f"slope (bytes/bar): this {slope(run_now):,.0f}, {args.previous} "
        f"{slope(run_before):,.0f}; the venue's record: this {slope(now_venue):,.0f}"
    )


if __name__ == "__main__":
    main()
