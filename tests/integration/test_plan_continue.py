"""`run paper --continue`: a plan traded day by day on one account (three runs, one plan file
each, each continuing the run before) ends with the trades, cash and positions of one run over
the three days with the three plans together, on the bundled minute sample, lock-step against
the local venue (alpaca-py over loopback). Brackets carried overnight hit their target, expire
and stay open across the days."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from parity.runners.paper import PaperConfig, run_paper
from parity.runners.paper_continue import DayChanges, continue_paper
from parity.timeframe import parse_timeframe

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(600),
]

HEADER = "date,symbol,side,qty,risk,entry_type,entry,tp,sl,valid_until,max_days,tag,score\n"
DAYS = (dt.date(2013, 10, 7), dt.date(2013, 10, 8), dt.date(2013, 10, 9))
PLANS = (
    # IBM bought on day one is sold on day three (with day two's IBM, at its target); BAC is
    # held through the three days; AIG's limit entry fills and reaches its target on day one;
    # IBM's last row expires overnight and is sold on day three
    "2013-10-07,IBM,long,10,,market,,183.0,181.5,,3,ibm-carried,0.7\n"
    "2013-10-07,BAC,long,100,,market,,14.50,13.50,,5,bac-held,0.6\n"
    "2013-10-07,AIG,long,20,,limit,48.80,49.05,47.50,2013-10-09,,aig-same-day,0.5\n"
    "2013-10-07,IBM,long,5,,market,,190,170,,1,ibm-expires,0.4\n",
    "2013-10-08,IBM,long,10,,market,,181.5,178.0,,2,ibm-next-day,0.8\n"
    "2013-10-08,IBM,long,10,,limit,179.20,181.0,177.0,2013-10-09,,ibm-dip,0.3\n",
    "2013-10-09,AIG,long,20,,market,,48.05,47.10,,1,aig-day-three,0.2\n",
)
SYMBOLS = ("IBM", "BAC", "AIG")


def _config(runs: Path, plan: Path, end: dt.date, run_id: str) -> PaperConfig:
    return PaperConfig(
        strategy="plan",
        params={"plan": str(plan)},
        data="sample:minute",
        symbols=SYMBOLS,
        timeframe=parse_timeframe("1Min"),
        venue="local",
        start=DAYS[0],
        end=end,
        cash=100_000.0,
        commission="0",
        slippage="0",
        runs_dir=runs,
        run_id=run_id,
        daily_reports=False,
    )


def _write(path: Path, rows: str) -> Path:
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def _final(run_dir: Path) -> tuple[pd.DataFrame, float, dict[str, float]]:
    trades = pd.read_csv(run_dir / "trades.csv", keep_default_na=False)
    equity = pd.read_csv(run_dir / "equity.csv")
    journal = sqlite3.connect(run_dir / "journal.sqlite")
    try:
        rows = journal.execute(
            "SELECT symbol, SUM(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills "
            "GROUP BY symbol"
        ).fetchall()
    finally:
        journal.close()
    positions = {s: q for s, q in rows if abs(q) > 1e-9}
    return trades, float(equity["cash"].iloc[-1]), positions


def test_three_days_continued_equal_one_run_over_the_three(tmp_path: Path) -> None:
    plans = [_write(tmp_path / f"plan-{d}.csv", rows) for d, rows in zip(DAYS, PLANS, strict=True)]
    together = _write(tmp_path / "plans.csv", "".join(PLANS))
    one = run_paper(_config(tmp_path / "one", together, DAYS[-1], "one")).run_dir

    runs = tmp_path / "daily"
    first = run_paper(_config(runs, plans[0], DAYS[0], "daily"))
    for day, plan in zip(DAYS[1:], plans[1:], strict=True):
        result = continue_paper(
            runs / "daily", DayChanges(params={"plan": str(plan)}, end=day, strategy="plan")
        )
        assert result.run_id == first.run_id == "daily"

    one_trades, one_cash, one_positions = _final(one)
    day_trades, day_cash, day_positions = _final(runs / "daily")
    assert len(one_trades) == 3
    # the same trades; an entry's reason names its line in the plan file it came from (the
    # three days' rows together in one file for the single run)
    reason = "plan 2013-10-0{} line {}: long {} {} {}, tp {} sl {} ({}, score {})"
    aig = ("AIG", "limit 48.8", "49.05", "47.5", "aig-same-day", "0.5")
    ibm = ("IBM", "market", "183", "181.5", "ibm-carried", "0.7")
    last = ("AIG", "market", "48.05", "47.1", "aig-day-three", "0.2")
    assert one_trades["entry_reason"].tolist() == [
        reason.format(7, 4, 20, *aig), reason.format(7, 2, 10, *ibm),
        reason.format(9, 8, 20, *last),
    ]  # fmt: skip
    assert day_trades["entry_reason"].tolist() == [
        reason.format(7, 4, 20, *aig), reason.format(7, 2, 10, *ibm),
        reason.format(9, 2, 20, *last),
    ]  # fmt: skip
    columns = [c for c in one_trades.columns if c != "entry_reason"]
    pd.testing.assert_frame_equal(one_trades[columns], day_trades[columns])
    assert day_cash == pytest.approx(one_cash, abs=0.005)
    assert day_cash == pytest.approx(98_638.45, abs=0.005)
    assert day_positions == one_positions == {"BAC": 100.0}  # held through the three days
    exits = {
        tag: (entry[:10], leave[:10], reason)
        for tag, entry, leave, reason in zip(
            day_trades["tag"], day_trades["entry_time"], day_trades["exit_time"],
            day_trades["exit_reason"], strict=True,
        )
    }  # fmt: skip
    assert exits == {
        "aig-same-day": ("2013-10-07", "2013-10-07", "target"),
        "ibm-carried": ("2013-10-07", "2013-10-09", "target"),  # carried over two nights
        "aig-day-three": ("2013-10-09", "2013-10-09", "target"),
    }

    # one run id, one journal: every day's decisions in it
    journal = sqlite3.connect(runs / "daily" / "journal.sqlite")
    try:
        ids = {r[0] for r in journal.execute("SELECT id FROM runs")}
        ids |= {r[0] for r in journal.execute("SELECT DISTINCT run_id FROM decisions")}
        decided = journal.execute(
            "SELECT DISTINCT substr(at, 1, 10), json_extract(payload, '$.tag') FROM decisions"
        ).fetchall()
    finally:
        journal.close()
    assert ids == {"daily"}
    by_day: dict[str, set[str]] = {}
    for day, tag in decided:
        by_day.setdefault(day, set()).add(tag)
    assert by_day["2013-10-07"] >= {"ibm-carried", "bac-held", "aig-same-day", "ibm-expires"}
    assert by_day["2013-10-08"] >= {"ibm-next-day", "ibm-dip"}
    assert "aig-day-three" in by_day["2013-10-09"]
