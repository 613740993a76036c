"""`parity status` and `parity flatten` on a live paper run (the local venue, timed, in a thread)
and after it has ended."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.journal.reader import JournalReader
from parity.runners.paper import PaperConfig, run_paper

pytestmark = pytest.mark.timeout(120)


def wait_for(predicate, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def position(run_dir: Path) -> float:
    journal = run_dir / "journal.sqlite"
    if not journal.is_file():
        return 0.0
    reader = JournalReader.open(journal)
    try:
        return reader.positions(run_dir.name).get("IBM", 0.0)
    except Exception:  # the run row may not exist yet
        return 0.0
    finally:
        reader.close()


def test_status_and_flatten_of_a_live_run(tmp_path: Path):
    runs = tmp_path / "runs"
    config = PaperConfig(slippage="0", strategy="buy_and_hold", symbols=("IBM",), venue="local",
                         data="sample:minute", start=dt.date(2013, 10, 4),
                         end=dt.date(2013, 10, 4), speed=600.0, cash=100_000.0,
                         runs_dir=runs, run_id="live")  # fmt: skip
    stop = threading.Event()
    result: dict[str, object] = {}
    thread = threading.Thread(
        target=lambda: result.update(run=run_paper(config, stop=stop)), daemon=True
    )
    thread.start()
    run_dir = runs / "live"
    try:
        wait_for(lambda: position(run_dir) > 0)
        shown = CliRunner().invoke(cli, ["status", "live", "--runs-dir", str(runs), "--json"])
        assert shown.exit_code == 0, shown.output
        status = json.loads(shown.stdout)
        assert status["alive"] is True and status["status"] == "running"
        assert status["positions"][0]["symbol"] == "IBM" and status["positions"][0]["qty"] > 0
        assert status["equity"] > 0 and status["last_bar"]
        assert status["feeds"] == {"IBM": "live"}
        text = CliRunner().invoke(cli, ["status", "live", "--runs-dir", str(runs)])
        assert "process alive" in text.stdout and "position   IBM" in text.stdout
        # the heartbeat in UTC with its age, the last bar in the exchange's zone
        assert re.search(
            r"^heartbeat  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)   last bar "
            r"2013-10-04 \d\d:\d\d:00 America/New_York$",
            text.stdout,
            re.M,
        ), text.stdout
        assert "feeds      IBM live" in text.stdout  # a running run shows its feed state

        flat = CliRunner().invoke(cli, ["flatten", "live", "--runs-dir", str(runs)])
        assert flat.exit_code == 0, flat.output
        assert "closes its positions on its next bar" in flat.stdout
        wait_for(lambda: position(run_dir) == 0)
    finally:
        stop.set()
        thread.join(timeout=60)
    orders = pd.read_csv(run_dir / "orders.csv")
    done = orders[orders["status"] == "completed"]
    assert list(done["side"]) == ["buy", "sell"]  # flattened, and no re-entry after it
    later = orders.iloc[2:]  # buy_and_hold tries again each bar: the kill switch refuses
    assert (later["status"] == "rejected").all()
    assert all("kill switch" in str(reason) for reason in later["reason"])
    after = json.loads(
        CliRunner().invoke(cli, ["status", "live", "--runs-dir", str(runs), "--json"]).stdout
    )
    assert after["alive"] is False and after["status"] == "finished"
    assert after["positions"] == [] and after["risk"]["killed"] is True
    ended = CliRunner().invoke(cli, ["status", "live", "--runs-dir", str(runs)]).stdout
    assert "process not running" in ended
    assert "feeds " not in ended and "streams " not in ended  # no connection state once ended
    again = CliRunner().invoke(cli, ["flatten", "live", "--runs-dir", str(runs)])
    assert "nothing is open" in again.stdout


def test_status_of_a_run_without_journal_is_a_clear_error(tmp_path: Path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    result = CliRunner().invoke(cli, ["status", "old", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 6
    assert "has no journal" in result.stderr


def test_heartbeat_shows_its_zone_and_age():
    from parity.cli.operate import heartbeat_text

    now = dt.datetime(2026, 12, 2, 13, 14, 56, 675785, tzinfo=dt.UTC)
    naive = dt.datetime(2026, 12, 2, 13, 14, 44, 675785)  # as SQLite returns it: UTC, naive
    assert heartbeat_text(naive, now) == "2026-12-02 13:14:44 UTC (12 s ago)"
    assert heartbeat_text(naive - dt.timedelta(minutes=30), now).endswith("(30 min ago)")
    assert heartbeat_text(naive - dt.timedelta(hours=5), now).endswith("(5.0 h ago)")
    assert heartbeat_text(naive - dt.timedelta(days=3), now).endswith("(3 d ago)")
    assert heartbeat_text(None, now) == "-"
