"""`parity halt` stops the new entries of a running paper rehearsal (local venue), `parity risk
show/reset` read and clear the kill switch, and the risk flags of `run backtest` and `run paper`
reach the guard and the manifest (bad values: one line, exit code 2)."""

from __future__ import annotations

import json
import shlex
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.risk import JsonRiskStateStore
from parity.runners.paper import PaperConfig, PaperResult, run_paper

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(120)]

DAY = ["--from", "2013-10-04", "--to", "2013-10-04"]

SLOW_BUYER = '''
"""Buys one share every `every` bars, sleeping `pause` seconds a bar (a slow, steady run). At
bar `wait_at` it writes `runs/waiting` and waits (up to 30 s) until a `risk_state.json` under
`runs` says the kill switch is on: the test's `parity halt` lands at a known bar, however busy
the machine."""

import json
import time
from pathlib import Path

import backtrader as bt


class SlowBuyer(bt.Strategy):
    params = (("every", 3), ("pause", 0.006), ("wait_at", 40), ("runs", ""))

    def next(self):
        time.sleep(self.p.pause)
        if len(self) == self.p.wait_at:
            self._wait_for_halt()
        if len(self) % self.p.every == 0:
            self.buy(size=1)

    def _wait_for_halt(self):
        (Path(self.p.runs) / "waiting").write_text("bar %d" % len(self))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for path in Path(self.p.runs).glob("*/risk_state.json"):
                try:
                    if json.loads(path.read_text()).get("killed"):
                        return
                except ValueError:
                    pass
            time.sleep(0.02)
'''


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_halt_stops_new_entries_of_a_running_paper_run_until_reset(tmp_path):
    strategy = tmp_path / "slow_buyer.py"
    strategy.write_text(SLOW_BUYER)
    runs = tmp_path / "runs"
    config = PaperConfig(
        slippage="0",
        strategy=f"{strategy}:SlowBuyer",
        params={"runs": str(runs)},
        symbols=("IBM",),
        venue="local",
        data="sample:minute",
        start=pd.Timestamp("2013-10-04").date(),
        end=pd.Timestamp("2013-10-04").date(),
        cash=100_000.0,
        runs_dir=runs,
    )
    result: list[PaperResult] = []
    worker = threading.Thread(target=lambda: result.append(run_paper(config)), daemon=True)
    worker.start()
    _wait_for(lambda: any(runs.glob("*/risk_state.json")))
    run_id = next(runs.glob("*/risk_state.json")).parent.name
    _wait_for(lambda: (runs / "waiting").is_file())  # the strategy is at bar 40: halt it there
    halted = invoke("halt", run_id[:20], "--runs-dir", str(runs), "--reason", "test")
    assert halted.exit_code == 0, halted.output
    assert f"run {run_id} halted" in halted.output
    worker.join(timeout=90)
    assert result, "the paper run did not finish"

    orders = pd.read_csv(result[0].run_dir / "orders.csv", keep_default_na=False)
    halted_reason = "risk: kill switch on (halted by `parity halt`: test); `parity risk reset`"
    is_halted = orders["reason"].str.startswith(halted_reason)
    others = orders[~is_halted]
    assert others["status"].eq("completed").all(), others.to_string()
    assert (~is_halted).sum() >= 3 and is_halted.sum() >= 10
    first = is_halted.idxmax()
    assert is_halted.loc[first:].all()  # nothing got through once halted

    shown = invoke("risk", "show", run_id, "--runs-dir", str(runs), "--json")
    state = json.loads(shown.stdout)
    assert state["killed"] is True and state["kill_reason"] == "halted by `parity halt`: test"
    again = invoke("halt", run_id, "--runs-dir", str(runs))
    assert "already halted" in again.output

    reset = invoke("risk", "reset", run_id, "--runs-dir", str(runs))
    assert reset.exit_code == 0, reset.output
    before, after = reset.output.split("after")
    assert "kill switch   ON (halted by `parity halt`: test" in before
    assert "kill switch   off" in after
    assert not JsonRiskStateStore.in_run(result[0].run_dir).load().killed


def test_risk_commands_name_a_missing_run(tmp_path):
    for args in (["halt", "nope"], ["risk", "show", "nope"], ["risk", "reset", "nope"]):
        result = invoke(*args, "--runs-dir", str(tmp_path))
        assert result.exit_code == 6
        assert result.stderr.startswith("error: run 'nope' not found")


