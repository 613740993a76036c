"""Venues come from `parity.venues.registry`: the runner, the CLI, `compare` and `flatten` ask the
registered venue, never its name. A venue registered beside the three runs a paper run with no
change elsewhere; an Alpaca session finds a parity venue behind its URLs and paces by its replay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.config import BacktestConfig
from parity.errors import ConfigError, DataError
from parity.feeds.loader import load_bars
from parity.feeds.lockstep import LockstepMark
from parity.feeds.sample import sample_path
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.venue import VenueConfig, VenueServer
from parity.venues import registry
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.alpaca.session import AlpacaSession
from parity.venues.protocol import Notify, Session, SessionConfig
from parity.venues.registry import venue_named, venue_names, venue_of_run
from parity.venues.sim.session import PollingSession
from parity.venues.types import StreamBar

pytestmark = pytest.mark.timeout(120)
DAY = dt.date(2013, 10, 4)


class RecordedVenue:
    """A venue that is no part of parity: the sample's IBM minutes, polled as a clock moves
    (five minutes a poll), with the simulated broker."""

    name = "recorded"
    label = "recorded-ibm"
    help = "the sample's IBM minutes, polled"
    replays = True

    def open(
        self,
        config: SessionConfig,
        notify: Notify,
        *,
        run_dir: Path | None = None,
        resume: bool = False,
    ) -> Session:
        frame = pd.read_csv(
            sample_path("IBM", "minute"), index_col="datetime", parse_dates=["datetime"]
        )
        frame = frame[frame.index.date == DAY]
        clock = [dt.datetime.combine(DAY, dt.time(4, 0))]

        def fetch(symbol: str) -> list[StreamBar]:
            clock[0] += dt.timedelta(minutes=5)
            return [
                StreamBar(symbol, t.to_pydatetime(), r.open, r.high, r.low, r.close, r.volume)
                for t, r in frame[frame.index < clock[0]].iterrows()
            ]

        end = dt.datetime.combine(DAY, dt.time(20, 5))
        session = PollingSession(fetch, poll_seconds=0, until=end, now=lambda: clock[0])
        session.venue = self.label  # what the run journals as its venue
        return session

    def data_source(self, config: SessionConfig) -> str:
        return "sample:minute"

    def history_source(
        self, recorded: str, symbols: Sequence[str], start: dt.date, end: dt.date, directory: Path
    ) -> str:
        return recorded

    def flatten_stopped(self, run_id: str, symbols: Sequence[str]) -> list[str] | None:
        return None


def test_a_registered_venue_runs_a_paper_run_with_no_change_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setitem(registry._VENUES, "recorded", RecordedVenue())
    params = {"fast": "5", "slow": "20"}
    backtest = run_backtest(
        BacktestConfig(strategy="sma_cross", params=params, data="sample:minute",
                       symbols=("IBM",), start=DAY, end=DAY, commission="0", slippage="0",
                       runs_dir=tmp_path / "bt")
    )  # fmt: skip
    paper = run_paper(
        PaperConfig(strategy="sma_cross", params=params, symbols=("IBM",), venue="recorded",
                    cash=100_000.0, slippage="0", runs_dir=tmp_path / "paper")
    )  # fmt: skip
    expected = pd.read_csv(backtest.run_dir / "trades.csv")
    got = pd.read_csv(paper.run_dir / "trades.csv")
    assert len(expected) == 10  # the regular session (12 on every bar, 04:00-20:00)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    manifest = pd.read_json(paper.run_dir / "manifest.json", typ="series")
    assert manifest["venue"] == "recorded-ibm"
    assert manifest["data"]["source"] == "sample:minute"
    assert venue_of_run(manifest.to_dict()).name == "recorded"  # type: ignore[union-attr]


def test_an_unknown_venue_is_a_one_line_error_naming_the_choices(tmp_path):
    assert venue_names() == ("alpaca", "local", "sim")
    text = "unknown venue 'ib'; choose one of alpaca, local, sim"
    with pytest.raises(ConfigError, match=f"^{text}$"):
        venue_named("ib")
    with pytest.raises(ConfigError, match=f"^{text}$"):
        run_paper(PaperConfig(symbols=("IBM",), venue="ib", runs_dir=tmp_path))
    assert not any(tmp_path.iterdir())  # refused before anything was written
    result = CliRunner().invoke(cli, ["run", "paper", "--symbols", "IBM", "--venue", "ib"])
    assert result.exit_code == 2
    assert "'ib' is not one of 'alpaca', 'local', 'sim'" in result.output
    shown = CliRunner().invoke(cli, ["run", "paper", "--help"])
    assert "local: the local venue replaying --data" in " ".join(shown.output.split())


def test_a_recorded_run_finds_its_venue_by_its_label_then_by_its_configured_name():
    found = venue_of_run({"venue": "alpaca-paper", "config": {"venue": "local"}})
    assert found is not None and found.name == "alpaca"
    found = venue_of_run({"config": {"venue": "sim"}})
    assert found is not None and found.name == "sim"
    assert venue_of_run({"venue": "ib", "config": {"venue": "ib"}}) is None


def test_the_twins_history_is_the_venues(tmp_path, monkeypatch):
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    window = (("IBM",), DAY, DAY, tmp_path)
    assert venue_named("local").history_source("sample:minute", *window) == "sample:minute"
    assert venue_named("sim").history_source("yahoo (polled)", *window) == "yahoo"
    with pytest.raises(DataError, match=r"^Alpaca history is unreachable \(no Alpaca keys"):
        venue_named("alpaca").history_source("alpaca", *window)
    config = PaperConfig(venue="local", data="sample")
    assert [venue_named(n).data_source(config) for n in venue_names()] == [
        "alpaca",
        "sample",
        "yahoo (polled)",
    ]
    assert [venue_named(n).flatten_stopped("r", ["IBM"]) for n in ("local", "sim")] == [None] * 2


def test_an_alpaca_session_paces_by_the_replay_of_a_parity_venue_behind_its_urls():
    data = load_bars("sample:minute", ["IBM"], start=DAY, end=DAY)
    with VenueServer(VenueConfig(data=data)) as server:
        store = AlpacaStore(
            AlpacaCredentials("k", "s"),
            AlpacaEndpoints(
                trading_url=server.base_url,
                data_url=server.base_url,
                trading_stream_url=server.trading_stream_url,
                data_stream_url=server.data_stream_url,
            ),
        )
        session = AlpacaSession(store)
        assert session.wall_clock and session.analyzers() == []  # a market until told
        messages: list[str] = []
        session.check(PaperConfig(symbols=("IBM",), cash=1_000.0), messages.append)
        assert not session.wall_clock
        assert messages[0] == (
            "the endpoints are a parity venue: acknowledging bars, ending with its replay"
        )
        [(mark, kwargs)] = session.analyzers()
        assert mark is LockstepMark and kwargs["lockstep"] is session.lockstep
        feed = session.feed("IBM", PaperConfig(symbols=("IBM",)), lambda _b: None, lambda: False)
        assert feed.p.stale_after == 0.0 and feed.p.now is None and feed.p.lockstep is not None
        assert session.venue_account() is store
        assert not session.finished()
        session.close()
