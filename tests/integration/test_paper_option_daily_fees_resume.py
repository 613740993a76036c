"""`--resume` across a session close with Alpaca's daily fee rows (`--venue-option-reg-fees
--venue-option-fee-report daily`): the run is SIGKILLed as its desk is about to book the
second FEE row of a day (the venue closed the session and charged the day's rows; the run
has booked one of them), then resumed. It ends with the fills, fee rows and cash of the same
run never killed: the row booked before the crash is not booked again, the two charged while
it was down are booked once. The harness is `test_paper_options_resume`'s."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_paper_options_resume import CHILD, WINDOW, _assert_same_run, _csv, _run

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(900)]

FEE_CHILD = CHILD.replace(
    "from parity.cli import main",
    'if kind == "fee":\n'
    "    from parity.venues.alpaca.option_settle import VenueSettlements\n"
    '    die_on(VenueSettlements, "book_fee")\n'
    "from parity.cli import main",
)


def _command(tmp: Path, *args: str) -> list[str]:
    child = tmp / "child.py"
    child.write_text(FEE_CHILD)
    return [sys.executable, str(child), *args]


def _start(tmp: Path, run_id: str) -> list[str]:
    return _command(
        tmp, "run", "paper", "put_credit_spread", "--venue", "local", "--symbols", "IBM",
        "--data", "sample:daily", "--timeframe", "1Day", *WINDOW, "--cash", "100000",
        "--commission", "0", "--slippage", "0", "--no-daily-reports",
        "--option-fees", "--venue-option-reg-fees",
        "--venue-option-fee-report", "daily",
        "--run-id", run_id, "--runs-dir", str(tmp / "runs"),
    )  # fmt: skip


def _booked(run: Path) -> list[dict[str, object]]:
    with sqlite3.connect(run / "journal.sqlite") as conn:
        rows = conn.execute("SELECT payload FROM events WHERE kind = 'option_book'").fetchall()
    return [p["fee"] for p in (json.loads(r) for (r,) in rows) if p["op"] == "fee"]


def test_a_kill_across_a_close_books_each_daily_fee_row_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    alone = _run(_start(tmp_path / "a", "alone"))
    assert alone.returncode == 0, alone.stderr[-3000:]
    expected = tmp_path / "a" / "runs" / "alone"
    fees = _csv(expected, "options_fills.csv")
    fees = fees[fees["kind"] == "fee"]
    assert len(fees) >= 9 and set(fees["symbol"]) == {"ORF", "OCC", "TAF"}

    tmp = tmp_path / "k"
    tmp.mkdir()
    crashed = _run(_start(tmp, "k"), "fee:2")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    run = tmp / "runs" / "k"
    assert len(_booked(run)) == 1  # one row of the day booked, two charged but not
    resumed = _run(_command(tmp, "run", "paper", "--resume", "k", "--runs-dir", str(tmp / "runs")))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "charged while the run was down" in resumed.stderr + resumed.stdout
    _assert_same_run(run, expected)
    booked = _booked(run)
    assert len(booked) == len({b["id"] for b in booked}) == len(fees)
    got = _csv(run, "options_fills.csv")
    pd.testing.assert_frame_equal(
        got[got["kind"] == "fee"].reset_index(drop=True), fees.reset_index(drop=True)
    )