def test_backtest_flags_reach_the_guard_and_the_manifest(tmp_path):
    run_file = tmp_path / "run.yaml"
    run_file.write_text("risk:\n  max_orders_per_day: 5\n  trading_hours: 09:35-15:55\n")
    result = invoke(
        "run", "backtest", "sma_cross", "--data", "sample:minute", "--symbols", "IBM", *DAY,
        "-p", "fast=5", "-p", "slow=20", "--config", str(run_file),
        "--max-orders-per-day", "3", "--max-position-shares", "1000",
        "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["risk"] == {
        "max_position_shares": 1000.0,
        "max_orders_per_day": 3,
        "trading_hours": "09:35-15:55",
        "flatten_on_kill": False,
    }
    reasons = set(pd.read_csv(run_dir / "orders.csv", keep_default_na=False)["reason"])
    assert "risk: max orders per day 3 (would be 5)" in reasons
    assert JsonRiskStateStore.in_run(run_dir).load().day == "2013-10-04"


def _readme_risk_example() -> list[str]:
    """The `parity run backtest` line of the README's risk example, as arguments."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Risk limits", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    command = section.strip().replace("\\\n", " ").splitlines()[0]
    args = shlex.split(command)
    assert args[:3] == ["parity", "run", "backtest"], command
    return args[1:]


def test_readme_risk_example_trades_and_applies_the_trading_hours(tmp_path):
    # the README's example ran on daily bars, where every entry fell outside 09:35-15:55
    result = invoke(*_readme_risk_example(), "--runs-dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    # the regular session by default: no pre- or post-market bar (before --session regular was
    # the default: 7 trades, 15 fills, and entries refused at 07:45 and 16:15 too)
    assert json.loads(result.stdout)["metrics"]["trades"] == 5
    orders = pd.read_csv(run_dir / "orders.csv", keep_default_na=False)
    assert (orders["status"] == "completed").sum() == 10
    assert sorted(orders.loc[orders["status"] == "rejected", "reason"]) == [
        "risk: outside trading hours 09:35-15:55 (bar 09:30)",
    ]


@pytest.mark.parametrize("where", ["flag", "run file"])
def test_trading_hours_on_daily_bars_is_a_one_line_error(tmp_path, where):
    run_file = tmp_path / "run.yaml"
    run_file.write_text("risk:\n  trading_hours: 09:35-15:55\n")
    given = ["--trading-hours", "09:35-15:55"] if where == "flag" else ["--config", str(run_file)]
    result = invoke("run", "backtest", "sma_cross", *given, "--runs-dir", str(tmp_path / "runs"))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: --trading-hours 09:35-15:55 needs intraday bars but these are 1Day bars "
        "(no time of day); drop it or use intraday data, e.g. --data sample:minute --timeframe 5Min"
    )
    assert not (tmp_path / "runs").exists()


def test_trading_hours_on_daily_paper_bars_is_a_one_line_error(tmp_path):
    result = invoke(
        "run", "paper", "sma_cross", "--venue", "local", "--data", "sample", "--symbols", "IBM",
        "--timeframe", "1Day", "--trading-hours", "09:35-15:55", "--runs-dir", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: --trading-hours 09:35-15:55 needs intraday bars but these are 1Day bars "
        "(no time of day); drop it or use intraday data, e.g. --data sample:minute --timeframe 5Min"
    )
    assert not any(tmp_path.iterdir())


def test_paper_flags_reach_the_manifest(tmp_path):
    result = invoke(
        "run", "paper", "sma_cross", "--venue", "local", "--symbols", "IBM", *DAY,
        "--slippage", "0",
        "-p", "fast=5", "-p", "slow=20", "--max-orders-per-day", "2", "--max-drawdown", "15%",
        "--runs-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout.strip().splitlines()[-1])["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["risk"] == {
        "max_orders_per_day": 2,
        "max_drawdown": "15%",
        "flatten_on_kill": False,
    }
    assert "risk.rejected: risk: max orders per day 2 (would be 3)" in result.stderr


@pytest.mark.parametrize("command", ["backtest", "paper"])
@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--max-drawdown", "15"),
        ("--daily-loss-limit", "lots"),
        ("--trading-hours", "09:35"),
        ("--max-open-positions", "-1"),
        ("--max-gross-exposure", "1.5"),
    ],
)
def test_bad_risk_flags_are_one_line_errors(tmp_path, command, flag, value):
    extra = (
        ["--venue", "local", "--slippage", "0", "--symbols", "IBM"] if command == "paper" else []
    )
    result = invoke("run", command, *extra, flag, value, "--runs-dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {flag} {value!r} is invalid")
    assert "e.g." in lines[0]
    assert not any(tmp_path.iterdir())
