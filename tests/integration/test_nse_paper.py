"""NSE end to end on the paper path (issue 15): a lock-step rehearsal of an IST 5-minute file on
the local venue (its clock in Mumbai time) equals the backtest to the cent with an Indian
broker's costs; RELIANCE.NS polled from Yahoo (recorded yfinance answers, in IST) trades like
its backtest with next-bar fills; pre- and post-market bars are traded by neither side unless
asked for. Bars are generated on the exchange calendar, seeded (`parity.feeds.synthetic`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.feeds.sample import sample_path
from parity.feeds.synthetic import session_bars, write_session_bars
from parity.instruments.calendars import calendar_named
from parity.risk.limits import RiskLimits
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe
from parity.venues.sim.session import PollingSession

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(240)]

NSE = calendar_named("XNSE")
FIVE = parse_timeframe("5Min")
INDIAN = "0.03%,max=20,sell=0.1%"  # brokerage capped at ₹20 an order, 0.1 % STT on sells
COMMON = {
    "strategy": "sma_cross",
    "params": {"fast": "5", "slow": "20", "sizing": "fixed", "size": "40"},
    "symbols": ("RELIANCE.NS",),
    "timeframe": FIVE,
    "cash": 150_000.0,
    "commission": INDIAN,
    "slippage": "0",
    "risk": RiskLimits(max_position_shares=40),
}


def nse_bars(first: dt.date, last: dt.date, seed: int = 15) -> pd.DataFrame:
    return session_bars(NSE, first, last, FIVE, seed=seed, price=2500.0)


def indian_costs(qty: float, price: float, side: str) -> float:
    """By hand: 0.03 % capped at ₹20, plus 0.1 % of a sell's notional."""
    notional = qty * price
    return min(0.0003 * notional, 20.0) + (0.001 * notional if side == "sell" else 0.0)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("nse")
    data = str(
        write_session_bars(nse_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 5)), root / "R.csv", NSE)
    )
    backtest = run_backtest(BacktestConfig(data=data, runs_dir=root / "bt", **COMMON)).run_dir
    paper = run_paper(
        PaperConfig(venue="local", data=data, runs_dir=root / "paper", **COMMON)
    ).run_dir
    return backtest, paper


def test_an_nse_lock_step_rehearsal_equals_its_backtest_to_the_cent(twin):
    backtest, paper = twin
    expected, got = (pd.read_csv(d / "trades.csv") for d in twin)
    assert len(expected) >= 5
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    want = pd.read_csv(backtest / "equity.csv", index_col="datetime")["value"]
    have = pd.read_csv(paper / "equity.csv", index_col="datetime")["value"]
    assert list(have.index) == list(want.index)
    assert (have - want).abs().max() < 0.01
    # IST labels: 75 five-minute bars a session from 09:15 to 15:25, five sessions
    stamps = pd.to_datetime(have.index)
    assert len(stamps) == 5 * 75
    assert (stamps.strftime("%H:%M").min(), stamps.strftime("%H:%M").max()) == ("09:15", "15:25")


def test_indian_costs_are_charged_alike_and_as_computed_by_hand(twin):
    for run in twin:
        fills = pd.read_csv(run / "fills.csv")
        assert set(fills["qty"]) == {40}  # --max-position-shares 40, sized to it
        by_hand = [
            indian_costs(q, p, s)
            for q, p, s in zip(fills["qty"], fills["price"], fills["side"], strict=True)
        ]
        assert fills["commission"].tolist() == pytest.approx(by_hand, abs=1e-9)
        # 40 x ~₹2,500 = ~₹1,00,000 an order: the ₹20 cap binds on every one
        assert (fills.loc[fills["side"] == "buy", "commission"] == 20.0).all()
    backtest, paper = (pd.read_csv(d / "fills.csv") for d in twin)
    assert backtest["commission"].tolist() == pytest.approx(paper["commission"].tolist(), abs=1e-9)


def test_the_paper_run_reports_in_ist_and_rupees(twin):
    _, paper = twin
    manifest = json.loads((paper / "manifest.json").read_text())
    assert manifest["currency"] == "INR" and manifest["session"] == "regular"
    assert manifest["calendar"]["name"] == "XNSE"
    assert manifest["calendar"]["timezone"] == "Asia/Kolkata"
    report = (paper / "reports" / "daily-2024-01-02.txt").read_text()
    assert "XNSE calendar, times in Asia/Kolkata, money in INR" in report
    assert "Portfolio at 2024-01-02 15:25" in report  # the session's last bar, in IST
    assert "₹" in report


