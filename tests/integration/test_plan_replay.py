"""`parity plan replay`: a month of daily plans (a directory of them, or a generator run each
day on the bars up to that day only) on one account, with its summary; bad generators and
plans are one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from plan_series import PLAN, SESSIONS, write_series

from parity.cli import cli

GENERATOR = """
import csv, sys
date, data, out, plan = sys.argv[1:5]
days = [r["datetime"] for r in csv.DictReader(open(f"{data}/ACME.csv"))]
if days[-1][:10] != date:
    sys.exit(f"the data ends {days[-1]}, not {date}")
lines = open(plan).read().splitlines()
with open(out, "w") as f:
    f.write("\\n".join([lines[0], *[l for l in lines[1:] if l.startswith(date)]]) + "\\n")
"""


def replay(root: Path, *extra: str) -> tuple[int, str]:
    args = ["plan", "replay", "--month", "2024-01", "--data", str(root / "daily"), "--symbols",
            "ACME", "--commission", "0", "--slippage", "0", "--runs-dir", str(root / "runs"),
            *extra]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def check_summary(out: str) -> dict:
    run_dir = Path(out.strip().splitlines()[-1].split(" written to ")[1].split(" (")[0])
    summary = json.loads((run_dir / "replay.json").read_text())
    assert summary["trades"] == 4  # target, stop, expiry, ambiguous (stop-first): January's
    assert summary["month_pnl"] == pytest.approx(40 - 100 + 0 - 40)
    assert summary["win_rate"] == pytest.approx(0.25)
    assert summary["plan_rows"] == 4 and summary["ambiguous_exits"] == 1
    days = {d["date"]: d for d in summary["days"]}
    assert len(days) == 21  # January 2024's sessions
    assert days[SESSIONS[4].isoformat()]["pnl"] == pytest.approx(40.0)
    assert days[SESSIONS[8].isoformat()]["pnl"] == pytest.approx(-100.0)
    assert days[SESSIONS[2].isoformat()]["plan_rows"] == 1
    assert "<h1>Plan replay 2024-01</h1>" in (run_dir / "replay.html").read_text()
    assert "month P&L $-100.00 (-0.10%), win rate 25.00%" in out
    return summary


def test_replay_of_a_directory_of_daily_plans(tmp_path: Path) -> None:
    root = write_series(tmp_path)
    plans = root / "plans"
    plans.mkdir()
    header, *rows = PLAN.splitlines()
    for row in rows:
        (plans / f"{row[:10]}.csv").write_text(f"{header}\n{row}\n")
    code, out = replay(root, "--plans", str(plans))
    assert code == 0, out
    check_summary(out)


def test_replay_with_a_generator_that_sees_only_the_bars_up_to_its_day(tmp_path: Path) -> None:
    root = write_series(tmp_path)
    script = root / "make_plan.py"
    script.write_text(GENERATOR)
    command = f"{sys.executable} {script} {{date}} {{data}} {{out}} {root / 'trade_plan.csv'}"
    code, out = replay(root, "--generator", command)
    assert code == 0, out
    check_summary(out)


def test_a_failing_generator_or_a_bad_day_plan_is_one_line(tmp_path: Path) -> None:
    root = write_series(tmp_path)
    code, out = replay(root, "--generator", f"{sys.executable} -c \"import sys; sys.exit('no')\"")
    assert code == 2
    assert out.strip().splitlines()[-1] == f"error: --generator exited 1 for {SESSIONS[0]}: no"
    plans = root / "plans"
    plans.mkdir()
    (plans / f"{SESSIONS[3]}.csv").write_text(PLAN.replace(",long,10,", ",long,-10,", 1))
    code, out = replay(root, "--plans", str(plans))
    assert code == 3
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith(
            f"error: {plans / SESSIONS[3].isoformat()}.csv line 2: qty '-10' must be positive"
        )
    )
    code, out = replay(root)
    assert code == 2 and "give --plans DIR or --generator CMD (one of them)" in out
