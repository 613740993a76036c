"""The dashboard's twin of a paper run is `simulate` on the run's tape, in memory: the equity the
dashboard draws beside the run equals, to the cent at every bar, what `parity run backtest`
prints for the same bars with the run's options (costs, latency, volume share, risk, cash)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from parity.feeds.loader import load_bars
from parity.journal import BarRecord, EquityRecord, Journal
from parity.risk.limits import RiskLimits
from parity.runners.dashboard import dashboard_server, tape_twin_equity
from parity.runners.paper_config import PaperConfig

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

PARITY = [sys.executable, "-c", "from parity.cli import main; main()"]
RUN_ID = "20131007-093000-twin-abcdef"
SYMBOLS = ("BAC", "IBM")  # IBM misses bars BAC has: the twin aligns them as a backtest does
CASH = 50_000.0
OPTIONS: dict[str, Any] = {
    "commission": "0.005/share,min=1",
    "slippage": "2bps",
    "latency_ms": 30_000,
    "volume_share": 0.5,
    "risk": {"max_position_shares": 300},
}
CLI_OPTIONS = [
    "--commission", "0.005/share,min=1", "--slippage", "2bps", "--latency", "30000",
    "--volume-share", "0.5", "--max-position-shares", "300",
]  # fmt: skip


def _tape() -> pd.DataFrame:
    """Three sessions of the sample's minute bars as a paper run's journal holds them."""
    loaded = load_bars(
        "sample:minute", SYMBOLS, start=dt.date(2013, 10, 7), end=dt.date(2013, 10, 9),
        session="regular",
    )  # fmt: skip
    rows = [
        frame.assign(symbol=series.symbol)
        for series in loaded.series
        for frame in [series.frame.rename_axis("datetime").reset_index()]
    ]
    return pd.concat(rows).sort_values(["datetime", "symbol"], kind="stable")


def _paper_config() -> PaperConfig:
    risk = RiskLimits.from_mapping(OPTIONS["risk"])
    fields = {k: v for k, v in OPTIONS.items() if k != "risk"}
    return PaperConfig(strategy="rsi_reversion", symbols=SYMBOLS, cash=CASH, risk=risk, **fields)


def _journal_run(runs: Path, tape: pd.DataFrame) -> None:
    """A paper run's journal: its manifest (configuration) and tape, and an equity row per bar
    (flat at the starting cash: the dashboard draws the twin on the run's own bar times)."""
    config = _paper_config()
    manifest = {
        "run_id": RUN_ID, "mode": "paper", "venue": "local",
        "strategy": {"name": config.strategy}, "symbols": list(SYMBOLS), "timeframe": "1Min",
        "starting_cash": CASH, "cash": CASH, "config": config.to_dict(),
    }  # fmt: skip
    journal = Journal.open(runs / RUN_ID / "journal.sqlite", create=True)
    journal.start_run(RUN_ID, manifest, mode="paper", venue="local", pid=os.getpid())
    now = dt.datetime.now(dt.UTC)
    columns = ["symbol", "datetime", "open", "high", "low", "close", "volume"]
    journal.bars(
        BarRecord(symbol, at.to_pydatetime(), op, hi, lo, cl, vol, "stream", now)
        for symbol, at, op, hi, lo, cl, vol in tape[columns].itertuples(index=False)
    )
    times = sorted(set(tape["datetime"]))
    journal.equity(EquityRecord(i, t.to_pydatetime(), CASH, CASH) for i, t in enumerate(times))
    journal.flush()
    journal.close()


def _backtest_of(tape: pd.DataFrame, tmp: Path) -> pd.DataFrame:
    """`parity run backtest` of the tape's bars (one CSV per symbol) with the run's options."""
    data = tmp / "tape-bars"
    data.mkdir()
    for symbol, rows in tape.groupby("symbol"):
        columns = ["datetime", "open", "high", "low", "close", "volume"]
        rows[columns].to_csv(data / f"{symbol}.csv", index=False)
    argv = [
        *PARITY, "run", "backtest", "rsi_reversion", "--data", str(data),
        "--symbols", ",".join(SYMBOLS), "--cash", str(CASH), "--raw", *CLI_OPTIONS,
        "--runs-dir", str(tmp / "backtests"), "--json",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    run_dir = Path(json.loads(done.stdout)["run_dir"])
    orders = pd.read_csv(run_dir / "orders.csv")
    assert (orders["filled_qty"] > 0).sum() >= 5  # the twin has trades to get right ...
    assert orders["reason"].str.startswith("risk: max position", na=False).any()  # ... refusals
    return pd.read_csv(run_dir / "equity.csv", index_col="datetime", parse_dates=["datetime"])


def _cents(values: Any) -> list[float]:
    return [round(float(v), 2) for v in values]


def test_the_dashboards_twin_is_run_backtest_on_the_tape_to_the_cent(tmp_path: Path) -> None:
    tape = _tape()
    runs = tmp_path / "runs"
    _journal_run(runs, tape)
    backtest = _backtest_of(tape, tmp_path)
    assert backtest["value"].nunique() > 100  # equity moves with positions, not flat cash
    with dashboard_server(runs, twin_interval=0) as server:
        url = f"{server.url}api/runs/{RUN_ID}/summary"
        deadline = time.monotonic() + 120
        while True:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = json.loads(response.read())
            if body["twin"]["state"] in ("ready", "error"):
                break
            assert time.monotonic() < deadline, body["twin"]
            time.sleep(0.2)
    assert body["twin"]["state"] == "ready", body["twin"]
    assert body["twin"]["source"] == "backtest on the tape received so far"
    series = body["series"]
    times = pd.to_datetime(series["t"], unit="s")
    assert list(times) == list(backtest.index)  # every bar, none thinned
    assert _cents(series["twin"]) == _cents(backtest["value"])


def test_the_twin_provider_follows_the_runs_options(tmp_path: Path) -> None:
    """The provider (what the dashboard's worker calls) on a run's manifest and tape: the
    run's costs, latency, volume share and risk limits change the twin as they change a
    backtest (a frictionless twin would not match)."""
    from parity.manifest import Manifest

    tape = _tape()
    config = _paper_config()
    manifest = Manifest.from_dict(
        {"run_id": RUN_ID, "mode": "paper", "starting_cash": CASH, "config": config.to_dict()}
    )
    twin = tape_twin_equity(manifest, tape)
    backtest = _backtest_of(tape, tmp_path)
    assert _cents(twin) == _cents(backtest["value"])
    bare = dict(config.to_dict(), commission="0", slippage="0", latency_ms=0, volume_share=1.0)
    frictionless = tape_twin_equity(
        Manifest.from_dict({"run_id": RUN_ID, "starting_cash": CASH, "config": bare}), tape
    )
    assert _cents(frictionless) != _cents(backtest["value"])