class YahooRecording:
    """yfinance's `Ticker.history` for RELIANCE.NS as recorded: tz-aware Asia/Kolkata 5-minute
    rows with yfinance's column names, every bar completed by a simulated clock that moves five
    minutes a poll (bars of two sessions, 2024-01-01 and 2024-01-02)."""

    def __init__(self, frame: pd.DataFrame, start: dt.datetime) -> None:
        self.frame = frame
        self.clock = start
        self.calls: list[dict[str, object]] = []

    def now(self) -> dt.datetime:
        return self.clock

    def history(self, **kwargs: object) -> pd.DataFrame:
        self.calls.append(kwargs)
        self.clock += dt.timedelta(minutes=5)
        seen = self.frame[self.frame.index < pd.Timestamp(self.clock)]
        rows = seen.rename(columns=str.title).assign(**{"Adj Close": seen["close"]})
        rows.index = pd.DatetimeIndex(seen.index).tz_localize("Asia/Kolkata").rename("Datetime")
        return rows[["Open", "High", "Low", "Close", "Adj Close", "Volume"]]


def fake_yfinance(monkeypatch: pytest.MonkeyPatch, recording: YahooRecording) -> None:
    class Ticker:
        def __init__(self, symbol: str) -> None:
            assert symbol == "RELIANCE.NS"

        def history(self, **kwargs: object) -> pd.DataFrame:
            return recording.history(**kwargs)

    module = types.ModuleType("yfinance")
    module.Ticker = Ticker  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "yfinance", module)


def test_reliance_polled_from_yahoo_trades_like_its_backtest_with_next_bar_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars = nse_bars(dt.date(2024, 1, 1), dt.date(2024, 1, 2), seed=4)
    data = str(write_session_bars(bars, tmp_path / "R.csv", NSE))
    backtest = run_backtest(BacktestConfig(data=data, runs_dir=tmp_path / "bt", **COMMON))
    recording = YahooRecording(bars, dt.datetime(2024, 1, 1, 9, 0))  # IST, before the open
    fake_yfinance(monkeypatch, recording)
    config = PaperConfig(
        venue="sim", runs_dir=tmp_path / "paper", poll_seconds=1,
        until=dt.datetime(2024, 1, 2, 15, 40), **COMMON,
    )  # fmt: skip
    session = PollingSession.yahoo(config, now=recording.now)
    session.poll_seconds = 0
    paper = run_paper(config, session=session)
    expected = pd.read_csv(backtest.run_dir / "trades.csv")
    got = pd.read_csv(paper.run_dir / "trades.csv")
    assert len(expected) >= 3
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    tape = pd.read_csv(paper.run_dir / "tape.csv", parse_dates=["datetime"])
    assert list(tape["datetime"]) == list(bars.index)  # IST labels, 09:15 .. 15:25, none lost
    fills = pd.read_csv(paper.run_dir / "fills.csv", parse_dates=["datetime"])
    orders = pd.read_csv(paper.run_dir / "orders.csv", parse_dates=["submitted_at"])
    for _, fill in fills.iterrows():  # each at the open of the bar after its decision
        decided = orders.loc[orders["client_order_id"] == fill["client_order_id"], "submitted_at"]
        after = bars.index[bars.index.get_loc(decided.iloc[0]) + 1]
        assert fill["datetime"] == after and fill["price"] == bars.loc[after, "open"]
    assert paper.currency == "INR"


def test_pre_and_post_market_bars_are_not_traded_by_default_in_paper_either(tmp_path: Path):
    """The sample's minute bars run 04:00-20:00 New York: by default (regular) the local venue,
    the live feed and the backtest all trade 09:30-15:59 only; `extended` trades every bar."""
    day = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 4)}
    common = {"strategy": "sma_cross", "params": {"fast": "5", "slow": "20"}, "symbols": ("IBM",)}
    common |= {"data": "sample:minute", "slippage": "0", "cash": 100_000.0, **day}
    times = {}
    for session in (None, "extended"):
        where = tmp_path / str(session)
        bt_dir = run_backtest(
            BacktestConfig(commission="0", runs_dir=where / "bt", session=session, **common)
        ).run_dir
        paper_dir = run_paper(
            PaperConfig(venue="local", runs_dir=where / "paper", session=session, **common)
        ).run_dir
        got = pd.read_csv(paper_dir / "equity.csv", index_col="datetime")["value"]
        want = pd.read_csv(bt_dir / "equity.csv", index_col="datetime")["value"]
        assert list(got.index) == list(want.index) and (got - want).abs().max() < 0.01
        times[session] = pd.to_datetime(got.index).strftime("%H:%M")
    assert (times[None].min(), times[None].max()) == ("09:30", "15:59")
    assert times["extended"].min() < "09:30" and times["extended"].max() > "16:00"
    raw = pd.read_csv(sample_path("IBM", "minute"), parse_dates=["datetime"])
    assert len(times["extended"]) == int((raw["datetime"].dt.date == day["start"]).sum())
