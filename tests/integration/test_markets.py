"""Backtests beyond New York through the CLI (issue 15): an NSE 5-minute file stamped in IST runs
in IST and rupees; a 24/7 crypto series is annualised over 365 days as QuantStats is. The bars
are generated on the exchange calendar (`parity.feeds.synthetic`), seeded."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import quantstats as qs
from click.testing import CliRunner, Result

from parity.cli import cli
from parity.dashboard import Catalog, DashboardServer
from parity.feeds.synthetic import session_bars, write_session_bars
from parity.instruments.calendars import calendar_named
from parity.timeframe import parse_timeframe

FAST = ["--param", "fast=5", "--param", "slow=20"]


def parity(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def ist_file(tmp_path: Path) -> Path:
    nse = calendar_named("XNSE")
    first, last = dt.date(2024, 1, 1), dt.date(2024, 1, 31)
    bars = session_bars(nse, first, last, parse_timeframe("5Min"), seed=15)
    return write_session_bars(bars, tmp_path / "RELIANCE.csv", nse)


def test_an_nse_backtest_runs_in_ist_and_rupees(tmp_path: Path, ist_file: Path) -> None:
    runs = tmp_path / "runs"
    result = parity(
        "run", "backtest", "--data", str(ist_file), "--symbols", "RELIANCE.NS",
        "--cash", "50000", *FAST, "--runs-dir", str(runs),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # no gap warnings
    out = result.stdout
    assert "bars: RELIANCE.NS 2024-01-01..2024-01-31 (1,575 bars)" in out
    assert (
        "calendar: XNSE (bars in Asia/Kolkata time), annualised over 252 sessions a year; "
        "money in ₹ (INR)"
    ) in out
    run_dir = next(runs.iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    expectancy = next(
        line for line in out.splitlines() if line.strip().startswith("Expectancy per trade")
    )
    assert expectancy.split()[-1] == f"{'-' if metrics['expectancy'] < 0 else ''}₹" + (
        f"{abs(metrics['expectancy']):,.2f}"
    )
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["currency"] == "INR"
    assert manifest["calendar"] == {
        "name": "XNSE",
        "timezone": "Asia/Kolkata",
        "periods_per_year": 252,
        "convention": "252 sessions a year",
    }
    equity = pd.read_csv(run_dir / "equity.csv", parse_dates=["datetime"])
    assert equity["datetime"].iloc[0] == pd.Timestamp("2024-01-01 09:15")
    assert equity["datetime"].iloc[-1] == pd.Timestamp("2024-01-31 15:25")
    returns = pd.read_csv(run_dir / "returns.csv", parse_dates=["date"])
    sessions = calendar_named("XNSE").sessions(dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert list(returns["date"]) == list(sessions)  # one daily return per NSE session

    shown = parity("runs", "show", "latest", "--runs-dir", str(runs))
    assert "cash ₹50,000.00" in shown.stdout
    assert "market    XNSE calendar, bars in Asia/Kolkata time, money in INR" in shown.stdout
    status = parity("status", run_dir.name, "--runs-dir", str(runs))
    equity = pd.read_csv(run_dir / "equity.csv")["value"].iloc[-1]
    assert f"equity     ₹{equity:,.2f}   cash ₹" in status.stdout
    daily = parity("report", "daily", "latest", "--runs-dir", str(runs))
    assert daily.exit_code == 0, daily.output
    assert "Daily report 2024-01-31" in daily.stdout
    assert "Portfolio at 2024-01-31 15:25" in daily.stdout
    assert "(from ₹50,000.00)" in daily.stdout

    with DashboardServer(Catalog(runs)) as server:
        with urllib.request.urlopen(server.url + "api/runs", timeout=20) as response:
            (row,) = json.loads(response.read())["runs"]
        summary_url = f"{server.url}api/runs/{row['run_id']}/summary"
        with urllib.request.urlopen(summary_url, timeout=20) as response:
            run = json.loads(response.read())["run"]
    assert row["currency"] == "INR"
    assert (run["currency"], run["starting_cash"]) == ("INR", 50_000.0)
    assert run["calendar"]["timezone"] == "Asia/Kolkata"


def test_a_bad_calendar_name_is_a_one_line_error(tmp_path: Path, ist_file: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["run", "backtest", "--data", str(ist_file), "--symbols", "RELIANCE.NS",
         "--calendar", "BOMBAY", "--runs-dir", str(tmp_path / "runs")],
    )  # fmt: skip
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: calendar 'BOMBAY' is not known; use one of XNYS, XNSE")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_24_7_crypto_series_is_annualised_over_365_days_as_quantstats(tmp_path: Path) -> None:
    always = calendar_named("24/7")
    bars = session_bars(
        always, dt.date(2024, 1, 1), dt.date(2024, 3, 31), parse_timeframe("1Hour"),
        seed=3, price=42_000.0, volatility=0.01,
    )  # fmt: skip
    path = write_session_bars(bars, tmp_path / "BTCUSD.csv", always)
    runs = tmp_path / "runs"
    result = parity(
        "run", "backtest", "--data", str(path), "--symbols", "BTC/USD", *FAST,
        "--runs-dir", str(runs),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "annualised over 365 days a year; money in $ (USD)" in result.stdout
    run_dir = next(runs.iterdir())
    returns = pd.read_csv(run_dir / "returns.csv", index_col="date", parse_dates=True)["return"]
    assert len(returns) == 91  # every day of the quarter, weekends included
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["trades"] > 0
    assert metrics["sharpe"] == pytest.approx(qs.stats.sharpe(returns, periods=365), rel=1e-9)
    assert metrics["sortino"] == pytest.approx(qs.stats.sortino(returns, periods=365), rel=1e-9)
    assert metrics["volatility"] == pytest.approx(
        qs.stats.volatility(returns, periods=365), rel=1e-9
    )
    assert metrics["sharpe"] != pytest.approx(qs.stats.sharpe(returns, periods=252), rel=1e-3)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["calendar"]["periods_per_year"] == 365
    assert manifest["calendar"]["convention"] == "365 days a year"
    sheet = parity("report", "tearsheet", "latest", "--benchmark", "none", "--runs-dir", str(runs))
    assert sheet.exit_code == 0, sheet.output
    page = (run_dir / "tearsheet.html").read_text()
    assert "Periods/Year: 365" in page  # QuantStats annualises as the run does
    assert "($ USD, annualised over 365 days a year)" in page


def test_session_regular_trades_only_the_calendars_regular_session(tmp_path: Path) -> None:
    def labels(*flags: str) -> pd.Series:
        runs = tmp_path / "-".join(flags or ("default",))
        result = parity(
            "run", "backtest", "--data", "sample:minute", *FAST, "--runs-dir", str(runs), *flags
        )
        assert result.exit_code == 0, result.output
        run_dir = next(runs.iterdir())
        manifest = json.loads((run_dir / "manifest.json").read_text())
        times = pd.read_csv(run_dir / "equity.csv", parse_dates=["datetime"])["datetime"]
        return times.dt.strftime("%H:%M").rename(manifest["session"])

    regular = labels()  # the default: the regular session only (pre- and post-market dropped)
    assert regular.name == "regular"
    assert (regular.min(), regular.max()) == ("09:30", "15:59")
    assert labels("--session", "regular").equals(regular)
    extended = labels("--session", "extended")  # every bar of the data
    assert extended.name == "extended"
    assert extended.min() < "09:30" and extended.max() > "16:00"
    sessions = calendar_named("XNYS").in_regular_session
    assert len(regular) == int(
        sessions(pd.DatetimeIndex(pd.read_csv(sample_minute_ibm())["datetime"])).sum()
    )


def sample_minute_ibm() -> Path:
    from parity.feeds.sample import sample_path

    return sample_path("IBM", "minute")


def test_the_trading_hours_window_is_in_the_exchanges_time(tmp_path: Path, ist_file: Path) -> None:
    """`--trading-hours 09:15-11:00` on an NSE run means Mumbai's morning: every entry is decided
    in it (read in New York time the window would hold no NSE bar at all)."""
    runs = tmp_path / "runs"
    result = parity(
        "run", "backtest", "--data", str(ist_file), "--symbols", "RELIANCE.NS", *FAST,
        "--trading-hours", "09:15-11:00", "--runs-dir", str(runs),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fills = pd.read_csv(next(runs.iterdir()) / "fills.csv", parse_dates=["datetime"])
    buys = fills[fills["side"] == "buy"]["datetime"].dt.strftime("%H:%M")
    assert len(buys) > 5
    # decided on a bar from 09:15 to 11:00, filled at the next bar's open
    assert buys.between("09:20", "11:05").all()


def test_a_strategy_that_asks_for_the_regular_session_gets_it(tmp_path: Path) -> None:
    source = tmp_path / "regular.py"
    source.write_text(
        "from parity.strategies.sma_cross import SmaCross\n\n\n"
        "class RegularSma(SmaCross):\n    session = 'regular'\n"
    )
    runs = tmp_path / "runs"
    result = parity(
        "run", "backtest", f"{source}:RegularSma", "--data", "sample:minute", *FAST,
        "--runs-dir", str(runs),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = next(runs.iterdir())
    assert json.loads((run_dir / "manifest.json").read_text())["session"] == "regular"
    times = pd.read_csv(run_dir / "equity.csv", parse_dates=["datetime"])["datetime"]
    assert times.dt.strftime("%H:%M").between("09:30", "15:59").all()
