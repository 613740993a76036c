"""`parity run paper --symbols BTC/USD --venue alpaca` through alpaca-py's crypto clients
(`CryptoHistoricalDataClient` for the warm-up, `CryptoDataStream` for the bars, `TradingClient`
for gtc fractional orders), pointed at a lock-step local venue by the APCA_* variables as at
Alpaca: the rehearsal equals the backtest on the same bars to the cent, fees included (taker
0.25 %, maker 0.15 %). The bars are seeded synthetic 24/7 minutes (`parity.feeds.synthetic`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from venue_support import venue_urls

from parity.cli import cli
from parity.costs import cost_model
from parity.feeds.loader import load_bars
from parity.feeds.synthetic import session_bars, write_session_bars
from parity.instruments.calendars import calendar_named
from parity.timeframe import parse_timeframe
from parity.venue.config import VenueConfig
from parity.venue.server import VenueServer

pytestmark = [pytest.mark.timeout(240)]

COMMON = [
    "--param", "fast=5", "--param", "slow=20", "--cash", "100000",
    "--commission", "taker=0.25%,maker=0.15%", "--slippage", "0",
]  # fmt: skip
# UTC, a Saturday: the replay starts at the 21st bar, the first sma_cross(5, 20) can decide on;
# the 20 before it are the warm-up, read from history
REPLAY_FROM = "2024-01-06T03:20:00"
WARM_UP = 20


@pytest.fixture(scope="module")
def coins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded BTC/USD minutes: 03:00-07:59 UTC on Saturday 2024-01-06 (300 bars)."""
    always = calendar_named("24/7")
    day = dt.date(2024, 1, 6)
    bars = session_bars(always, day, day, parse_timeframe("1Min"), seed=21, price=42_000.0)
    bars = bars.between_time("03:00", "07:59")
    path = tmp_path_factory.mktemp("coins") / "BTCUSD.csv"
    return write_session_bars(bars, path, always)


@pytest.fixture
def venue(coins: Path) -> Iterator[VenueServer]:
    config = VenueConfig(
        data=load_bars(str(coins), ["BTC/USD"]),
        start=REPLAY_FROM,
        ack_timeout=60.0,
        costs=cost_model("taker=0.25%,maker=0.15%", "0"),
    )
    with VenueServer(config) as server:
        yield server


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)


def test_a_crypto_rehearsal_on_alpaca_equals_the_backtest_to_the_cent(
    tmp_path: Path, coins: Path, venue: VenueServer
) -> None:
    env = {**venue_urls(venue), "APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
    paper = run(
        "run", "paper", "sma_cross", "--venue", "alpaca", "--symbols", "BTC/USD",
        "--backfill", str(WARM_UP), *COMMON, "--runs-dir", str(tmp_path / "paper"), "--json",
        env=env,
    )  # fmt: skip
    assert paper.exit_code == 0, paper.output
    paper_dir = Path(json.loads(paper.stdout.strip().splitlines()[-1])["run_dir"])
    # the twin: the same bars, the warm-up included (sma_cross cannot trade on them)
    backtest = run(
        "run", "backtest", "sma_cross", "--data", str(coins), "--symbols", "BTC/USD",
        *COMMON, "--runs-dir", str(tmp_path / "bt"), "--json",
    )  # fmt: skip
    assert backtest.exit_code == 0, backtest.output
    bt_dir = Path(json.loads(backtest.stdout.strip().splitlines()[-1])["run_dir"])

    tape = pd.read_csv(paper_dir / "tape.csv", parse_dates=["datetime"])
    history = tape[tape["source"] == "history"]
    streamed = tape[tape["source"] == "stream"]
    start = pd.Timestamp(REPLAY_FROM)
    assert len(history) == WARM_UP and (history["datetime"] < start).all()  # crypto history
    assert history["datetime"].iloc[0] == pd.Timestamp("2024-01-06 03:00")  # UTC labels
    assert streamed["datetime"].iloc[0] == start and len(streamed) == 300 - WARM_UP

    expected = pd.read_csv(bt_dir / "trades.csv")
    got = pd.read_csv(paper_dir / "trades.csv")
    assert len(got) >= 3
    assert (got["qty"] % 1 != 0).all()  # fractional coins
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    fills = pd.read_csv(paper_dir / "fills.csv")
    want = pd.read_csv(bt_dir / "fills.csv")
    assert list(fills["qty"]) == list(want["qty"])
    assert list(fills["datetime"]) == list(want["datetime"])
    assert (fills["commission"] - want["commission"]).abs().max() < 0.005
    assert fills["commission"].iloc[0] == pytest.approx(
        fills["qty"].iloc[0] * fills["price"].iloc[0] * 0.0025, abs=0.005
    )  # the taker's 0.25 %
    paper_equity = pd.read_csv(paper_dir / "equity.csv", index_col="datetime")["value"]
    bt_equity = pd.read_csv(bt_dir / "equity.csv", index_col="datetime")["value"]
    assert list(paper_equity.index) == list(bt_equity.index)  # the warm-up's flat bars too
    assert (paper_equity - bt_equity).abs().max() < 0.01
    manifest = json.loads((paper_dir / "manifest.json").read_text())
    assert manifest["costs"]["commission_maker_pct"] == 0.0015


LIMIT_ENTRIES = """
import backtrader as bt

from parity.strategies.sma_cross import SmaCross


class LimitEntries(SmaCross):
    \"\"\"sma_cross entering with a gtc limit 0.1 % under the close (a maker at the venue).\"\"\"

    def enter_long(self, data):
        size = self.entry_size(data)
        if size <= 0:
            return None
        return self.buy(data=data, size=size, exectype=bt.Order.Limit,
                        price=round(data.close[0] * 0.999, 2))
"""


def test_limit_entries_pay_the_maker_rate_in_the_rehearsal_and_the_backtest(
    tmp_path: Path, coins: Path
) -> None:
    """`--venue local` on the pair: limit entries pay 0.15 %, market exits 0.25 %, in the
    venue (the paper run's fills) and in the backtest alike."""
    strategy = tmp_path / "limit_entries.py"
    strategy.write_text(LIMIT_ENTRIES)
    name = f"{strategy}:LimitEntries"
    args = ["--data", str(coins), "--symbols", "BTC/USD", *COMMON, "--json"]
    paper = run("run", "paper", name, "--venue", "local", *args, "--runs-dir", str(tmp_path / "p"))
    assert paper.exit_code == 0, paper.output
    backtest = run("run", "backtest", name, *args, "--runs-dir", str(tmp_path / "b"))
    assert backtest.exit_code == 0, backtest.output
    dirs = [
        Path(json.loads(r.stdout.strip().splitlines()[-1])["run_dir"]) for r in (paper, backtest)
    ]
    got, want = (pd.read_csv(d / "fills.csv") for d in dirs)
    assert len(got) >= 4 and list(got["qty"]) == list(want["qty"])
    assert list(got["datetime"]) == list(want["datetime"])
    assert (got["commission"] - want["commission"]).abs().max() < 0.005
    notional = got["qty"] * got["price"]
    rate = (got["commission"] / notional).round(6)
    assert set(rate[got["side"] == "buy"]) == {0.0015}  # limit entries: makers
    assert set(rate[got["side"] == "sell"]) == {0.0025}  # market exits: takers
    equity = [pd.read_csv(d / "equity.csv", index_col="datetime")["value"] for d in dirs]
    assert (equity[0] - equity[1]).abs().max() < 0.01
