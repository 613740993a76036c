"""`--venue sim`: a polling feed with the simulated broker. Yahoo cannot be reached here, so the
bar source is a stand-in that serves recorded bars (the bundled minute sample) as a clock moves:
each poll advances simulated time by five minutes and returns what had completed by then."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.feeds.sample import sample_path
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.venues.sim.session import PollingSession
from parity.venues.types import StreamBar

pytestmark = pytest.mark.timeout(120)
DAY = dt.date(2013, 10, 4)


class RecordedSource:
    """Serves the sample's IBM minute bars of one day as if live: time moves 5 min per poll."""

    def __init__(self, start: dt.datetime, fail_on: tuple[int, ...] = ()) -> None:
        frame = pd.read_csv(
            sample_path("IBM", "minute"), index_col="datetime", parse_dates=["datetime"]
        )
        self.frame = frame[frame.index.date == DAY]
        self.clock = start
        self.polls = 0
        self.fail_on = fail_on

    def now(self) -> dt.datetime:
        return self.clock

    def fetch(self, symbol: str) -> list[StreamBar]:
        self.polls += 1
        self.clock += dt.timedelta(minutes=5)
        if self.polls in self.fail_on:
            raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")
        seen = self.frame[self.frame.index < self.clock]
        return [
            StreamBar(
                symbol, t.to_pydatetime(), r.open, r.high, r.low, r.close, r.volume, source="poll"
            )
            for t, r in seen.iterrows()
        ]


def session(source: RecordedSource) -> PollingSession:
    end = dt.datetime.combine(DAY, dt.time(20, 5))
    return PollingSession(source.fetch, poll_seconds=0, until=end, now=source.now)


def test_polled_run_trades_like_the_backtest(tmp_path: Path):
    params = {"fast": "5", "slow": "20"}
    backtest = run_backtest(
        BacktestConfig(
            strategy="sma_cross",
            params=params,
            data="sample:minute",
            symbols=("IBM",),
            start=DAY,
            end=DAY,
            commission="0",
            slippage="0",
            runs_dir=tmp_path / "bt",
        )
    )
    source = RecordedSource(dt.datetime.combine(DAY, dt.time(4, 0)))
    messages: list[str] = []
    paper = run_paper(
        PaperConfig(
            slippage="0",
            strategy="sma_cross",
            params=params,
            symbols=("IBM",),
            venue="sim",
            cash=100_000.0,
            runs_dir=tmp_path / "paper",
        ),
        session=session(source),
        notify=messages.append,
    )
    expected = pd.read_csv(backtest.run_dir / "trades.csv")
    got = pd.read_csv(paper.run_dir / "trades.csv")
    assert len(expected) > 5
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    tape = pd.read_csv(paper.run_dir / "tape.csv")
    # the regular session only (the default), as the backtest: no pre- or post-market bar
    regular = source.frame.between_time("09:30", "15:59")
    assert len(regular) < len(source.frame)
    assert list(pd.to_datetime(tape["datetime"])) == list(regular.index)
    assert set(tape["source"]) == {"poll"}
    assert any("polling every" in m for m in messages)


def test_warm_up_bars_are_never_traded_and_poll_failures_do_not_stop_the_run(tmp_path: Path):
    start = dt.datetime.combine(DAY, dt.time(12, 0))  # the first poll returns the morning
    source = RecordedSource(start, fail_on=(3, 4))
    errors: list[str] = []
    paper = run_paper(
        PaperConfig(
            slippage="0",
            strategy="buy_and_hold",
            symbols=("IBM",),
            venue="sim",
            backfill=10,
            cash=100_000.0,
            runs_dir=tmp_path,
        ),
        session=session(source),
        notify=errors.append,
    )
    orders = pd.read_csv(paper.run_dir / "orders.csv")
    first = orders.iloc[0]
    assert first["status"] == "rejected" and "warm-up" in first["reason"]
    filled = orders[orders["status"] == "completed"]
    assert len(filled) == 1
    assert pd.Timestamp(filled.iloc[0]["submitted_at"]) >= pd.Timestamp(start)
    tape = pd.read_csv(paper.run_dir / "tape.csv")
    assert (tape["source"] == "history").sum() == 10
    assert sum("poll failed" in e for e in errors) == 2
    # the bars of the failed polls were delivered by the next successful one: none lost
    live = tape[tape["source"] == "poll"]
    regular = source.frame.between_time("09:30", "15:59")  # the default session's bars
    expected = regular[regular.index >= pd.Timestamp(start) - pd.Timedelta(minutes=5)]
    assert len(live) == len(expected[expected.index > pd.Timestamp(tape.iloc[9]["datetime"])])


