"""`run paper --continue` of an options run (issue 17): the bundled `put_credit_spread` on the
IBM daily sample at the local venue (lock-step, alpaca-py over loopback), run one window at a
time, stopped cleanly and continued on the next window, ends with the option trades, orders,
fills (every figure: the quotes a fill is measured against included), cash every bar and
positions of one run over the whole window.

The windows' boundaries fall where it matters:
- the first run ends on 2012-02-02 holding a spread that expires that day: the venue settles
  it (its short put assigned, 200 shares delivered) at its next step, the continued run's first
  bar, and the desk applies the assignment once;
- the run ending 2012-02-03 decides a spread at that close: the combo works overnight at the
  venue and fills at the next run's first open (2012-02-06), measured against the quote the
  earlier run received (read back from `option_tape.csv`);
- the run ending 2012-02-06 holds a spread assigned at that close, settled in the next run.

`protective_put` (shares and a long put, rolled at expiry) too: its first run ends on the bar
that decides its shares (the clean stop cancels the share order; the continued run processes
that bar again live and decides it again, on the chain, as in one run), a later one on the day
its put expires (settled in the next run).

One step is the CLI as a user runs it (`parity run paper --continue RUN --to DATE`); the
others call `continue_paper` to keep the test short.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from parity.runners.paper import PaperConfig, run_paper
from parity.runners.paper_continue import DayChanges, continue_paper
from parity.timeframe import parse_timeframe

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(600)]

END = dt.date(2012, 2, 10)
STRATEGY = "put_credit_spread"


def _config(
    runs: Path, end: dt.date, run_id: str, strategy: str = STRATEGY, **kwargs: object
) -> PaperConfig:
    return PaperConfig(
        strategy=strategy, symbols=("IBM",), data="sample:daily", commission="0",
        slippage="0", cash=100_000.0, start=dt.date(2012, 1, 3), end=end, venue="local",
        timeframe=parse_timeframe("1Day"), run_id=run_id, runs_dir=runs, daily_reports=False,
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from parity.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ)


def _positions(run_dir: Path) -> dict[str, float]:
    with sqlite3.connect(run_dir / "journal.sqlite") as journal:
        rows = journal.execute(
            "SELECT symbol, SUM(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills "
            "GROUP BY symbol"
        ).fetchall()
    return {s: q for s, q in rows if abs(q) > 1e-9}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(one run over the whole window, the run continued window by window)."""
    root = tmp_path_factory.mktemp("optcont")
    one = run_paper(_config(root / "one", END, "one")).run_dir
    days = root / "days"
    run_paper(_config(days, dt.date(2012, 2, 2), "day"))
    done = _cli("run", "paper", "--continue", "day", "--to", "2012-02-03",
                "--runs-dir", str(days))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for end in (dt.date(2012, 2, 6), dt.date(2012, 2, 7), END):
        result = continue_paper(days / "day", DayChanges(end=end, strategy=STRATEGY))
        assert result.run_id == "day"
    return one, days / "day"


