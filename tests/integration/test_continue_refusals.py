"""`run paper --continue RUN` refuses, in one line naming the run and the fix, a run it cannot
continue: unknown, crashed (use --resume), still being written, another strategy or venue; and
`--resume` on a cleanly stopped run points to `--continue`. A daily run on the local venue,
once refused, is continued."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.journal.lock import lock_run

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(300),
]

PLAN = (
    "date,symbol,side,qty,risk,entry_type,entry,tp,sl,valid_until,max_days,tag,score\n"
    "2012-09-05,AAPL,long,10,,market,,700,600,,5,refusal-row,0.5\n"
)


def _paper(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["run", "paper", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("refusals")
    plan = root / "plan.csv"
    plan.write_text(PLAN, encoding="utf-8")
    code, out = _paper(
        "plan", "--venue", "local", "--data", "sample", "--timeframe", "1Day",
        "--symbols", "AAPL", "--from", "2012-09-04", "--to", "2012-09-06",
        "--param", f"plan={plan}", "--run-id", "day-one", "--runs-dir", str(root / "runs"),
        "--no-daily-reports",
    )  # fmt: skip
    assert code == 0, out
    return root / "runs", plan


def _continue(runs: Path, plan: Path, *extra: str, strategy: str = "plan") -> tuple[int, str]:
    return _paper(
        strategy, "--param", f"plan={plan}", "--to", "2012-09-07", "--runs-dir", str(runs),
        *extra,
    )  # fmt: skip


def _last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_an_unknown_run_is_refused(stopped: tuple[Path, Path]) -> None:
    runs, plan = stopped
    code, out = _continue(runs, plan, "--continue", "nope")
    assert code != 0
    assert "nope" in _last_line(out)


def test_another_strategy_or_venue_is_refused(stopped: tuple[Path, Path]) -> None:
    runs, plan = stopped
    code, out = _continue(runs, plan, "--continue", "day-one", strategy="sma_cross")
    assert code != 0
    assert _last_line(out) == (
        "error: run day-one ran strategy plan, not sma_cross; continue it with strategy plan "
        "or start a new run"
    )
    code, out = _continue(runs, plan, "--continue", "day-one", "--venue", "sim")
    assert code != 0
    assert "run day-one ran venue local, not sim; continue it with venue local" in out


def test_a_run_being_written_is_refused(stopped: tuple[Path, Path]) -> None:
    runs, plan = stopped
    lock = lock_run(runs / "day-one" / "journal.sqlite", "day-one")
    try:
        code, out = _continue(runs, plan, "--continue", "day-one")
    finally:
        lock.release()
    assert code != 0
    assert "run day-one is being written by process" in _last_line(out)


def test_resume_of_a_cleanly_stopped_run_points_to_continue(stopped: tuple[Path, Path]) -> None:
    runs, plan = stopped
    code, out = _continue(runs, plan, "--resume", "day-one")
    assert code != 0
    assert _last_line(out).endswith("trade on with --continue day-one")


def test_a_crashed_run_is_refused_with_resume_as_the_fix(
    stopped: tuple[Path, Path], tmp_path: Path
) -> None:
    runs, plan = stopped
    copy = tmp_path / "runs" / "day-one"
    copy.mkdir(parents=True)
    for name in ("journal.sqlite", "venue.sqlite", "manifest.json"):
        (copy / name).write_bytes((runs / "day-one" / name).read_bytes())
    journal = sqlite3.connect(copy / "journal.sqlite")
    with journal:
        journal.execute("UPDATE runs SET status = 'crashed'")
    journal.close()
    code, out = _continue(tmp_path / "runs", plan, "--continue", "day-one")
    assert code != 0
    assert _last_line(out) == (
        "error: run day-one did not stop cleanly (status crashed); continue it with "
        "--resume day-one, which reconciles the crash first"
    )


def test_a_daily_run_on_the_local_venue_is_continued_not_refused(
    stopped: tuple[Path, Path], tmp_path: Path
) -> None:
    """Once refused (a continued run read its history at 1 minute, which a daily replay has
    not); the feed now reads the venue's daily bars. Continued with the same plan: its row,
    placed on day two, is not placed again."""
    runs, plan = stopped
    copy = tmp_path / "runs" / "day-one"
    copy.mkdir(parents=True)
    for name in ("journal.sqlite", "venue.sqlite", "manifest.json"):
        (copy / name).write_bytes((runs / "day-one" / name).read_bytes())
    code, out = _continue(tmp_path / "runs", plan, "--continue", "day-one")
    assert code == 0, out
    journal = sqlite3.connect(copy / "journal.sqlite")
    try:
        days = [r[0][:10] for r in journal.execute("SELECT at FROM equity ORDER BY id")]
        entries = journal.execute(
            "SELECT count(*) FROM order_intents WHERE side = 'buy' AND parent IS NULL"
        ).fetchone()
        held = journal.execute(
            "SELECT SUM(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills"
        ).fetchone()
        status = journal.execute("SELECT status FROM runs").fetchone()
    finally:
        journal.close()
    assert days == ["2012-09-04", "2012-09-05", "2012-09-06", "2012-09-07"]
    assert entries == (1,) and held == (10.0,) and status == ("finished",)