def test_a_simulated_broker_run_resumes_with_cash_and_positions_from_its_journal(tmp_path: Path):
    """The run stops at 11:00 holding a position (as a crash would leave it); resumed, the
    simulated broker starts with the journal's cash and position, so buy_and_hold buys nothing
    more, and the run's equity goes on from where it was."""
    from parity.runners.paper import resume_paper

    first = RecordedSource(dt.datetime.combine(DAY, dt.time(9, 0)))
    stop_at = dt.datetime.combine(DAY, dt.time(11, 0))
    paper = run_paper(
        PaperConfig(
            slippage="0",
            strategy="buy_and_hold",
            symbols=("IBM",),
            venue="sim",
            cash=100_000.0,
            runs_dir=tmp_path,
            run_id="sim1",
        ),
        session=PollingSession(first.fetch, poll_seconds=0, until=stop_at, now=first.now),
    )
    before = pd.read_csv(paper.run_dir / "equity.csv")
    held_cash = before["cash"].iloc[-1]
    assert held_cash < 10_000  # invested
    # as a killed process leaves it: the journal still says running (a finished run is not
    # resumed)
    journal = sqlite3.connect(paper.run_dir / "journal.sqlite")
    with journal:
        journal.execute("UPDATE runs SET status = 'running', finished_at = NULL")
    journal.close()

    second = RecordedSource(stop_at - dt.timedelta(minutes=5))
    end = dt.datetime.combine(DAY, dt.time(20, 5))  # on past the bars the first run processed
    messages: list[str] = []
    resumed = resume_paper(
        paper.run_dir,
        backfill=0,
        notify=messages.append,
        session=PollingSession(second.fetch, poll_seconds=0, until=end, now=second.now),
    )
    orders = pd.read_csv(resumed.run_dir / "orders.csv")
    assert list(orders["side"]) == ["buy"]  # the restored position: no second entry
    equity = pd.read_csv(resumed.run_dir / "equity.csv")
    assert len(equity) > len(before)
    assert equity["datetime"].is_unique and equity["datetime"].is_monotonic_increasing
    after = equity.iloc[len(before)]
    assert after["cash"] == pytest.approx(held_cash)  # cash restored from the journal
    assert any("restored from the journal" in m for m in messages)
    manifest = json.loads((resumed.run_dir / "manifest.json").read_text())
    assert manifest["cash"] == pytest.approx(100_000.0)  # metrics still start from the start


def test_a_simulated_broker_run_continued_later_keeps_its_open_bracket(tmp_path: Path):
    """`--continue` on the sim venue: a plan's bracket bought at 09:31 is still open when the
    run stops cleanly at 11:00; continued (with the next day's plan), its exits are sent again
    on the last bar processed and its target fills at 12:23 as in one run through the day:
    the same trade, cash and equity."""
    from parity.runners.paper_continue import DayChanges, continue_paper

    header = "date,symbol,side,qty,risk,entry_type,entry,tp,sl,valid_until,max_days,tag,score\n"
    plan = tmp_path / "plan.csv"
    plan.write_text(header + f"{DAY},IBM,long,10,,market,,185.0,183.0,,3,carried,0.5\n")
    later = tmp_path / "later.csv"  # the next day's plan: nothing for this day
    later.write_text(header + "2013-10-07,IBM,long,10,,market,,190.0,180.0,,3,next,0.5\n")
    end = dt.datetime.combine(DAY, dt.time(20, 5))
    stop_at = dt.datetime.combine(DAY, dt.time(11, 0))

    def config(runs: Path) -> PaperConfig:
        return PaperConfig(
            strategy="plan", params={"plan": str(plan)}, symbols=("IBM",), venue="sim",
            cash=100_000.0, commission="0", slippage="0", runs_dir=runs, run_id="sim-plan",
            daily_reports=False,
        )  # fmt: skip

    whole = RecordedSource(dt.datetime.combine(DAY, dt.time(9, 25)))
    one = run_paper(
        config(tmp_path / "one"),
        session=PollingSession(whole.fetch, poll_seconds=0, until=end, now=whole.now),
    )
    first = RecordedSource(dt.datetime.combine(DAY, dt.time(9, 25)))
    run_paper(
        config(tmp_path / "days"),
        session=PollingSession(first.fetch, poll_seconds=0, until=stop_at, now=first.now),
    )
    run_dir = tmp_path / "days" / "sim-plan"
    assert pd.read_csv(run_dir / "trades.csv").empty  # the bracket is open at 11:00
    second = RecordedSource(stop_at)
    continued = continue_paper(
        run_dir,
        DayChanges(params={"plan": str(later)}),
        session=PollingSession(second.fetch, poll_seconds=0, until=end, now=second.now),
    )
    assert continued.run_id == "sim-plan"
    one_trades = pd.read_csv(one.run_dir / "trades.csv", keep_default_na=False)
    day_trades = pd.read_csv(run_dir / "trades.csv", keep_default_na=False)
    assert len(one_trades) == 1
    pd.testing.assert_frame_equal(one_trades, day_trades)
    trade = day_trades.iloc[0]
    assert (trade["exit_reason"], trade["exit_price"], trade["tag"]) == ("target", 185.0, "carried")
    assert trade["exit_time"] == "2013-10-04 12:23:00"
    one_equity = pd.read_csv(one.run_dir / "equity.csv")
    day_equity = pd.read_csv(run_dir / "equity.csv")
    assert day_equity["cash"].iloc[-1] == pytest.approx(one_equity["cash"].iloc[-1], abs=0.005)
    assert day_equity["value"].iloc[-1] == pytest.approx(one_equity["value"].iloc[-1], abs=0.005)
