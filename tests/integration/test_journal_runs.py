"""Runs journaled end to end: a backtest's artifacts are exports of its journal and equal, byte
for byte, what the recorder's memory gave before the journal; a paper run's tape, orders, fills
and equity are in its journal as in its CSVs; failures leave the journal's record straight."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.config import BacktestConfig
from parity.errors import StrategyError
from parity.feeds.loader import load_bars
from parity.journal import JournalReader
from parity.runners.backtest import build_cerebro, run_backtest, traded_session
from parity.runners.paper import PaperConfig, run_paper
from parity.strategies.params import coerce_params
from parity.strategies.registry import resolve_strategy
from parity.timeframe import parse_timeframe

pytestmark = pytest.mark.timeout(240)

CASES: dict[str, dict[str, Any]] = {
    "daily-percent": {"data": "sample", "symbols": ("IBM",)},
    "daily-fixed-close-commission": {
        "data": "sample",
        "symbols": ("IBM",),
        "params": {"sizing": "fixed", "size": 100},
        "fill_at": "close",
        "commission": "0.005/share,min=1",
    },
    "minute-rsi-5min": {
        "strategy": "rsi_reversion",
        "data": "sample:minute",
        "symbols": ("IBM",),
        "timeframe": parse_timeframe("5Min"),
    },
    "two-symbols-bps": {
        "strategy": "buy_and_hold",
        "data": "sample",
        "symbols": ("AAPL", "MSFT"),
        "commission": "10bps",
    },
    "minute-bar-by-bar": {"data": "sample:minute", "symbols": ("AAPL",), "preload": False},
}


def memory_artifacts(config: BacktestConfig, run_id: str, out: Path) -> None:
    """What `run_backtest` wrote before the journal: the recorder's frames, as `write_run`
    writes them."""
    spec = resolve_strategy(config.strategy)
    params = coerce_params(spec.cls, config.params)
    loaded = load_bars(
        config.data, config.symbols, timeframe=config.timeframe, start=config.start,
        end=config.end, adjustment=config.adjustment, session=traded_session(config, spec),
    )  # fmt: skip
    strategy = build_cerebro(config, spec, params, loaded, {"id_prefix": run_id}).run()[0]
    recorder = strategy.analyzers.recorder
    daily = loaded.series[0].timeframe.is_daily
    out.mkdir(parents=True)
    recorder.equity_frame(daily).to_csv(out / "equity.csv", index_label="datetime")
    recorder.orders_frame(daily).to_csv(out / "orders.csv", index=False)
    recorder.fills_frame(daily).to_csv(out / "fills.csv", index=False)


@pytest.mark.parametrize("case", list(CASES))
def test_backtest_artifacts_are_exports_equal_to_the_recorders(tmp_path: Path, case: str) -> None:
    fields = {"strategy": "sma_cross", **CASES[case], "runs_dir": tmp_path / "runs"}
    config = BacktestConfig(**fields)
    result = run_backtest(config, run_id="journaled")
    memory_artifacts(config, "journaled", tmp_path / "memory")
    for name in ("equity.csv", "orders.csv", "fills.csv"):
        assert (result.run_dir / name).read_bytes() == (tmp_path / "memory" / name).read_bytes()

    reader = JournalReader.open(result.run_dir / "journal.sqlite")
    try:
        info = reader.run("journaled")
        manifest = json.loads((result.run_dir / "manifest.json").read_text())
        assert (info.status, info.mode, info.venue) == ("finished", "backtest", "sim")
        assert info.manifest == manifest and info.finished_at is not None
        fills = pd.read_csv(result.run_dir / "fills.csv")
        assert len(fills) > 0
        assert len(reader.intents("journaled")) == len(pd.read_csv(result.run_dir / "orders.csv"))
        signed = fills["qty"].where(fills["side"] == "buy", -fills["qty"])
        expected = signed.groupby(fills["symbol"]).sum().astype(float).to_dict()
        assert reader.positions("journaled") == expected
        equity = pd.read_csv(result.run_dir / "equity.csv", parse_dates=["datetime"])
        assert reader.last_bar("journaled") == equity["datetime"].iloc[-1]
    finally:
        reader.close()


BOOM = """
import backtrader as bt

class Boom(bt.Strategy):
    def next(self):
        if len(self) == 40:
            self.buy(size=1)
        if len(self) == 60:
            raise RuntimeError("kaboom")
