"""Options runs the reports, dashboard and alerts tests share:

- `combo_paper_run`: the bundled `put_credit_spread` rehearsed on the local venue (alpaca-py's
  clients over loopback) from 2012-01-03 to 2012-03-02 on the IBM sample, with the venue's fault
  plan rejecting its first combo (`optalerts-000001`); its other combos fill, expire, and one is
  assigned (2012-02-29);
- `put_backtest`: the bundled `protective_put` backtest to 2012-05-10, which ends holding a put
  (Greeks per position);
- `write_assumptions`: an assumptions table in the format `parity compare` writes for options
  (`RUN/compare/assumptions.csv`), with constructed values chosen to show every verdict
  (`test_option_compare` reads the real compare's file through the same reader)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from parity.config import BacktestConfig
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe
from parity.venue.config import FaultPlan

RUN_ID = "optalerts"
REJECTED = f"{RUN_ID}-000001"
VENUE_MESSAGE = "venue: rejected: rejected by the venue's fault plan (reject_orders)"
ASSUMPTIONS = pd.DataFrame(
    [
        ("spread", 0.03, 0.05, 0.04, 0.05, 0.06, 56, 0.6667, "concerning"),
        ("slippage", 0.005, 0.0055, 0.004, 0.0055, 0.007, 56, 0.1, "excellent"),
        ("fees per contract", 0.65, 0.65, 0.65, 0.65, 0.65, 56, 0.0, "excellent"),
        ("execution rate", 1.0, 0.96, None, None, None, 29, -0.04, "excellent"),
        ("win rate", 0.638, 0.45, None, None, None, 28, -0.2947, "acceptable"),
        ("daily P&L", 341.77, 180.2, -120.5, 150.0, 420.0, 42, -0.4727, "acceptable"),
        ("days traded", 30, 28, None, None, None, 28, -0.0667, "excellent"),
    ],
    columns=["item", "assumed", "measured", "p10", "p50", "p90", "n", "deviation", "verdict"],
)


def combo_paper_run(root: Path) -> Path:
    config = PaperConfig(
        strategy="put_credit_spread",
        symbols=("IBM",),
        data="sample:daily",
        commission="0",
        slippage="0",
        cash=100_000.0,
        start=dt.date(2012, 1, 3),
        end=dt.date(2012, 3, 2),
        venue="local",
        timeframe=parse_timeframe("1Day"),
        run_id=RUN_ID,
        faults=FaultPlan(reject_orders=(REJECTED,)),
        runs_dir=root,
    )
    return run_paper(config).run_dir


def put_backtest(root: Path) -> Path:
    config = BacktestConfig(
        strategy="protective_put",
        symbols=("IBM",),
        data="sample:daily",
        commission="0",
        cash=100_000.0,
        start=dt.date(2012, 1, 3),
        end=dt.date(2012, 5, 10),
        runs_dir=root,
    )
    return run_backtest(config).run_dir


def write_assumptions(run_dir: Path) -> pd.DataFrame:
    (run_dir / "compare").mkdir(exist_ok=True)
    ASSUMPTIONS.to_csv(run_dir / "compare" / "assumptions.csv", index=False)
    return ASSUMPTIONS
