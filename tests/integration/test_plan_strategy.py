"""The `plan` strategy on a constructed series: each bracket hits its take-profit, its stop-loss
or expires; sizing by risk; a stop entry with oco exits; the ambiguity rule applied, counted and
flagged (`finer-data` resolved on hourly bars); identical with preload/runonce on and off; and
the same through `parity run backtest`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from plan_series import ENTRY_REASONS, HOURLY_STOP_FIRST, SESSIONS, write_series

import parity
from parity.cli import cli
from parity.engine.ambiguity import FinerBars
from parity.errors import DataError
from parity.journal import Journal, run_journal_target

NO_COSTS = parity.cost_model(commission="0", slippage="0")


def day(i: int) -> pd.Timestamp:
    return pd.Timestamp(SESSIONS[i])


def expected(
    ambiguous_exit: float, reason: str, flag: str, oco_exit: float = 98.0, oco_reason: str = "stop"
) -> pd.DataFrame:
    rows = [
        (3, 4, 100.0, 104.0, 10, 40.0, "target", "", "target-row", 0.9),
        (7, 8, 100.0, 96.0, 25, -100.0, "stop", "", "stop-row", 0.1),
        (11, 15, 100.0, 100.0, 10, 0.0, "expiry", "", "expiry-row", 0.5),
        (18, 19, 100.0, ambiguous_exit, 10, (ambiguous_exit - 100) * 10, reason, flag,
         "ambiguous-row", 0.6),
        (27, 28, 102.0, 105.0, 10, 30.0, "target", "", "stop-entry-row", 0.4),
        (31, 32, 102.0, oco_exit, 10, (oco_exit - 102) * 10, oco_reason, flag,
         "oco-ambiguous-row", 0.3),
    ]  # fmt: skip
    return pd.DataFrame(
        {
            "entry_time": [day(r[0]) for r in rows],
            "exit_time": [day(r[1]) for r in rows],
            "entry_price": [r[2] for r in rows],
            "exit_price": [r[3] for r in rows],
            "qty": [float(r[4]) for r in rows],
            "pnl_net": [r[5] for r in rows],
            "entry_reason": [ENTRY_REASONS[r[8]] for r in rows],
            "exit_reason": [r[6] for r in rows],
            "ambiguous": [r[7] for r in rows],
            "tag": [r[8] for r in rows],
            "score": [r[9] for r in rows],
        }
    )


COLUMNS = list(expected(96.0, "stop", "stop-first").columns)


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_series(tmp_path_factory.mktemp("plan"))


def simulate(root: Path, preload: bool = True, **kwargs) -> parity.RunResult:
    bars = parity.load_bars(str(root / "daily"), ["ACME"])
    plan = {"plan": str(root / "trade_plan.csv")}
    return parity.simulate(bars, "plan", plan, NO_COSTS, preload=preload, **kwargs)


@pytest.mark.parametrize("preload", [True, False])
def test_brackets_hit_target_stop_and_expire_the_same_with_preload_on_and_off(
    series: Path, preload: bool
) -> None:
    run = simulate(series, preload)
    got = run.trades[COLUMNS].reset_index(drop=True)
    # no rule given: the exit placed first fills, the plan's stop-loss (Backtrader's order)
    # (the stop entry's oco pair too: its stop-loss was placed first)
    pd.testing.assert_frame_equal(got, expected(96.0, "stop", "placed-first"), check_dtype=False)
    assert run.metrics["ambiguous_exits"] == 2
    assert run.metrics["ambiguity_rule"] == "placed-first"
    orders = run.orders.set_index("client_order_id")
    # the limit entry at 90 was never reached: cancelled at the close of its valid_until
    never = orders[(orders["type"] == "limit") & (orders["limit_price"] == 90.0)]
    assert never["status"].tolist() == ["canceled"]
    assert run.equity["value"].iloc[-1] == pytest.approx(100_000 + 40 - 100 + 0 - 40 + 30 - 40)


@pytest.mark.parametrize(
    ("rule", "exit_price", "reason"),
    [("target-first", 104.0, "target"), ("stop-first", 96.0, "stop")],
)
def test_a_stated_rule_decides_the_ambiguous_bar(
    series: Path, rule: str, exit_price: float, reason: str
) -> None:
    run = simulate(series, ambiguous=rule)
    got = run.trades[COLUMNS].reset_index(drop=True)
    # the bracket's and the oco pair's ambiguous bars go the same way
    oco_exit = 105.0 if reason == "target" else 98.0
    want = expected(exit_price, reason, rule, oco_exit, reason)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert run.metrics["ambiguous_exits"] == 2


@pytest.mark.parametrize(
    ("hours", "exit_price", "reason"), [(None, 104.0, "target"), ("stop", 96.0, "stop")]
)
def test_finer_data_resolves_the_ambiguous_bar_on_hourly_bars(
    tmp_path: Path, hours: str | None, exit_price: float, reason: str
) -> None:
    root = write_series(tmp_path, **({"hours": HOURLY_STOP_FIRST} if hours else {}))
    hourly = parity.load_bars(str(root / "hourly"), ["ACME"])
    finer = FinerBars({s.symbol: s.frame for s in hourly.series})
    run = simulate(root, ambiguous="finer-data", finer=finer)
    got = run.trades[COLUMNS].reset_index(drop=True)
    # the oco pair's day reaches both exits in every hour too: the stop-loss, as stop-first
    pd.testing.assert_frame_equal(
        got, expected(exit_price, reason, "finer-data"), check_dtype=False
    )
    assert run.metrics["ambiguous_exits"] == 2


def test_a_plan_naming_a_symbol_the_run_does_not_trade_is_one_line(series: Path) -> None:
    bars = parity.load_bars("sample", ["IBM"])
    with pytest.raises(DataError, match=r"line 2: symbol 'ACME' is not a symbol of this run"):
        parity.simulate(bars, "plan", {"plan": str(series / "trade_plan.csv")})


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def written(out: str) -> str:
    """The `run ID written to DIR` line (the next commands follow it)."""
    return next(line for line in out.splitlines() if " written to " in line)


def test_the_cli_backtest_writes_reasons_and_counts_ambiguity(series: Path, tmp_path: Path) -> None:
    common = ["run", "backtest", "plan", "--data", str(series / "daily"), "--symbols", "ACME",
              "--param", f"plan={series / 'trade_plan.csv'}", "--commission", "0",
              "--slippage", "0", "--runs-dir", str(tmp_path)]  # fmt: skip
    code, out = run_cli(*common, "--ambiguous", "finer-data", "--finer", str(series / "hourly"))
    assert code == 0, out
    assert (
        "ambiguous exits: 2 (a bar reached both take-profit and stop-loss; decided "
        "finer-data, flagged in trades.csv)" in out
    )
    run_dir = Path(written(out).split(" written to ")[1])
    trades = pd.read_csv(run_dir / "trades.csv", keep_default_na=False)
    assert trades["exit_reason"].tolist() == [
        "target", "stop", "expiry", "target", "target", "stop"
    ]  # fmt: skip
    assert trades["ambiguous"].tolist() == ["", "", "", "finer-data", "", "finer-data"]
    assert json.loads((run_dir / "metrics.json").read_text())["ambiguous_exits"] == 2
    # the journal keeps every order's decision with its plan row, and the ambiguous exit
    journal = Journal.open(run_journal_target(run_dir), create=False)
    try:
        decisions = journal.reader.decisions(journal.reader.runs()[0].run_id)
    finally:
        journal.close()
    actions = decisions["action"].tolist()
    entries = [a for a in actions if a.startswith("plan ")]  # each entry says its plan row
    assert len(entries) == 7 and actions.count("ambiguous") == 2
    assert entries[0] == ENTRY_REASONS["target-row"]
    entry = decisions[decisions["action"] == entries[0]].iloc[0]["payload"]
    assert entry["tag"] == "target-row" and entry["plan"]["line"] == 2
    assert entry["client_order_id"].endswith("-000001")


def test_the_cli_refuses_finer_data_without_finer_bars(series: Path, tmp_path: Path) -> None:
    code, out = run_cli("run", "backtest", "plan", "--data", str(series / "daily"), "--symbols",
                        "ACME", "--param", f"plan={series / 'trade_plan.csv'}", "--ambiguous",
                        "finer-data", "--runs-dir", str(tmp_path))  # fmt: skip
    assert code == 2
    assert (
        out.strip()
        .splitlines()[-1]
        .endswith(
            "--ambiguous finer-data needs bars finer than the run's: give --finer SOURCE "
            "(e.g. a directory of hourly SYMBOL.csv files)"
        )
    )
    code, out = run_cli("run", "backtest", "plan", "--data", str(series / "daily"), "--symbols",
                        "ACME", "--param", f"plan={series / 'trade_plan.csv'}", "--ambiguous",
                        "finer-data", "--finer", str(series / "daily"), "--runs-dir",
                        str(tmp_path))  # fmt: skip
    assert code == 2
    assert "has 1Day bars, not finer than the run's 1Day" in out


def test_rows_dated_before_the_run_are_not_traded_late(series: Path, tmp_path: Path) -> None:
    plan = tmp_path / "late.csv"
    plan.write_text(
        "date,symbol,side,qty,tp,sl,valid_until\n"
        "2023-12-29,ACME,long,10,104,96,\n"  # before the first bar: not traded late
        f"{SESSIONS[2]},ACME,long,10,104,96,\n"
    )
    bars = parity.load_bars(str(series / "daily"), ["ACME"])
    run = parity.simulate(bars, "plan", {"plan": str(plan)}, NO_COSTS)
    assert run.trades["entry_time"].tolist() == [day(3)]
    assert run.trades["exit_reason"].tolist() == ["target"]


def test_on_hourly_bars_a_row_expires_at_the_first_bar_after_its_last_session(
    series: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "hourly.csv"
    plan.write_text(f"date,symbol,side,qty,tp,sl,max_days\n{SESSIONS[5]},ACME,long,10,104,96,1\n")
    bars = parity.load_bars(str(series / "hourly"), ["ACME"])
    runs = [
        parity.simulate(bars, "plan", {"plan": str(plan)}, NO_COSTS, preload=preload)
        for preload in (True, False)
    ]
    at = pd.Timestamp
    for run in runs:
        trade = run.trades.iloc[0]
        # placed at the close of the first bar of its day, filled at the next bar's open;
        # its one session after is s6; at s7's first bar it expires, sold at the next open
        assert (trade["entry_time"], trade["exit_time"]) == (
            at(f"{SESSIONS[5]} 10:30"),
            at(f"{SESSIONS[7]} 11:30"),
        )
        assert (trade["exit_reason"], trade["pnl_net"]) == ("expiry", 0.0)
    pd.testing.assert_frame_equal(runs[0].trades, runs[1].trades)


@pytest.mark.parametrize("preload", [True, False])
def test_the_bundled_example_trades_the_same_with_preload_on_and_off(preload: bool) -> None:
    from parity.runners.plan import EXAMPLE_SYMBOLS

    shipped = Path(parity.__file__).resolve().parent / "data" / "plans" / "trade_plan_2012-09.csv"
    bars = parity.load_bars(
        "sample", list(EXAMPLE_SYMBOLS), adjustment="splits",
        start=dt.date(2012, 8, 1), end=dt.date(2012, 10, 31),
    )  # fmt: skip
    run = parity.simulate(bars, "plan", {"plan": str(shipped)}, preload=preload)
    assert run.metrics["trades"] == 21
    assert run.metrics["total_return"] == pytest.approx(0.0269, abs=5e-5)
    assert run.trades["pnl_net"].sum() == pytest.approx(run.equity["value"].iloc[-1] - 100_000)


def test_status_marks_open_positions_at_the_latest_bars_of_a_source(
    series: Path, tmp_path: Path
) -> None:
    code, out = run_cli("run", "backtest", "plan", "--data", str(series / "daily"), "--symbols",
                        "ACME", "--param", f"plan={series / 'trade_plan.csv'}", "--commission",
                        "0", "--slippage", "0", "--to", str(SESSIONS[3]), "--runs-dir",
                        str(tmp_path / "runs"))  # fmt: skip
    assert code == 0, out
    run_id = written(out).split()[1]
    later = tmp_path / "later"
    later.mkdir()
    (later / "ACME.csv").write_text(
        "date,open,high,low,close,volume\n"
        f"{SESSIONS[4]},100,101,99,100,1000\n{SESSIONS[5]},100,111,99,110,1000\n"
    )
    args = ["status", run_id, "--runs-dir", str(tmp_path / "runs")]
    code, out = run_cli(*args, "--prices", str(later))
    assert code == 0, out
    assert "position   ACME           10 @ $100.00  last $110.00  unrealized $100.00" in out
    assert "equity     $100,100.00   cash $99,000.00" in out
    assert f"marked     at the latest bars of {later}: ACME {SESSIONS[5]}T00:00" in out
    code, out = run_cli(*args, "--prices", str(tmp_path / "missing"))
    assert code == 3 and len(out.strip().splitlines()) == 1


def test_short_rows_trade_with_allow_short_and_are_refused_without(
    series: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "short.csv"
    plan.write_text(
        "date,symbol,side,qty,tp,sl\n"
        f"{SESSIONS[2]},ACME,short,10,96,104\n"  # s4 reaches 105: the stop-loss at 104
        f"{SESSIONS[6]},ACME,sell,10,96,104\n"  # s8 reaches 95: the take-profit at 96
    )
    bars = parity.load_bars(str(series / "daily"), ["ACME"])
    run = parity.simulate(bars, "plan", {"plan": str(plan)}, NO_COSTS, allow_short=True)
    assert run.trades["side"].tolist() == ["short", "short"]
    assert run.trades["exit_price"].tolist() == [104.0, 96.0]
    assert run.trades["pnl_net"].tolist() == [-40.0, 40.0]
    assert run.trades["exit_reason"].tolist() == ["stop", "target"]
    refused = parity.simulate(bars, "plan", {"plan": str(plan)}, NO_COSTS)
    assert refused.trades.empty
    assert refused.orders["reason"].iloc[0] == "short selling is disabled (allow_short=false)"
