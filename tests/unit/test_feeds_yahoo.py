"""Yahoo source: parquet cache hits stay offline; misses fail fast and clearly without network."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from parity.errors import ConfigError, DataError
from parity.feeds.loader import load_bars
from parity.feeds.yahoo import cache_path, default_cache_dir, fetch_yahoo, yahoo_interval
from parity.timeframe import DAILY, parse_timeframe

START, END = date(2024, 1, 2), date(2024, 1, 5)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route every HTTP(S) request to a closed loopback port so nothing leaves the machine."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def cached_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    return pd.DataFrame(
        {
            "open": [100.0, 101.0, 102.0, 103.0],
            "high": [102.0, 103.0, 104.0, 105.0],
            "low": [99.0, 100.0, 101.0, 102.0],
            "close": [101.0, 102.0, 103.0, 104.0],
            "volume": [1000.0, 1100.0, 1200.0, 1300.0],
            "adj_close": [50.5, 51.0, 51.5, 52.0],
        },
        index=index.rename("datetime"),
    )


def fake_yfinance(
    monkeypatch: pytest.MonkeyPatch, history: Callable[[], pd.DataFrame]
) -> list[dict]:
    calls: list[dict] = []

    class Ticker:
        def __init__(self, symbol: str) -> None:
            self.symbol = symbol

        def history(self, **kwargs: object) -> pd.DataFrame:
            calls.append({"symbol": self.symbol, **kwargs})
            return history()

    module = types.ModuleType("yfinance")
    module.Ticker = Ticker  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "yfinance", module)
    return calls


def test_cache_hit_works_without_network(
    tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yfinance", None)  # any import of yfinance would fail
    cached_frame().to_parquet(cache_path(tmp_path, "IBM", "1d", START, END))
    data = load_bars("yahoo", ["ibm"], start=START, end=END, cache_dir=tmp_path)
    (series,) = data.series
    assert series.symbol == "IBM"
    assert series.origin == "yahoo"
    assert series.timeframe == DAILY
    assert series.frame["close"].tolist() == [101.0, 102.0, 103.0, 104.0]
    assert list(series.frame.columns) == ["open", "high", "low", "close", "volume"]
    adjusted = load_bars(
        "yfinance", ["IBM"], start=START, end=END, cache_dir=tmp_path, adjustment="all"
    )
    # factor = 50.5 / 101 = 0.5 on the first row
    assert adjusted.series[0].frame.iloc[0].tolist() == pytest.approx([50, 51, 49.5, 50.5, 2000])


def test_yahoo_prices_are_split_adjusted_at_the_source(
    tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yfinance", None)
    cached_frame().to_parquet(cache_path(tmp_path, "IBM", "1d", START, END))
    window = {"start": START, "end": END, "cache_dir": tmp_path}
    splits = load_bars("yahoo", ["IBM"], adjustment="splits", **window)
    assert splits.adjustments["IBM"].applied == "splits"
    assert splits.adjustments["IBM"].splits == ()  # Yahoo's close has them already
    assert splits.series[0].frame["close"].tolist() == [101.0, 102.0, 103.0, 104.0]
    assert splits.warnings == ()
    raw = load_bars("yahoo", ["IBM"], adjustment="raw", **window)
    assert raw.adjustments["IBM"].applied == "splits"
    assert raw.warnings == (
        "IBM (yahoo:IBM): Yahoo's prices are split-adjusted at the source; --raw cannot undo that",
    )


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARITY_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.setitem(sys.modules, "yfinance", None)
    cached_frame().to_parquet(cache_path(tmp_path, "MSFT", "1d", START, END))
    assert len(fetch_yahoo("msft", start=START, end=END)) == 4
    monkeypatch.delenv("PARITY_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "parity" / "yahoo"


def test_miss_without_network_is_a_clear_error_quickly(tmp_path: Path, offline: None) -> None:
    began = time.monotonic()
    with pytest.raises(DataError) as info:
        load_bars("yahoo", ["IBM"], start=START, end=END, cache_dir=tmp_path / "cache")
    assert time.monotonic() - began < 30
    message = str(info.value)
    assert message.startswith("IBM: Yahoo could not be reached or returned no rows")
    assert str(tmp_path / "cache") in message
    assert "\n" not in message
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_miss_downloads_normalises_and_writes_cache_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = pd.DatetimeIndex(
        ["2024-01-02 09:30", "2024-01-02 09:35", "2024-01-02 09:40"], name="Datetime"
    ).tz_localize("America/New_York")
    raw = pd.DataFrame(
        {
            "Open": [1.0, 2.0, float("nan")],
            "High": [2.0, 3.0, float("nan")],
            "Low": [0.5, 1.5, float("nan")],
            "Close": [1.5, 2.5, float("nan")],
            "Adj Close": [1.5, 2.5, float("nan")],
            "Volume": [10, 20, 0],
        },
        index=index.tz_convert("UTC"),
    )
    calls = fake_yfinance(monkeypatch, lambda: raw)
    frame = fetch_yahoo("ibm", interval="5m", start=START, end=START, cache_dir=tmp_path)
    assert list(frame.index) == [pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-01-02 09:35")]
    assert list(frame.columns) == ["open", "high", "low", "close", "adj_close", "volume"]
    assert calls == [
        {
            "symbol": "IBM",
            "start": "2024-01-02",
            "end": "2024-01-03",  # Yahoo's end is exclusive; ours is inclusive
            "period": None,
            "interval": "5m",
            "auto_adjust": False,
            "actions": False,
            "timeout": 10.0,
        }
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["IBM_5m_2024-01-02_2024-01-02.parquet"]
    again = fetch_yahoo("IBM", interval="5m", start=START, end=START, cache_dir=tmp_path)
    assert len(calls) == 1  # served from the cache
    pd.testing.assert_frame_equal(again, frame)


def test_daily_timestamps_become_midnight_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="Date").tz_localize(
        "America/New_York"
    )
    raw = cached_frame().iloc[:2].set_axis(index)
    raw.columns = ["Open", "High", "Low", "Close", "Volume", "Adj Close"]
    fake_yfinance(monkeypatch, lambda: raw)
    frame = fetch_yahoo("IBM", start=START, end=END, cache_dir=tmp_path)
    assert list(frame.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]


def test_empty_download_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_yfinance(monkeypatch, pd.DataFrame)
    with pytest.raises(DataError, match=r"^NOPE: Yahoo returned no rows .*cache dir"):
        fetch_yahoo("nope", start=START, end=END, cache_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_hanging_download_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang() -> pd.DataFrame:
        release.wait(30)
        return pd.DataFrame()

    fake_yfinance(monkeypatch, hang)
    began = time.monotonic()
    try:
        with pytest.raises(DataError, match=r"^IBM: Yahoo could not be reached within"):
            fetch_yahoo("IBM", start=START, end=END, cache_dir=tmp_path, timeout=0.1)
    finally:
        release.set()
    assert time.monotonic() - began < 5


def test_yahoo_needs_symbols() -> None:
    with pytest.raises(ConfigError, match="needs symbols"):
        load_bars("yahoo", None)


def test_yahoo_interval_choice() -> None:
    assert yahoo_interval(None) == ("1d", DAILY)
    assert yahoo_interval(parse_timeframe("5Min"))[0] == "5m"
    assert yahoo_interval(parse_timeframe("1Hour"))[0] == "30m"  # Yahoo's 60m bars start at :30
    assert yahoo_interval(parse_timeframe("3Min"))[0] == "1m"


@pytest.mark.live
def test_live_download_daily(tmp_path: Path) -> None:
    data = load_bars("yahoo", ["IBM"], start=START, end=date(2024, 1, 31), cache_dir=tmp_path)
    frame = data.series[0].frame
    assert frame.index[0] == pd.Timestamp("2024-01-02")
    assert len(frame) == 21  # January 2024 trading days
    assert any(tmp_path.iterdir())


def test_nse_intraday_bars_are_labelled_in_ist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Yahoo's UTC stamps of an NSE listing become Mumbai bar starts (09:15, not New York's
    22:45 the day before), cached apart from New York-labelled bars."""
    index = pd.DatetimeIndex(["2024-01-02 09:15", "2024-01-02 09:20"], name="Datetime")
    raw = pd.DataFrame(
        {"Open": [1.0, 2.0], "High": [2.0, 3.0], "Low": [0.5, 1.5], "Close": [1.5, 2.5]}
        | {"Adj Close": [1.5, 2.5], "Volume": [10, 20]},
        index=index.tz_localize("Asia/Kolkata").tz_convert("UTC"),
    )
    fake_yfinance(monkeypatch, lambda: raw)
    loaded = load_bars(
        "yahoo",
        ["RELIANCE.NS"],
        timeframe=parse_timeframe("5Min"),
        start=START,
        end=START,
        cache_dir=tmp_path,
    )
    assert list(loaded.series[0].frame.index) == [
        pd.Timestamp("2024-01-02 09:15"),
        pd.Timestamp("2024-01-02 09:20"),
    ]
    assert [p.name for p in tmp_path.iterdir()] == [
        "RELIANCE.NS_5m_2024-01-02_2024-01-02_Asia%2FKolkata.parquet"
    ]