def test_continued_options_run_equals_one_run(runs: tuple[Path, Path]) -> None:
    one, day = runs
    for name in ("options_trades.csv", "options_orders.csv", "options_fills.csv", "trades.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(day / name), pd.read_csv(one / name))
    trades = pd.read_csv(one / "options_trades.csv")
    assert trades["outcome"].tolist() == ["assigned", "assigned", "expired", "open"]
    assert trades["pnl"].tolist() == [-70.0, 98.0, 16.0, 90.0]
    # every settlement applied once: one assignment and one expiry row per assigned spread
    fills = pd.read_csv(day / "options_fills.csv")
    settled = fills[fills["kind"] != "trade"].groupby("group")["kind"].apply(sorted)
    assert settled.to_dict() == {
        1: ["assignment", "expiry"], 2: ["assignment", "expiry"],
        3: ["expiry", "expiry"],
    }  # fmt: skip
    # spread 2 was decided at 2012-02-03's close (a run's last bar) and filled at the next
    # run's first open, measured against the quote the earlier run saw
    orders = pd.read_csv(day / "options_orders.csv").set_index("order")
    assert (orders.loc[2, "submitted_at"], orders.loc[2, "filled_at"]) == (
        "2012-02-03 16:00:00", "2012-02-06 09:30:00"
    )  # fmt: skip
    assert fills.loc[(fills["order"] == 2) & (fills["leg"] == 1), "spread_cost"].item() == 7.0
    # cash every bar, to the cent, and each session recorded once
    one_equity, day_equity = pd.read_csv(one / "equity.csv"), pd.read_csv(day / "equity.csv")
    pd.testing.assert_frame_equal(day_equity, one_equity)
    assert day_equity["datetime"].is_unique
    assert round(day_equity["cash"].iloc[-1], 2) == round(one_equity["cash"].iloc[-1], 2)
    # every fill, shares delivered by the assignments included, those of one moment in a
    # stable order (a share fill and a combo fill of one open are journaled in the order the
    # desk and the broker hear them); the continued run's order ids number on past the share
    # orders each clean stop cancelled (decided again on the bar processed again)
    columns = ["datetime", "bar", "symbol", "side", "qty", "price", "commission", "kind"]

    def every_fill(run: Path) -> pd.DataFrame:
        return pd.read_csv(run / "fills.csv")[columns].sort_values(columns, ignore_index=True)

    assert len(every_fill(one)) == 18
    pd.testing.assert_frame_equal(every_fill(day), every_fill(one))
    assert _positions(day) == _positions(one)


def test_continued_protective_put_equals_one_run(tmp_path: Path) -> None:
    end = dt.date(2012, 3, 2)
    one = run_paper(_config(tmp_path / "one", end, "one", "protective_put")).run_dir
    days = tmp_path / "days"
    run_paper(_config(days, dt.date(2012, 2, 1), "pp", "protective_put"))
    for each in (dt.date(2012, 2, 22), end):
        continue_paper(days / "pp", DayChanges(end=each, strategy="protective_put"))
    day = days / "pp"
    for name in (
        "options_trades.csv", "options_orders.csv", "options_fills.csv", "options_greeks.csv",
        "options_positions.csv", "trades.csv", "equity.csv",
    ):  # fmt: skip
        pd.testing.assert_frame_equal(pd.read_csv(day / name), pd.read_csv(one / name))
    fills = pd.read_csv(day / "options_fills.csv")
    assert fills[["datetime", "kind", "symbol", "qty"]].values.tolist() == [
        ["2012-02-03 09:30:00", "trade", "IBM120222P00187000", 1],
        ["2012-02-22 16:00:00", "expiry", "IBM120222P00187000", -1],
        ["2012-02-24 09:30:00", "trade", "IBM120314P00194000", 1],
    ]
    shares = pd.read_csv(day / "fills.csv").query("symbol == 'IBM'")
    assert shares[["datetime", "qty", "price"]].values.tolist() == [["2012-02-02", 100, 192.72]]
    assert _positions(day) == _positions(one) == {"IBM": 100.0, "IBM120314P00194000": 1.0}


def test_continue_refuses_a_changed_options_setup(tmp_path: Path) -> None:
    """The options setup is the run's: a `--continue` naming another is refused in one line
    (nothing run); naming the run's own, or none, continues it."""
    from click.testing import CliRunner

    from parity.cli import cli

    runs = str(tmp_path / "runs")

    def paper(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["run", "paper", *args, "--runs-dir", runs])
        return result.exit_code, result.output

    code, out = paper(
        STRATEGY, "--venue", "local", "--symbols", "IBM", "--data", "sample:daily",
        "--timeframe", "1Day", "--from", "2012-01-03", "--to", "2012-01-05", "--cash", "100000",
        "--commission", "0", "--slippage", "0", "--no-daily-reports", "--run-id", "opt",
        "--half-spread", "0.03", "--venue-option-spread", "0.05",
    )  # fmt: skip
    assert code == 0, out
    equity = tmp_path / "runs" / "opt" / "equity.csv"
    assert len(pd.read_csv(equity)) == 3
    code, out = paper("--continue", "opt", "--to", "2012-01-06", "--venue-option-spread", "0.04")
    assert code != 0
    assert out.strip().splitlines()[-1] == (
        'error: run opt trades options with venue_options {"half_spread": 0.05}, not '
        '{"half_spread": 0.04}: --continue keeps a run\'s options setup; drop the option flags or '
        "start a new run"
    )
    code, out = paper("--continue", "opt", "--to", "2012-01-06", "--half-spread", "0.05")
    assert code != 0
    assert (
        out.strip()
        .splitlines()[-1]
        .startswith(
            'error: run opt trades options with options {"model": {"half_spread": 0.03}}, not '
            '{"model": {"half_spread": 0.05}}'
        )
    )
    assert len(pd.read_csv(equity)) == 3  # refused before anything ran
    code, out = paper(
        "--continue", "opt", "--to", "2012-01-06", "--half-spread", "0.03",
        "--venue-option-spread", "0.05",
    )  # fmt: skip
    assert code == 0, out
    assert pd.read_csv(equity)["datetime"].tolist()[-1].startswith("2012-01-06")
