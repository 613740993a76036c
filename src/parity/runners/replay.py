"""`parity plan replay`: a month of daily plans on one account.

Each trading day's plan comes from `--plans DIR` (`DIR/YYYY-MM-DD.csv`; a day without one
trades no new rows) or from `--generator CMD`, run once per day with `{date}`, `{out}` (where
it writes the plan) and `{data}` (a directory of `SYMBOL.csv` holding the bars up to that day
only, so a generator cannot look ahead). Every plan is validated (its file named in any
error); the rows are placed on the day they are dated, so one backtest through the month's
sessions on one account trades them day by day exactly as a run continued each morning would.
The summary (`replay.json`, `replay.html` in the run directory) has per-day and month P&L,
trades, win rate, maximum drawdown and CAGR.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from parity.config import BacktestConfig
from parity.errors import ConfigError, DataError
from parity.feeds.loader import load_bars
from parity.reports.replay import replay_html, replay_summary
from parity.runners.backtest import run_backtest
from parity.runners.plan import month_bounds
from parity.strategies.plan_file import COLUMNS, read_plan


@dataclass(frozen=True)
class ReplayResult:
    run_id: str
    run_dir: Path
    summary: dict[str, Any]


def _sessions(config: BacktestConfig, first: dt.date, last: dt.date) -> list[dt.date]:
    loaded = load_bars(config.data, config.symbols, start=first, end=last)
    days = sorted({d for s in loaded.series for d in s.frame.index.date})
    if not days:
        raise DataError(f"{config.data} has no bars in {first:%Y-%m}; pick a month it covers")
    return days


def _generate(command: str, day: dt.date, out: Path, data_dir: Path) -> None:
    args = [a.format(date=day.isoformat(), out=str(out), data=str(data_dir))
            for a in shlex.split(command)]  # fmt: skip
    if args and args[0] == "parity":  # this parity, whatever `parity` is on PATH
        args[:1] = [sys.executable, "-c", "from parity.cli import main; main()"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"--generator failed for {day}: {exc}; check the command") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"--generator exited {done.returncode} for {day}: {last}")
    if not out.is_file():
        raise ConfigError(f"--generator wrote no plan for {day} at {out}; use {{out}} in it")


def _bars_up_to(config: BacktestConfig, day: dt.date, into: Path) -> Path:
    """The run's bars up to `day` as `into/SYMBOL.csv` (what a generator may read that day)."""
    loaded = load_bars(config.data, config.symbols, end=day, adjustment=config.adjustment)
    into.mkdir(parents=True, exist_ok=True)
    for series in loaded.series:
        series.frame.to_csv(into / f"{series.symbol}.csv", index_label="datetime")
    return into


def collect_plans(
    config: BacktestConfig,
    days: Sequence[dt.date],
    *,
    plans_dir: Path | None,
    generator: str | None,
    work: Path,
) -> tuple[Path, dict[str, int]]:
    """One plan file of every day's validated rows (in `work`), and the rows per day."""
    if (plans_dir is None) == (generator is None):
        raise ConfigError("give --plans DIR or --generator CMD (one of them)")
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for day in days:
        if plans_dir is not None:
            path = plans_dir / f"{day.isoformat()}.csv"
            if not path.is_file():
                counts[day.isoformat()] = 0
                continue
        else:
            assert generator is not None
            path = work / "plans" / f"{day.isoformat()}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            _generate(generator, day, path, _bars_up_to(config, day, work / "data" / str(day)))
        found = read_plan(path, symbols=config.symbols, allow_empty=True)  # (a header: no trade)
        late = [r for r in found if r.date > day]
        if late:
            raise DataError(
                f"{path} line {late[0].line}: date {late[0].date} is after the plan's day {day}; "
                "a day's plan holds rows of that day or earlier"
            )
        counts[day.isoformat()] = len(found)
        rows.extend({**r.record(), "date": max(r.date, day).isoformat()} for r in found)
    merged = work / "plan.csv"
    with merged.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(
            out, fieldnames=list(COLUMNS), lineterminator="\n", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    return merged, counts


def replay_month(
    config: BacktestConfig,
    month: str,
    *,
    plans_dir: Path | None = None,
    generator: str | None = None,
) -> ReplayResult:
    """Replay `month` (YYYY-MM) of daily plans on one account; writes the run and its summary."""
    first, last = month_bounds(month)
    days = _sessions(config, first, last)
    with tempfile.TemporaryDirectory(prefix="parity-replay-") as tmp:
        work = Path(tmp)
        merged, counts = collect_plans(
            config, days, plans_dir=plans_dir, generator=generator, work=work
        )
        if not sum(counts.values()):
            raise DataError(f"no plan rows for any session of {month}; check --plans/--generator")
        run_config = replace(
            config, strategy="plan", params={"plan": str(merged)}, start=first, end=last
        )
        result = run_backtest(run_config)
        kept = result.run_dir / "plan.csv"
        kept.write_bytes(merged.read_bytes())  # the plan the run traded, kept with it
    equity = pd.read_csv(result.run_dir / "equity.csv", index_col=0, parse_dates=True)
    trades = pd.read_csv(result.run_dir / "trades.csv")
    summary = replay_summary(
        month=month, run_id=result.run_id, equity=equity, trades=trades,
        metrics=result.metrics, starting_cash=config.cash, plans=counts,
    )  # fmt: skip
    (result.run_dir / "replay.json").write_text(json.dumps(summary, indent=2) + "\n")
    (result.run_dir / "replay.html").write_text(replay_html(summary), encoding="utf-8")
    return ReplayResult(result.run_id, result.run_dir, summary)
