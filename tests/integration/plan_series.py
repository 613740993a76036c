"""A constructed daily series (and hourly bars under it) where each plan outcome happens once.

Every bar is O=C=100, H=101, L=99 except the ones listed in `SPECIAL`; the plan `PLAN` places
one row before each scenario. Costs are off in the tests that use it, so every price is exact.

| row | placed | entry fills | then | outcome |
|---|---|---|---|---|
| 2 | s2 | s3 open 100 | s4 high 105 | target 104 |
| 3 | s6 (risk 0.001: 25 shares) | s7 open 100 | s8 low 95 | stop 96 |
| 4 | s10 (max_days 3) | s11 open 100 | nothing | expiry: exits off at s13, sold at s15's open |
| 5 | s17 | s18 open 100 | s19 high 105 and low 95 | ambiguous |
| 6 | s21 limit 90 (valid_until s24) | never | - | entry expires unfilled |
| 7 | s26 stop entry 101.5 | s27 (gap up to open 102) | s28 high 106 | target 105 via the oco pair |
| 8 | s30 stop entry 101.5 | s31 open 102 | s32 high 106, low 97 | ambiguous oco pair |
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import exchange_calendars as xcals

SESSIONS = [
    s.date() for s in xcals.get_calendar("XNYS").sessions_in_range("2024-01-02", "2024-03-28")
]
FLAT = (100.0, 101.0, 99.0, 100.0)
SPECIAL = {
    4: (100.0, 105.0, 99.0, 100.0),
    8: (100.0, 101.0, 95.0, 100.0),
    19: (100.0, 105.0, 95.0, 100.0),
    27: (102.0, 103.0, 101.0, 102.0),
    28: (102.0, 106.0, 101.0, 102.0),
    31: (102.0, 103.0, 101.0, 102.0),
    32: (102.0, 106.0, 97.0, 102.0),
}
# the ambiguous day's hours: the first reaches the take-profit, a later one the stop-loss
AMBIGUOUS_HOURS = [
    (100.0, 105.0, 99.5, 101.0),
    (101.0, 101.5, 97.0, 98.0),
    (98.0, 99.0, 95.0, 97.0),
    (97.0, 100.0, 96.5, 99.0),
    (99.0, 100.5, 98.5, 100.0),
    (100.0, 100.5, 99.5, 100.0),
    (100.0, 100.2, 99.8, 100.0),
]
# the same day with the stop-loss reached first
HOURLY_STOP_FIRST = [
    AMBIGUOUS_HOURS[2],
    AMBIGUOUS_HOURS[1],
    AMBIGUOUS_HOURS[0],
    *AMBIGUOUS_HOURS[3:],
]


def s(i: int) -> str:
    return SESSIONS[i].isoformat()


PLAN = (
    "date,symbol,side,qty,risk,entry_type,entry,tp,sl,valid_until,max_days,tag,score\n"
    f"{s(2)},ACME,long,10,,market,,104,96,,,target-row,0.9\n"
    f"{s(6)},ACME,long,,0.001,market,,104,96,,,stop-row,0.1\n"
    f"{s(10)},ACME,long,10,,market,,104,96,,3,expiry-row,0.5\n"
    f"{s(17)},ACME,long,10,,market,,104,96,,,ambiguous-row,0.6\n"
    f"{s(21)},ACME,long,10,,limit,90,95,85,{s(24)},,never-row,0.2\n"
    f"{s(26)},ACME,long,10,,stop,101.5,105,98,,,stop-entry-row,0.4\n"
    f"{s(30)},ACME,long,10,,stop,101.5,105,98,,,oco-ambiguous-row,0.3\n"
)

# each row's entry reason (`PlanRow.reason`): the row it executes, as `trades.csv` shows it
ENTRY_REASONS = {
    "target-row": f"plan {s(2)} line 2: long 10 ACME market, tp 104 sl 96 (target-row, score 0.9)",
    "stop-row": f"plan {s(6)} line 3: long 25 ACME market, tp 104 sl 96 (stop-row, score 0.1)",
    "expiry-row": f"plan {s(10)} line 4: long 10 ACME market, tp 104 sl 96 (expiry-row, score 0.5)",
    "ambiguous-row": (
        f"plan {s(17)} line 5: long 10 ACME market, tp 104 sl 96 (ambiguous-row, score 0.6)"
    ),
    "stop-entry-row": (
        f"plan {s(26)} line 7: long 10 ACME stop 101.5, tp 105 sl 98 (stop-entry-row, score 0.4)"
    ),
    "oco-ambiguous-row": (
        f"plan {s(30)} line 8: long 10 ACME stop 101.5, tp 105 sl 98 (oco-ambiguous-row, score 0.3)"
    ),
}


def write_series(root: Path, *, hours: list[tuple[float, ...]] = AMBIGUOUS_HOURS) -> Path:
    """`root/daily/ACME.csv`, `root/hourly/ACME.csv` (every session's seven hours: flat, the
    ambiguous day's as given) and `root/trade_plan.csv`; returns `root`."""
    (root / "daily").mkdir(parents=True, exist_ok=True)
    (root / "hourly").mkdir(parents=True, exist_ok=True)
    daily = ["date,open,high,low,close,volume"]
    hourly = ["datetime,open,high,low,close,volume"]
    for i, day in enumerate(SESSIONS[:34]):
        o, h, lo, c = SPECIAL.get(i, FLAT)
        daily.append(f"{day},{o},{h},{lo},{c},1000000")
        bars = hours if i == 19 else [(o, h, lo, c)] * 7
        for k, (ho, hh, hl, hc) in enumerate(bars):
            start = dt.datetime.combine(day, dt.time(9, 30)) + dt.timedelta(hours=k)
            hourly.append(f"{start:%Y-%m-%d %H:%M:%S},{ho},{hh},{hl},{hc},100000")
    (root / "daily" / "ACME.csv").write_text("\n".join(daily) + "\n")
    (root / "hourly" / "ACME.csv").write_text("\n".join(hourly) + "\n")
    (root / "trade_plan.csv").write_text(PLAN)
    return root


def paper_plan_run(tmp_path: Path, run_id: str, ambiguous: str) -> Any:
    """A lock-step daily rehearsal of `PLAN` on the local venue, frictionless, into
    `tmp_path/runs` (what the reasons tests of compare and the dashboard read)."""
    from parity.runners.paper import PaperConfig, run_paper
    from parity.timeframe import parse_timeframe

    root = write_series(tmp_path)
    return run_paper(
        PaperConfig(
            strategy="plan", params={"plan": str(root / "trade_plan.csv")},
            data=str(root / "daily"), symbols=("ACME",), commission="0", slippage="0",
            start=SESSIONS[0], end=SESSIONS[33], ambiguous=ambiguous, cash=100_000.0,
            venue="local", timeframe=parse_timeframe("1Day"), runs_dir=tmp_path / "runs",
            run_id=run_id, daily_reports=False,
        )
    )  # fmt: skip
