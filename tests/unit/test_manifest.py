"""The typed manifest: written by the runners, read through attributes, and tolerant of the
manifests older versions wrote (existing run directories must still load)."""

import json
from pathlib import Path

from click.testing import CliRunner

from parity.cli import cli
from parity.config import BacktestConfig
from parity.manifest import Manifest, StrategyRecord
from parity.runners.backtest import run_backtest
from parity.runstore import RunStore

# a backtest manifest as an early version wrote it: no created_at, costs, requested window or
# versions; the strategy by name only; `adjusted` instead of `adjustment`; a key since dropped
OLD_BACKTEST = {
    "run_id": "20240101-000000-sma_cross-abc123",
    "mode": "backtest",
    "strategy": {"name": "sma_cross"},
    "params": {"fast": 10, "slow": 30},
    "symbols": ["IBM"],
    "timeframe": "1Day",
    "data": {"source": "sample", "adjusted": False},
    "commission": "0",
    "slippage": "5bps",
    "cash": 100000.0,
    "start": "2005-01-03T00:00:00",
    "end": "2006-12-29T00:00:00",
    "engine": "backtrader",
}

# a paper manifest journaled before starting_cash was recorded: its capital is in its config
OLD_PAPER = {
    "run_id": "p-old",
    "mode": "paper",
    "venue": "local",
    "strategy": {"name": "sma_cross", "class": "parity.strategies.sma_cross.SmaCross"},
    "symbols": ["IBM"],
    "timeframe": "1Min",
    "config": {"cash": 25000.0, "risk": {"max_orders_per_day": 3}},
}


def test_a_manifest_round_trips_through_json():
    manifest = Manifest(
        run_id="r1",
        mode="paper",
        venue="local",
        dry_run=False,
        created_at="2024-03-04T14:30:00.000001+00:00",
        finished_at="2024-03-04T21:00:00.000001+00:00",
        strategy=StrategyRecord(name="x", cls="m.X", source_path="x.py", source_sha256="ab"),
        params={"fast": 5},
        symbols=("IBM", "MSFT"),
        timeframe="1Min",
        data={"source": "sample:minute", "bars_received": 390},
        costs={"commission_pct": 0.001},
        commission="10bps",
        slippage="5bps",
        latency_ms=20,
        volume_share=0.5,
        speed="max",
        fill_at="open",
        cash=10_000.0,
        starting_cash=10_000.0,
        account_cash=99_000.0,
        live_from="2024-03-04T14:31:00",
        start="2024-03-04T09:30:00",
        end="2024-03-04T15:59:00",
        stopped_by="end of data",
        config={"cash": 10_000.0},
        risk={"max_drawdown": "20%"},
        warnings=("w",),
        versions={"parity": "1"},
        extra={"added_later": [1, 2]},
    )
    recorded = json.loads(json.dumps(manifest.to_dict()))
    assert recorded["strategy"]["class"] == "m.X" and recorded["added_later"] == [1, 2]
    assert Manifest.from_dict(recorded) == manifest


def test_an_old_backtest_manifest_reads_through_attributes_and_keeps_what_it_does_not_know():
    manifest = Manifest.from_dict(OLD_BACKTEST)
    assert manifest.strategy == StrategyRecord(name="sma_cross")
    assert manifest.symbols == ("IBM",) and manifest.timeframe == "1Day"
    assert manifest.venue == "sim" and manifest.created_at is None and manifest.costs == {}
    assert manifest.data_source == "sample" and manifest.initial_cash == 100_000.0
    assert manifest.window is not None and str(manifest.window[1]) == "2006-12-29"
    assert manifest.extra == {"engine": "backtrader"}
    written = manifest.to_dict()
    assert written["engine"] == "backtrader" and written["data"] == OLD_BACKTEST["data"]
    assert "dry_run" not in written and written["risk"] is None  # older readers look it up


def test_an_old_paper_manifest_takes_its_capital_and_limits_from_its_config():
    manifest = Manifest.from_dict(OLD_PAPER)
    assert manifest.is_paper and manifest.starting_cash is None
    assert manifest.initial_cash == 25_000.0
    assert manifest.risk_limits == {"max_orders_per_day": 3}
    assert manifest.window is None  # it recorded no bars


def test_an_old_run_directory_still_lists_and_shows(tmp_path: Path):
    run_dir = tmp_path / "old"  # no run_id in the file: the directory names it
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(
        json.dumps({k: v for k, v in OLD_BACKTEST.items() if k != "run_id"})
    )
    (run_dir / "metrics.json").write_text(json.dumps({"total_return": 0.1}))
    record = RunStore(tmp_path).get("old")
    assert record.run_id == "old" and record.manifest.strategy.name == "sma_cross"
    shown = CliRunner().invoke(cli, ["runs", "show", "old", "--runs-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert 'strategy  sma_cross {"fast": 10, "slow": 30}' in shown.output
    assert "costs     commission 0, slippage 5bps, fill at None, cash $100,000.00" in shown.output
    listed = CliRunner().invoke(cli, ["runs", "list", "--runs-dir", str(tmp_path), "--json"])
    assert json.loads(listed.output)[0] == {
        "run_id": "old",
        "run_dir": str(run_dir),
        "mode": "backtest",
        "strategy": "sma_cross",
        "metrics": {"total_return": 0.1},
    }


def test_a_backtest_writes_a_manifest_the_typed_reader_reproduces(tmp_path: Path):
    config = BacktestConfig(symbols=("IBM",), runs_dir=tmp_path, commission="1bps")
    run_dir = run_backtest(config, run_id="bt").run_dir
    written = json.loads((run_dir / "manifest.json").read_text())
    assert Manifest.from_dict(written).to_dict() == written  # nothing lost, nothing added
    manifest = RunStore(tmp_path).get("bt").manifest
    assert (manifest.run_id, manifest.mode, manifest.venue) == ("bt", "backtest", "sim")
    assert manifest.strategy.cls == "parity.strategies.sma_cross.SmaCross"
    assert (manifest.commission, manifest.slippage, manifest.cash) == ("1bps", "5bps", 100_000.0)
    assert manifest.costs["commission_pct"] == 0.0001 and manifest.extra == {}
