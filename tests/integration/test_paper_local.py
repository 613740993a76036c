"""The paper path end to end: parity's store, broker and live feed, through alpaca-py, against the
local venue on real loopback sockets. The parity test is the heart: the same strategy on the same
minute bars as a backtest and as a lock-step paper rehearsal gives the same trades and equity."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.config import BacktestConfig
from parity.feeds.sample import sample_path
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe
from parity.venue.config import FaultPlan

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(240),
]

WINDOW = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 7)}
PARAMS = {"fast": "5", "slow": "20"}


def backtest(tmp_path: Path, **overrides) -> Path:
    fields = {
        "strategy": "sma_cross",
        "params": PARAMS,
        "data": "sample:minute",
        "symbols": ("IBM",),
        "commission": "0",
        "slippage": "0",
        "runs_dir": tmp_path / "bt",
        **WINDOW,
        **overrides,
    }
    config = BacktestConfig(**fields)
    return run_backtest(config).run_dir


def paper(tmp_path: Path, **overrides) -> Path:
    fields = {
        "strategy": "sma_cross",
        "params": PARAMS,
        "symbols": ("IBM",),
        "venue": "local",
        "data": "sample:minute",
        "cash": 100_000.0,
        "slippage": "0",
        "runs_dir": tmp_path / "paper",
        **WINDOW,
        **overrides,
    }
    return run_paper(PaperConfig(**fields)).run_dir


def trades(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "trades.csv")


@pytest.fixture(scope="module")
def twin(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("twin")
    return backtest(root), paper(root)


def test_paper_rehearsal_trades_equal_the_backtest(twin):
    bt_dir, paper_dir = twin
    expected, got = trades(bt_dir), trades(paper_dir)
    assert len(expected) > 5
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def test_paper_rehearsal_equity_within_a_cent(twin):
    bt_dir, paper_dir = twin
    expected = pd.read_csv(bt_dir / "equity.csv", index_col="datetime")["value"]
    got = pd.read_csv(paper_dir / "equity.csv", index_col="datetime")["value"]
    assert list(got.index) == list(expected.index)
    assert (got - expected).abs().max() < 0.01


def test_paper_run_writes_the_tape_and_a_paper_manifest(twin):
    _, paper_dir = twin
    tape = pd.read_csv(paper_dir / "tape.csv")
    manifest = json.loads((paper_dir / "manifest.json").read_text())
    equity = pd.read_csv(paper_dir / "equity.csv")
    assert manifest["mode"] == "paper" and manifest["venue"] == "local"
    assert len(tape) == len(equity) > 100
    assert set(tape["source"]) == {"stream"}
    assert pd.to_datetime(tape["received_at"]).is_monotonic_increasing
    fills = pd.read_csv(paper_dir / "fills.csv")
    assert fills["client_order_id"].is_unique
    assert fills["client_order_id"].str.startswith(manifest["run_id"]).all()


def test_dropped_and_disconnected_streams_lose_no_bar_or_fill(tmp_path, twin):
    """A bar dropped from the stream is refilled from history, and fills that happened while a
    stream was down arrive after it reconnects (or through the REST sync): same trades. The
    dropped bar is one inside a holding period, where the strategy makes no decision (dropping a
    decision bar delays the decision by one bar, as it would live)."""
    bt_dir, _ = twin
    expected = trades(bt_dir)
    first = expected.iloc[0]
    drop = pd.Timestamp(first["entry_time"]) + pd.Timedelta(minutes=3)
    assert drop + pd.Timedelta(minutes=2) < pd.Timestamp(first["exit_time"])
    faults = FaultPlan(
        drop_bars=(drop.isoformat(),),
        disconnect_data_after=(40,),
        disconnect_trading_after=(120,),
    )
    paper_dir = paper(tmp_path, faults=faults)
    pd.testing.assert_frame_equal(trades(paper_dir), expected, check_exact=False, rtol=1e-12)
    tape = pd.read_csv(paper_dir / "tape.csv", parse_dates=["datetime"])
    refilled = tape[tape["source"] == "refill"]
    assert list(refilled["datetime"]) == [drop]
    bars = pd.read_csv(bt_dir / "equity.csv", parse_dates=["datetime"])["datetime"]
    assert list(tape["datetime"]) == list(bars)  # every bar, once, in order


def test_dry_run_sends_no_order(tmp_path):
    paper_dir = paper(tmp_path, dry_run=True)
    orders = pd.read_csv(paper_dir / "orders.csv")
    assert len(orders) > 5  # decisions were made and recorded
    manifest = json.loads((paper_dir / "manifest.json").read_text())
    assert manifest["dry_run"] is True


def test_cli_local_rehearsal(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
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
            "2013-10-04",
            "--to",
            "2013-10-04",
            "-p",
            "fast=5",
            "-p",
            "slow=20",
            "--runs-dir",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert (Path(payload["run_dir"]) / "tape.csv").is_file()
    assert payload["metrics"]["trades"] >= 1


def test_cli_without_keys_names_the_variables(monkeypatch):
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["run", "paper", "--symbols", "AAPL"])
    assert result.exit_code == 2
    assert "APCA_API_KEY_ID" in result.stderr and "--venue local" in result.stderr


def test_cli_validate_only_against_the_local_venue(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "paper",
            "--venue",
            "local",
            "--slippage",
            "0",
            "--symbols",
            "IBM",
            "--validate-only",
            "--runs-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "validation passed" in result.stdout
    assert "symbol IBM" in result.stderr and "tradable" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing traded, no run written


def test_cli_validate_only_unknown_symbol(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "paper",
            "--venue",
            "local",
            "--slippage",
            "0",
            "--symbols",
            "IBM,ZZZZ",
            "--validate-only",
        ],
    )
    assert result.exit_code != 0
    assert "ZZZZ" in result.stderr


def test_five_minute_bars_aggregated_live_equal_the_backtest(tmp_path):
    """Minute bars streamed and aggregated on the clock give the backtest's 5Min bars.

    Regular hours only, so that fill times equal the backtest's bar labels (sparse extended-hours
    buckets are in `test_differential_orders.py`, fills compared by the bar they fill in)."""
    bars = pd.read_csv(sample_path("IBM", "minute"), parse_dates=["datetime"])
    times = bars["datetime"].dt.time
    regular = bars[(times >= dt.time(9, 30)) & (times < dt.time(16, 0))]
    regular.to_csv(tmp_path / "IBM.csv", index=False)
    five = parse_timeframe("5Min")
    data = str(tmp_path / "IBM.csv")
    bt_dir = backtest(tmp_path, timeframe=five, data=data)
    paper_dir = paper(tmp_path, timeframe=five, data=data)
    expected = trades(bt_dir)
    assert len(expected) >= 3
    pd.testing.assert_frame_equal(trades(paper_dir), expected, check_exact=False, rtol=1e-12)
    got = pd.read_csv(paper_dir / "equity.csv", index_col="datetime")["value"]
    want = pd.read_csv(bt_dir / "equity.csv", index_col="datetime")["value"]
    assert list(got.index) == list(want.index)
    assert (got - want).abs().max() < 0.01


def test_two_symbols_on_one_stream_equal_the_backtest(tmp_path):
    bt_dir = backtest(tmp_path, symbols=("IBM", "BAC"))
    paper_dir = paper(tmp_path, symbols=("IBM", "BAC"))
    expected = trades(bt_dir)
    assert set(expected["symbol"]) == {"IBM", "BAC"}
    got = trades(paper_dir)
    key = ["symbol", "entry_time"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True),
        expected.sort_values(key).reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
    )


def test_backfilled_warm_up_comes_from_history_and_is_never_traded(tmp_path):
    """The replay starts at 11:00; the 20-bar warm-up comes from the venue's history, so the
    strategy is ready at the first streamed bar, and no order is decided on a history bar."""
    paper_dir = paper(
        tmp_path,
        backfill=40,
        replay_start="2013-10-04T11:00:00",
        **{"start": WINDOW["start"], "end": WINDOW["start"]},
    )
    tape = pd.read_csv(paper_dir / "tape.csv", parse_dates=["datetime"])
    history = tape[tape["source"] == "history"]
    assert len(history) >= 40
    assert (history["datetime"] < pd.Timestamp("2013-10-04 11:00")).all()
    assert (tape[tape["source"] == "stream"]["datetime"] >= pd.Timestamp("2013-10-04 11:00")).all()
    orders = pd.read_csv(paper_dir / "orders.csv", parse_dates=["submitted_at"])
    sent = orders[orders["status"] != "rejected"]
    assert len(sent) > 0
    assert (sent["submitted_at"] >= pd.Timestamp("2013-10-04 11:00")).all()
    assert (orders["status"] != "rejected").all()


def test_orders_decided_on_warm_up_bars_are_refused_by_the_alpaca_broker(tmp_path):
    paper_dir = paper(
        tmp_path,
        strategy="buy_and_hold",
        params={},
        backfill=10,
        replay_start="2013-10-04T11:00:00",
        **{"start": WINDOW["start"], "end": WINDOW["start"]},
    )
    orders = pd.read_csv(paper_dir / "orders.csv", parse_dates=["submitted_at"])
    start = pd.Timestamp("2013-10-04 11:00")
    warm = orders[orders["submitted_at"] < start]
    live = orders[orders["submitted_at"] >= start]
    assert len(warm) == 10  # buy_and_hold retries on every warm-up bar: all refused, none sent
    assert (warm["status"] == "rejected").all()
    assert warm["reason"].str.contains("warm-up").all()
    assert list(live["status"]) == ["completed"]


def test_divergence_is_computed_and_journaled_at_each_session_end(tmp_path):
    """With --divergence-check, each session's end compares the run with its twin on the tape
    so far and journals the figures."""
    from parity.journal.reader import JournalReader

    paper_dir = paper(tmp_path, divergence_check=True)
    reader = JournalReader.open(paper_dir / "journal.sqlite")
    try:
        events = reader.events(paper_dir.name, kind="divergence")
    finally:
        reader.close()
    checks = [e for e in events["payload"] if e["event"] == "divergence"]
    assert [c["session"] for c in checks] == ["2013-10-04", "2013-10-07"]
    assert all(c["status"] == "PASS" for c in checks)
    assert all(abs(c["pnl_gap"]) < 0.01 for c in checks)
    assert not any(e["event"] == "divergence_threshold_crossed" for e in events["payload"])