"""


def test_failed_backtest_in_a_database_journal_is_marked_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "boom.py").write_text(BOOM)
    database = tmp_path / "all-runs.sqlite"
    monkeypatch.setenv("PARITY_DB_URL", f"sqlite:///{database}")
    config = BacktestConfig(strategy=f"{tmp_path / 'boom.py'}:Boom", runs_dir=tmp_path / "runs")
    with pytest.raises(StrategyError, match="kaboom"):
        run_backtest(config, run_id="boom-1")
    reader = JournalReader.open(database)
    try:
        assert reader.run("boom-1").status == "crashed"
        assert list(reader.intents("boom-1")["client_order_id"]) == ["boom-1-000001"]
    finally:
        reader.close()
    # the next run shares the database (rows keyed by run id); a used id is refused
    ok = run_backtest(BacktestConfig(runs_dir=tmp_path / "runs"), run_id="fine-1")
    assert not (ok.run_dir / "journal.sqlite").exists()
    assert JournalReader.open(database).run("fine-1").status == "finished"
    with pytest.raises(Exception, match="already in journal"):
        run_backtest(BacktestConfig(runs_dir=tmp_path / "other"), run_id="fine-1")


def test_cli_reports_a_corrupt_journal_database_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "all-runs.sqlite"
    database.write_bytes(b"this is not a database" * 100)
    before = database.read_bytes()
    monkeypatch.setenv("PARITY_DB_URL", f"sqlite:///{database}")
    result = CliRunner().invoke(
        cli, ["run", "backtest", "--runs-dir", str(tmp_path / "runs")], prog_name="parity"
    )
    assert result.exit_code == 8, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(database) in errors[0] and "unreadable" in errors[0]
    assert "Traceback" not in result.stderr
    assert database.read_bytes() == before


def test_paper_run_is_journaled(tmp_path: Path) -> None:
    config = PaperConfig(
        slippage="0",
        strategy="sma_cross",
        params={"fast": "5", "slow": "20"},
        symbols=("IBM",),
        venue="local",
        data="sample:minute",
        cash=100_000.0,
        start=dt.date(2013, 10, 4),
        end=dt.date(2013, 10, 4),
        runs_dir=tmp_path,
    )
    result = run_paper(config)
    run_dir = result.run_dir
    reader = JournalReader.open(run_dir / "journal.sqlite")
    try:
        info = reader.run(result.run_id)
        assert (info.status, info.mode, info.venue) == ("finished", "paper", "local")
        assert info.manifest == json.loads((run_dir / "manifest.json").read_text())
        tape = pd.read_csv(run_dir / "tape.csv")
        assert len(tape) > 100
        journal_tape = reader.tape(result.run_id)
        assert list(journal_tape["datetime"].astype(str)) == list(tape["datetime"])
        assert list(journal_tape["source"]) == list(tape["source"])
        orders = pd.read_csv(run_dir / "orders.csv")
        assert len(orders) > 0
        intents = reader.intents(result.run_id)
        assert list(intents["client_order_id"]) == list(orders["client_order_id"])
        fills = reader.fills(result.run_id)
        assert fills["client_order_id"].is_unique
        assert len(fills) == len(pd.read_csv(run_dir / "fills.csv"))
        equity = reader.equity(result.run_id)
        assert len(equity) == len(pd.read_csv(run_dir / "equity.csv"))
        assert reader.last_bar(result.run_id) == pd.Timestamp(tape["datetime"].iloc[-1])
        # every bar's equity carries its positions (what `status` shows without a broker)
        with reader.engine.connect() as conn:
            held = conn.exec_driver_sql(
                "SELECT COUNT(*) FROM equity WHERE positions IS NOT NULL"
            ).scalar()
        assert held == len(equity)
    finally:
        reader.close()


def test_broker_hook_commits_intents_before_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`AlpacaBroker` journals through its core (see `parity.journal.hook`): every order's
    intent is readable by another process when the venue receives it, venue updates are
    journaled once per state, and each fill is one row."""
    from parity.venues.alpaca.client import AlpacaStore

    seen_at_submit: list[bool] = []
    submit = AlpacaStore.submit_order

    def submit_order(store: AlpacaStore, request: Any) -> Any:
        reader = JournalReader.open(tmp_path / "hook" / "journal.sqlite")  # another connection
        try:
            ids = set(reader.intents("hook")["client_order_id"])
        finally:
            reader.close()
        seen_at_submit.append(request.client_order_id in ids)
        return submit(store, request)

    monkeypatch.setattr(AlpacaStore, "submit_order", submit_order)
    config = PaperConfig(
        slippage="0",
        strategy="sma_cross",
        params={"fast": "5", "slow": "20"},
        symbols=("IBM",),
        venue="local",
        data="sample:minute",
        cash=100_000.0,
        start=dt.date(2013, 10, 4),
        end=dt.date(2013, 10, 4),
        runs_dir=tmp_path,
        run_id="hook",
    )
    result = run_paper(config)
    assert seen_at_submit and all(seen_at_submit)
    reader = JournalReader.open(result.run_dir / "journal.sqlite")
    try:
        fills = reader.fills(result.run_id)
        csv = pd.read_csv(result.run_dir / "fills.csv")
        assert len(fills) == len(csv) > 0 and fills["client_order_id"].is_unique
        assert list(fills["bar"]) == list(csv["bar"])
        venue = reader.order_events(result.run_id).query("source == 'venue'")
        assert len(venue) > 0
        assert not venue.duplicated(["client_order_id", "event", "status", "filled_qty"]).any()
        orders = pd.read_csv(result.run_dir / "orders.csv")
        assert set(orders["status"]) == {"completed"}
        assert list(reader.intents(result.run_id)["client_order_id"]) == list(
            orders["client_order_id"]
        )
    finally:
        reader.close()
