"""`run paper --continue` of a plan on daily bars at the local venue (lock-step, alpaca-py over
loopback): a run through eleven sessions, continued one session at a time for four sessions
(a bracket carried open, then expiring, then sold; these days have no plan of their own: each
goes on with the plan it has, none of whose rows is placed twice) and then to the end with the
rest of the plan, ends with the trades (reasons included), cash and positions of one run over
all the sessions.

A continued run reads its warm-up and the previous day's last bar again from the venue's
history; a venue replaying daily bars has no minutes, so the client reads its daily bars
(`AlpacaLiveFeed._history`)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from plan_series import ENTRY_REASONS, PLAN, SESSIONS, write_series

from parity.runners.paper import PaperConfig, resume_paper, run_paper
from parity.runners.paper_continue import DayChanges, continue_paper
from parity.timeframe import parse_timeframe

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(600)]

# the sessions each run ends with: the first run, four single sessions, then the rest
ENDS = (11, 12, 13, 14, 15, 33)


def _config(root: Path, runs: Path, plan: Path, end: int, run_id: str) -> PaperConfig:
    return PaperConfig(
        strategy="plan", params={"plan": str(plan)}, data=str(root / "daily"), symbols=("ACME",),
        commission="0", slippage="0", start=SESSIONS[0], end=SESSIONS[end], cash=100_000.0,
        venue="local", timeframe=parse_timeframe("1Day"), runs_dir=runs, run_id=run_id,
        daily_reports=False,
    )  # fmt: skip


def _plans(root: Path) -> list[Path | None]:
    """One plan file per run: the rows dated in its sessions (a cron job's plan of the day);
    None for a run with none (it goes on with the plan it has: no row placed twice)."""
    header, *rows = PLAN.splitlines()
    plans: list[Path | None] = []
    first = 0
    for number, end in enumerate(ENDS):
        mine = [
            r for r in rows if SESSIONS[first] <= dt.date.fromisoformat(r[:10]) <= SESSIONS[end]
        ]
        path = root / f"plan-{number}.csv"
        path.write_text("\n".join([header, *mine]) + "\n")
        plans.append(path if mine else None)
        first = end + 1
    return plans


def _final(run_dir: Path) -> tuple[pd.DataFrame, float, dict[str, float]]:
    trades = pd.read_csv(run_dir / "trades.csv", keep_default_na=False)
    cash = float(pd.read_csv(run_dir / "equity.csv")["cash"].iloc[-1])
    with sqlite3.connect(run_dir / "journal.sqlite") as journal:
        rows = journal.execute(
            "SELECT symbol, SUM(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills "
            "GROUP BY symbol"
        ).fetchall()
    return trades, cash, {s: q for s, q in rows if abs(q) > 1e-9}


def test_daily_sessions_continued_one_by_one_equal_one_run(tmp_path: Path) -> None:
    root = write_series(tmp_path)
    one = run_paper(_config(root, tmp_path / "one", root / "trade_plan.csv", 33, "one")).run_dir
    plans = _plans(tmp_path)
    runs = tmp_path / "daily"
    assert plans[0] is not None and plans[1:5] == [None] * 4 and plans[5] is not None
    run_paper(_config(root, runs, plans[0], ENDS[0], "day"))
    for plan, end in zip(plans[1:], ENDS[1:], strict=True):
        params = {} if plan is None else {"plan": str(plan)}
        result = continue_paper(
            runs / "day", DayChanges(params=params, end=SESSIONS[end], strategy="plan")
        )
        assert result.run_id == "day"

    one_trades, one_cash, one_positions = _final(one)
    day_trades, day_cash, day_positions = _final(runs / "day")
    assert len(one_trades) == 6
    # the same trades; an entry's reason names its row's line in the plan file it came from
    # (the last run's file holds the last three rows only)
    assert one_trades["entry_reason"].tolist() == [ENTRY_REASONS[t] for t in one_trades["tag"]]
    lines = {"ambiguous-row": (5, 2), "stop-entry-row": (7, 4), "oco-ambiguous-row": (8, 5)}
    wanted = [
        ENTRY_REASONS[t].replace(f" line {lines[t][0]}:", f" line {lines[t][1]}:")
        if t in lines
        else ENTRY_REASONS[t]
        for t in one_trades["tag"]
    ]
    assert day_trades["entry_reason"].tolist() == wanted
    columns = [c for c in one_trades.columns if c != "entry_reason"]
    pd.testing.assert_frame_equal(day_trades[columns], one_trades[columns])
    assert day_cash == pytest.approx(one_cash, abs=0.005)
    assert day_positions == one_positions == {}
    # the expiry row (placed on session 10, exits cancelled at 13, sold at 15's open) was
    # carried across four continued runs
    expiry = day_trades[day_trades["tag"] == "expiry-row"].iloc[0]
    assert (expiry["entry_time"][:10], expiry["exit_time"][:10], expiry["exit_reason"]) == (
        SESSIONS[11].isoformat(), SESSIONS[15].isoformat(), "expiry"
    )  # fmt: skip
    equity = pd.read_csv(runs / "day" / "equity.csv")
    assert len(equity) == 34 and equity["datetime"].is_unique  # each session recorded once


def test_a_continued_day_that_crashes_is_resumed_with_that_days_plan(tmp_path: Path) -> None:
    """The continued run's configuration (its new plan, its end) is recorded when it starts: a
    crash of it (here: the first bar not yet processed) is resumed with that day's plan, not
    the day before's, and ends as one run."""
    root = write_series(tmp_path)
    one = run_paper(_config(root, tmp_path / "one", root / "trade_plan.csv", 33, "one")).run_dir
    header, *rows = PLAN.splitlines()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("\n".join([header, *rows[:4]]) + "\n")  # sessions 2..17
    second.write_text("\n".join([header, *rows[4:]]) + "\n")  # sessions 21..30
    runs = tmp_path / "daily"
    run_paper(_config(root, runs, first, 20, "day"))

    def crash(message: str) -> None:
        if message.startswith("reconciliation"):
            raise RuntimeError("the machine went down")

    with pytest.raises(RuntimeError, match="went down"):
        continue_paper(
            runs / "day",
            DayChanges(params={"plan": str(second)}, end=SESSIONS[33], strategy="plan"),
            notify=crash,
        )
    resume_paper(runs / "day")

    one_trades, one_cash, _ = _final(one)
    day_trades, day_cash, _ = _final(runs / "day")
    columns = [c for c in one_trades.columns if c != "entry_reason"]
    pd.testing.assert_frame_equal(day_trades[columns], one_trades[columns])
    assert day_trades["tag"].tolist()[-2:] == ["stop-entry-row", "oco-ambiguous-row"]
    assert day_trades["entry_reason"].iloc[-1] == ENTRY_REASONS["oco-ambiguous-row"].replace(
        " line 8:", " line 4:"
    )  # from the second day's plan
    assert day_cash == pytest.approx(one_cash, abs=0.005)
