"""The bundled option strategies and the desk's rules on generated data: the iron condor on a
cash-settled index with a lot size settles in cash, the covered call's assigned calls deliver
its shares away, the early-assignment rule, GARCH volatility from `arch`, and the command line
(`parity strategies`, `--iv-mult` side by side, bad option flags)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from parity.engine.simulate import simulate
from parity.feeds.bars import BarSeries
from parity.feeds.synthetic import session_bars
from parity.instruments.calendars import calendar_named
from parity.options.setup import OptionsSetup
from parity.options.volatility import GarchVol
from parity.strategies.options_base import OptionsStrategy
from parity.timeframe import DAILY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def synthetic(
    symbol: str, mic: str, price: float, vol: float, last: dt.date, seed: int = 4
) -> BarSeries:
    frame = session_bars(
        calendar_named(mic),
        dt.date(2023, 1, 2),
        last,
        DAILY,
        seed=seed,
        price=price,
        volatility=vol,
    )
    return BarSeries(symbol, frame, DAILY, "synthetic")


def test_iron_condor_on_a_cash_settled_index_settles_in_cash_with_its_lot_size() -> None:
    bars = synthetic("NIFTY.NS", "XNSE", 21_500.0, 0.008, dt.date(2023, 6, 30))
    result = simulate(bars, "iron_condor", {})
    fills, trades = result.options.fills, result.options.trades
    assert len(trades) > 5
    assert all(len(legs.split()) == 4 for legs in trades["legs"])
    assert set(fills["kind"]) <= {"trade", "expiry", "cash_settlement"}
    settled = fills[fills["kind"] == "cash_settlement"]
    assert len(settled)
    for row in settled.itertuples():
        intrinsic = (
            max(row.underlying_price - row.strike, 0)
            if row.right == "call"
            else max(row.strike - row.underlying_price, 0)
        )
        assert row.price == pytest.approx(intrinsic)
        assert row.cash == pytest.approx(-row.qty * 50 * intrinsic)  # the lot size, not 100
        assert row.shares == 0
    closes = bars.frame["close"]
    expired = fills[fills["kind"] == "expiry"]
    for row in expired.itertuples():
        spot = float(closes[closes.index.normalize() == row.datetime.normalize()].iloc[0])
        assert (spot - row.strike if row.right == "call" else row.strike - spot) < 0.01


def test_covered_call_assignment_delivers_its_shares_away_and_buys_them_back() -> None:
    bars = synthetic("AAPL", "XNYS", 150.0, 0.012, dt.date(2023, 12, 29))
    result = simulate(bars, "covered_call", {})
    fills, orders = result.options.fills, result.options.orders
    assert "rejected" not in set(orders["status"])  # the shares cover every call sold
    assigned = fills[fills["kind"] == "assignment"]
    assert len(assigned) >= 2
    for row in assigned.itertuples():
        assert (row.qty, row.shares, row.cash) == (1, -100.0, 100 * row.strike)
    stock = result.fills[result.fills["symbol"] == "AAPL"]
    buys = stock[(stock["side"] == "buy") & (stock["kind"] == "trade")]
    assert len(buys) == 1 + len(assigned)  # the first 100 shares, then once after each assignment
    # each assignment is in fills.csv too: the shares delivered away at the strike
    away = stock[stock["kind"] == "assignment"]
    assert list(zip(away["side"], away["qty"], away["price"], strict=True)) == [
        ("sell", 100, strike) for strike in assigned["strike"]
    ]


class ShortPut(OptionsStrategy):
    log: ClassVar[list[Any]] = []

    def next(self) -> None:
        if len(self.datas[0]) == 25:
            quotes = self.options.chain(right="put", dte=(3, 3), strikes=(97.5, 98.5))
            self.options.sell(quotes[0].contract, 1)

    def notify_leg(self, order: Any, fill: Any) -> None:
        type(self).log.append((fill.kind, fill.time.date()))


def test_the_early_assignment_rule_assigns_a_deep_in_the_money_short_put_before_expiry() -> None:
    rng = np.random.default_rng(2)
    sessions = calendar_named("XNYS").sessions(dt.date(2024, 1, 2), dt.date(2024, 3, 28)).date
    closes = list(100 * np.exp(np.cumsum(rng.normal(0, 0.008, 30))).round(2))
    closes[24], closes[25], closes[26], closes[27] = 100.0, 85.0, 85.0, 85.0
    import pandas as pd

    opens = [100.0, *closes[:-1]]
    frame = pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) + 0.1,
            "low": np.minimum(opens, closes) - 0.1,
            "close": closes,
            "volume": 1e6,
        },
        index=pd.DatetimeIndex(pd.to_datetime(sessions[:30]), name="datetime").as_unit("ns"),
    )
    bars = BarSeries("SPY", frame, DAILY, "test")
    ShortPut.log = []
    simulate(bars, ShortPut, {}, options=OptionsSetup())
    assert [k for k, _ in ShortPut.log] == ["trade", "assignment"]
    on_expiry = ShortPut.log[1][1]
    ShortPut.log = []
    early = OptionsSetup.for_strategy(ShortPut, {"lifecycle": {"early_assignment": True}})
    simulate(bars, ShortPut, {}, options=early)
    assert [k for k, _ in ShortPut.log] == ["trade", "assignment"]
    assert ShortPut.log[1][1] == sessions[25] < on_expiry  # the first close deep in the money


def test_garch_volatility_is_arch_s_one_step_forecast() -> None:
    from arch import arch_model

    closes = 100 * np.exp(np.cumsum(np.random.default_rng(9).normal(0, 0.01, 121)))
    vol = GarchVol(refit=21, warmup=100)
    for close in closes[:101]:
        vol.update(float(close))
    returns = [100 * math.log(b / a) for a, b in itertools.pairwise(closes[:101])]
    fitted = arch_model(returns, vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
    want = math.sqrt(float(fitted.forecast(horizon=1).variance.iloc[-1, 0]) / 1e4 * 252)
    assert vol.sigma == pytest.approx(want, rel=1e-9)


def _parity(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "from parity.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ,
    )


def test_the_command_line_lists_the_strategies_runs_iv_sensitivity_and_refuses_bad_flags(
    tmp_path: Path,
) -> None:
    listed = _parity("strategies", cwd=tmp_path)
    for name in ("put_credit_spread", "iron_condor", "covered_call"):
        assert f"\n{name} " in listed.stdout
    assert (
        "profit_target=0.5 (float)" in listed.stdout and "max_loss=200.0 (float)" in listed.stdout
    )
    bars = synthetic("SPY", "XNYS", 470.0, 0.008, dt.date(2023, 5, 31), seed=3)
    bars.frame.to_csv(tmp_path / "SPY.csv", index_label="date")
    run = _parity(
        "run",
        "backtest",
        "put_credit_spread",
        "--data",
        "SPY.csv",
        "--symbols",
        "SPY",
        "--runs-dir",
        "runs",
        "--iv-mult",
        "0.9,1.1",
        "--option-commission",
        "1/contract",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    table = run.stdout[run.stdout.index("iv_mult ") :].splitlines()
    assert table[0].split() == ["iv_mult", "0.9", "1.1"]
    assert table[4].split()[:2] == ["option", "trades"]
    assert "sigma = EWMA(0.94) x 0.90" in run.stdout and "sigma = EWMA(0.94) x 1.10" in run.stdout
    assert "commission $1/contract" in run.stdout
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    for run_dir in runs:
        for name in ("orders", "fills", "trades", "greeks"):
            assert (run_dir / f"options_{name}.csv").is_file()
    bad = _parity(
        "run",
        "backtest",
        "put_credit_spread",
        "--data",
        "SPY.csv",
        "--symbols",
        "SPY",
        "--option-commission",
        "cheap",
        cwd=tmp_path,
    )
    assert bad.returncode != 0
    assert "--option-commission 0.65/contract" in bad.stderr and "Traceback" not in bad.stderr
    bad = _parity(
        "options",
        "chain",
        "--data",
        "SPY.csv",
        "--symbol",
        "SPY",
        "--date",
        "2023-03-04",
        cwd=tmp_path,
    )
    assert bad.returncode != 0 and "no bar on 2023-03-04" in bad.stderr


def test_a_backtest_writes_the_options_artifacts_manifest_and_tearsheet_section(
    tmp_path: Path,
) -> None:
    import json

    from parity.config import BacktestConfig
    from parity.runners.backtest import run_backtest
    from parity.runners.report import write_run_tearsheet
    from parity.runstore import RunStore

    bars = synthetic("SPY", "XNYS", 470.0, 0.008, dt.date(2023, 6, 30), seed=3)
    bars.frame.to_csv(tmp_path / "SPY.csv", index_label="date")
    config = BacktestConfig(
        strategy="put_credit_spread", data=str(tmp_path / "SPY.csv"), symbols=("SPY",),
        runs_dir=tmp_path / "runs",
    )  # fmt: skip
    result = run_backtest(config, options={"costs": {"regulatory_fees": True}})
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["options"]["chain"]["iv_mult"] == 1.1
    assert manifest["options"]["costs"]["regulatory_fees"] is True
    metrics = json.loads((result.run_dir / "metrics.json").read_text())["options"]
    fills = pd.read_csv(result.run_dir / "options_fills.csv")
    traded = fills[fills["kind"] == "trade"]
    assert metrics["contracts_traded"] == int(traded["qty"].abs().sum()) > 0
    assert metrics["costs"]["fees"] == round(float(traded["fees"].sum()), 2) > 0
    assert metrics["costs"]["commission"] == round(0.65 * metrics["contracts_traded"], 2)
    trades = pd.read_csv(result.run_dir / "options_trades.csv")
    assert round(float(trades["pnl"][trades["closed"].notna()].sum()), 2) == metrics["pnl"]
    assert any("model-priced: sigma = EWMA(0.94) x 1.10" in line for line in result.summary)
    page = write_run_tearsheet(RunStore(tmp_path / "runs"), result.run_id, benchmark=None, out=None)
    text = page.read_text(encoding="utf-8")
    section = text[text.index('<section id="options">') :]
    assert f"<td>option trades</td><td>{metrics['trades']}</td>" in section
    assert f"<td>cost: commission</td><td>{metrics['costs']['commission']}</td>" in section
    assert "Greeks and exposure" in section
