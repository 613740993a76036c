"""`parity report daily|weekly` end to end: on a real backtest (the overall figures are the
run's metrics.json) and on a real paper rehearsal on the local venue, whose session closes
write the daily reports automatically."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from parity.analyzers.metrics import METRIC_KEYS
from parity.cli import cli
from parity.journal import JournalReader

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(240),
]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def backtest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("bt")
    out = invoke(
        "run",
        "backtest",
        "sma_cross",
        "--data",
        "sample:minute",
        "--symbols",
        "IBM",
        "--from",
        "2013-10-07",
        "--to",
        "2013-10-09",
        "--runs-dir",
        str(runs),
        "--json",
        "--no-progress",
    )
    return Path(json.loads(out)["run_dir"])


@pytest.fixture(scope="module")
def paper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("paper")
    out = invoke(
        "run",
        "paper",
        "sma_cross",
        "--venue",
        "local",
        "--slippage",
        "0",
        "--data",
        "sample:minute",
        "--symbols",
        "IBM",
        "--from",
        "2013-10-07",
        "--to",
        "2013-10-08",
        "--runs-dir",
        str(runs),
        "--json",
    )
    return Path(json.loads(out)["run_dir"])


def test_overall_performance_is_the_runs_metrics(backtest_dir: Path) -> None:
    runs, run_id = str(backtest_dir.parent), backtest_dir.name
    report = json.loads(
        invoke("report", "daily", run_id[:20], "--format", "json", "--runs-dir", runs)
    )
    metrics = json.loads((backtest_dir / "metrics.json").read_text())
    assert report["period"]["label"] == "2013-10-09" and metrics["trades"] > 3
    for key in METRIC_KEYS:
        assert report["performance"][key] == pytest.approx(metrics[key], rel=1e-12), key
    assert report["performance"]["flags"] == metrics["flags"]
    equity = pd.read_csv(backtest_dir / "equity.csv", index_col="datetime", parse_dates=True)
    assert report["portfolio"]["equity"] == pytest.approx(float(equity["value"].iloc[-1]))
    assert report["run"]["mode"] == "backtest" and report["portfolio"]["starting_cash"] == 100_000
    shown = invoke("runs", "show", run_id, "--runs-dir", runs, "--json")
    assert json.loads(shown)["metrics"]["sharpe"] == report["performance"]["sharpe"]


def test_bad_dates_and_unknown_runs_are_one_line_errors(backtest_dir: Path) -> None:
    runs, run_id = str(backtest_dir.parent), backtest_dir.name
    code, err = fails("report", "daily", run_id, "--date", "2013-10-12", "--runs-dir", runs)
    assert code == 7 and "no bars on 2013-10-12; pick a date from 2013-10-07" in err
    code, err = fails("report", "daily", run_id, "--date", "10/07/2013", "--runs-dir", runs)
    assert code == 2 and "is not a date; use YYYY-MM-DD" in err
    code, err = fails("report", "weekly", run_id, "--week", "2013-41", "--runs-dir", runs)
    assert code == 2 and "not an ISO week" in err
    code, err = fails(
        "report", "weekly", run_id, "--week", "2013-W41", "--date", "2013-10-07", "--runs-dir", runs
    )
    assert code == 2 and "not both" in err
    code, err = fails("report", "daily", "no-such-run", "--runs-dir", runs)
    assert code == 6 and "not found" in err
    assert all(len(e.strip().splitlines()) == 1 for e in (err,))


def test_paper_session_closes_write_daily_reports(paper_dir: Path) -> None:
    reports = paper_dir / "reports"
    for day in ("2013-10-07", "2013-10-08"):
        for suffix in ("txt", "json", "html"):
            assert (reports / f"daily-{day}.{suffix}").is_file()
    reader = JournalReader.open(paper_dir / "journal.sqlite")
    try:
        events = reader.events(paper_dir.name, kind="daily_report")
        fills = reader.fills(paper_dir.name)
        equity = reader.equity(paper_dir.name)
    finally:
        reader.close()
    payloads = list(events["payload"])
    assert [p["date"] for p in payloads] == ["2013-10-07", "2013-10-08"]
    assert all(p["sent"] is False and set(p["paths"]) == {"text", "json", "html"} for p in payloads)
    assert (events["level"] == "info").all()
    # the report the run wrote at the close equals the one the CLI computes afterwards
    saved = json.loads((reports / "daily-2013-10-07.json").read_text())
    report = json.loads(
        invoke(
            "report",
            "daily",
            paper_dir.name,
            "--date",
            "2013-10-07",
            "--format",
            "json",
            "--runs-dir",
            str(paper_dir.parent),
        )
    )
    for key in ("portfolio", "pnl", "trades", "performance"):
        assert report[key] == saved[key], key
    day = fills[fills["datetime"].dt.date.astype(str) == "2013-10-07"]
    assert len(day) > 2 and report["trades"]["fill_count"] == len(day)
    assert [f["price"] for f in report["trades"]["fills"]] == day["price"].tolist()
    assert [f["qty"] for f in report["trades"]["fills"]] == day["qty"].tolist()
    day_equity = equity[equity.index.date.astype(str) == "2013-10-07"]["value"]
    assert report["portfolio"]["equity"] == pytest.approx(float(day_equity.iloc[-1]))
    assert report["pnl"]["pnl"] == pytest.approx(float(day_equity.iloc[-1]) - 100_000.0)


def test_weekly_html_and_out(paper_dir: Path, tmp_path: Path) -> None:
    runs = str(paper_dir.parent)
    path = Path(
        invoke("report", "weekly", paper_dir.name, "--format", "html", "--runs-dir", runs).strip()
    )
    assert path == paper_dir / "reports" / "weekly-2013-W41.html"
    page = path.read_text()
    assert "<svg" in page and "<polyline" in page
    days = page[page.index("Per day") :]
    assert "2013-10-07" in days and "2013-10-08" in days
    out = tmp_path / "w.json"
    assert invoke(
        "report",
        "weekly",
        paper_dir.name,
        "--date",
        "2013-10-08",
        "--format",
        "json",
        "--out",
        str(out),
        "--runs-dir",
        runs,
    ).strip() == str(out)
    data = json.loads(out.read_text())
    assert [d["date"] for d in data["days"]] == ["2013-10-07", "2013-10-08"]
    assert sum(d["pnl"] for d in data["days"]) == pytest.approx(data["pnl"]["pnl"])
    assert "Per day" in invoke("report", "weekly", paper_dir.name, "--runs-dir", runs)


def test_no_daily_reports_flag(tmp_path: Path) -> None:
    out = invoke(
        "run",
        "paper",
        "sma_cross",
        "--venue",
        "local",
        "--slippage",
        "0",
        "--data",
        "sample:minute",
        "--symbols",
        "IBM",
        "--from",
        "2013-10-07",
        "--to",
        "2013-10-07",
        "--no-daily-reports",
        "--runs-dir",
        str(tmp_path),
        "--json",
    )
    run_dir = Path(json.loads(out)["run_dir"])
    assert not (run_dir / "reports").exists()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["daily_reports"] is False
