"""load_bars: sample, file, directory and template sources; resampling; the date window."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parity.errors import ConfigError, DataError
from parity.feeds.loader import LoadedData, load_bars
from parity.timeframe import DAILY, MINUTE, parse_timeframe

HEADER = "datetime,open,high,low,close,volume\n"
DAILY_ROWS = (
    "2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,12,10,11,200\n2024-01-04,11,11.5,10.5,11.2,150\n"
)
MINUTE_ROWS = (
    "2024-01-02 09:30:00,10,11,9,10.5,100\n"
    "2024-01-02 09:31:00,10.5,12,10,11,200\n"
    "2024-01-02 09:36:00,11,11.5,10.5,11.2,150\n"
)


def write(path: Path, rows: str = DAILY_ROWS, header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + rows)
    return path


def test_sample_daily_ibm() -> None:
    data = load_bars("sample", None)
    assert isinstance(data, LoadedData)
    assert data.source == "sample"
    (series,) = data.series
    assert series.symbol == "IBM"
    assert series.timeframe == DAILY
    assert series.origin == "sample:daily"
    assert len(series) == 3270
    assert series.frame.index[0] == pd.Timestamp("2000-03-01")
    assert series.frame.index[-1] == pd.Timestamp("2013-03-01")
    assert list(series.frame.columns) == ["open", "high", "low", "close", "volume"]
    assert (series.frame.dtypes == np.float64).all()
    assert series.frame.index.name == "datetime"
    assert series.frame.index.is_monotonic_increasing and series.frame.index.is_unique
    assert series.frame.iloc[0].tolist() == [102.0, 105.5, 100.06, 100.25, 10807800.0]
    # the September 2001 closure (09-11..09-14) is on the XNYS calendar: not a gap
    assert data.warnings == ()
    assert data.calendar.name == "XNYS"


def test_sample_daily_explicit_symbols_lowercase() -> None:
    data = load_bars("sample:daily", ["aapl", "goog"])
    assert [s.symbol for s in data.series] == ["AAPL", "GOOG"]
    assert len(data.series[1]) == 2148


def test_sample_minute_ibm() -> None:
    (series,) = load_bars("sample:minute", []).series
    assert series.symbol == "IBM"
    assert series.timeframe == MINUTE
    assert len(series) == 2566
    assert series.frame.index[0] == pd.Timestamp("2013-10-04 08:28")


def test_sample_minute_resampled_to_5min_and_daily() -> None:
    five = load_bars("sample:minute", ["IBM"], timeframe=parse_timeframe("5Min")).series[0]
    assert five.timeframe.name == "5Min"
    assert (five.frame.index.minute % 5 == 0).all()
    assert five.frame.index[0] == pd.Timestamp("2013-10-04 08:25")  # 08:28 -> bar 08:25
    daily = load_bars("sample:minute", ["IBM"], timeframe=DAILY).series[0]
    assert len(daily) == 6
    assert daily.frame.index[0] == pd.Timestamp("2013-10-04")
    minute = load_bars("sample:minute", ["IBM"]).series[0].frame
    first_day = minute.loc["2013-10-04"]
    assert daily.frame.iloc[0].tolist() == [
        first_day["open"].iloc[0],
        first_day["high"].max(),
        first_day["low"].min(),
        first_day["close"].iloc[-1],
        first_day["volume"].sum(),
    ]


def test_unknown_sample_symbol() -> None:
    with pytest.raises(DataError) as info:
        load_bars("sample:minute", ["MSFT"])
    message = str(info.value)
    assert "MSFT" in message and "minute sample" in message
    assert "available: IBM, BAC, AIG, AAPL" in message


def test_unknown_sample_kind() -> None:
    with pytest.raises(ConfigError, match="sample:hourly"):
        load_bars("sample:hourly", None)


def test_window_filter_inclusive() -> None:
    data = load_bars("sample", ["IBM"], start=date(2013, 2, 25), end=date(2013, 3, 1))
    assert [d.date() for d in data.series[0].frame.index] == [
        date(2013, 2, 25),
        date(2013, 2, 26),
        date(2013, 2, 27),
        date(2013, 2, 28),
        date(2013, 3, 1),
    ]


def test_window_filter_on_minute_data_is_by_date() -> None:
    frame = (
        load_bars("sample:minute", ["IBM"], start=date(2013, 10, 7), end=date(2013, 10, 7))
        .series[0]
        .frame
    )
    assert set(frame.index.date) == {date(2013, 10, 7)}


def test_empty_window_names_window_and_range() -> None:
    with pytest.raises(DataError) as info:
        load_bars("sample", ["IBM"], start=date(2020, 1, 1), end=date(2020, 12, 31))
    message = str(info.value)
    assert "no bars between 2020-01-01 and 2020-12-31" in message
    assert "2000-03-01..2013-03-01" in message


def test_start_after_end() -> None:
    with pytest.raises(ConfigError, match="after end"):
        load_bars("sample", None, start=date(2020, 2, 1), end=date(2020, 1, 1))


def test_finer_timeframe_is_an_error() -> None:
    with pytest.raises(DataError, match="cannot resample 1Day bars to 1Min"):
        load_bars("sample", ["IBM"], timeframe=MINUTE)


def test_single_file_symbol_from_stem_or_given(tmp_path: Path) -> None:
    path = write(tmp_path / "spy.csv")
    (series,) = load_bars(str(path), None).series
    assert series.symbol == "SPY"
    assert series.origin == str(path)
    assert series.frame["close"].tolist() == [10.5, 11.0, 11.2]
    assert load_bars(str(path), ["qqq"]).series[0].symbol == "QQQ"


def test_single_file_with_two_symbols_is_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "spy.csv")
    with pytest.raises(ConfigError, match="single file but 2 symbols"):
        load_bars(str(path), ["SPY", "QQQ"])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no such file or directory"):
        load_bars(str(tmp_path / "nope.csv"), None)


def test_bad_file_error_propagates_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv", DAILY_ROWS.replace("2024-01-03,10.5,12,10", "2024-01-03,10.5,9,10")
    )
    with pytest.raises(DataError) as info:
        load_bars(str(path), None)
    assert str(info.value).startswith(f"{path} line 3: high 9 is below low 10")


def test_directory_source(tmp_path: Path) -> None:
    write(tmp_path / "aapl.csv")
    write(tmp_path / "MSFT.CSV")
    cached = pd.read_csv(tmp_path / "aapl.csv", parse_dates=["datetime"], date_format="%Y-%m-%d")
    cached.to_parquet(tmp_path / "Goog.parquet", index=False)
    (tmp_path / "notes.md").write_text("not data")
    data = load_bars(str(tmp_path), None)
    assert [s.symbol for s in data.series] == ["AAPL", "GOOG", "MSFT"]
    assert all(len(s) == 3 for s in data.series)
    assert [s.symbol for s in load_bars(str(tmp_path), ["msft"]).series] == ["MSFT"]


def test_directory_missing_symbol(tmp_path: Path) -> None:
    write(tmp_path / "AAPL.csv")
    with pytest.raises(DataError) as info:
        load_bars(str(tmp_path), ["TSLA"])
    message = str(info.value)
    assert "TSLA" in message and str(tmp_path) in message and "available: AAPL" in message


def test_template_source(tmp_path: Path) -> None:
    write(tmp_path / "bars" / "IBM_1min.csv", MINUTE_ROWS)
    write(tmp_path / "bars" / "bac_1min.csv", MINUTE_ROWS)
    template = str(tmp_path / "bars" / "{symbol}_1min.csv")
    data = load_bars(template, ["ibm", "BAC"], timeframe=parse_timeframe("5Min"))
    assert [s.symbol for s in data.series] == ["IBM", "BAC"]
    frame = data.series[0].frame
    assert list(frame.index) == [pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-01-02 09:35")]
    assert frame.iloc[0].tolist() == [10.0, 12.0, 9.0, 11.0, 300.0]
    with pytest.raises(DataError) as info:
        load_bars(template, ["XOM"])
    assert "XOM" in str(info.value) and "available: BAC, IBM" in str(info.value)
    with pytest.raises(ConfigError, match="give the symbols"):
        load_bars(template, None)


def test_adjusted_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv",
        "2024-01-02,100,110,90,105,52.5,1000\n",
        header="Date,Open,High,Low,Close,Adj Close,Volume\n",
    )
    frame = load_bars(str(path), None, adjustment="all").series[0].frame
    assert frame.iloc[0].tolist() == pytest.approx([50.0, 55.0, 45.0, 52.5, 2000.0])


def test_sha256_is_stable() -> None:
    first = load_bars("sample", ["IBM"]).series[0].sha256()
    assert first == load_bars("sample", ["ibm"]).series[0].sha256()


def test_gap_warnings_only_cover_the_window(tmp_path: Path) -> None:
    """IBM's daily sample with one week of sessions removed (2005-03-07..11) has one gap:
    reported for a window that contains it, not for one that does not."""
    from parity.feeds.sample import sample_path

    frame = pd.read_csv(sample_path("IBM", "daily"))
    dropped = frame["datetime"].between("2005-03-07", "2005-03-11")
    path = tmp_path / "IBM.csv"
    frame[~dropped].to_csv(path, index=False)
    whole = load_bars(str(path), ["IBM"])
    assert whole.warnings == (
        f"{path}: 1 gap(s) of 3 or more missing XNYS sessions "
        "(2005-03-04 00:00:00 -> 2005-03-14 00:00:00); check the data is complete",
    )
    later = load_bars(str(path), ["IBM"], start=date(2012, 1, 1))
    assert later.warnings == ()
    around = load_bars(str(path), ["IBM"], start=date(2005, 3, 1), end=date(2005, 3, 31))
    assert len(around.warnings) == 1


def test_a_notebook_may_give_the_timeframe_and_window_as_text() -> None:
    typed = load_bars(
        "sample:minute", ["IBM"], timeframe=parse_timeframe("5Min"),
        start=date(2013, 10, 7), end=date(2013, 10, 8),
    )  # fmt: skip
    text = load_bars(
        "sample:minute", ["IBM"], timeframe="5min", start="2013-10-07", end="2013-10-08"
    )
    pd.testing.assert_frame_equal(text.series[0].frame, typed.series[0].frame)
    assert len(text.series[0].frame) > 0


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"timeframe": "7q"}, "timeframe '7q' is not understood"),
        ({"start": "2013-13-01"}, "start '2013-13-01' is not a date; use YYYY-MM-DD"),
        ({"end": "tomorrow"}, "end 'tomorrow' is not a date; use YYYY-MM-DD"),
    ],
)
def test_text_that_is_not_a_timeframe_or_date_is_a_one_line_error(
    kwargs: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)) as caught:
        load_bars("sample", ["IBM"], **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
