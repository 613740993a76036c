"""read_bar_file: column spellings, date formats, time zones, adjustment, parquet, line numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parity.errors import DataError
from parity.feeds.files import file_symbol, read_bar_file

ROWS = "1,2,0.5,1.5,100\n2,3,1.5,2.5,200\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_canonical_columns_and_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "datetime,open,high,low,close,volume\n2024-01-02," + ROWS[:16] + "2024-01-03," + ROWS[16:],
    )
    frame = read_bar_file(path)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "line"]
    assert frame.index.name == "datetime"
    assert list(frame.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert frame["line"].tolist() == [2, 3]
    assert all(frame[c].dtype == np.float64 for c in ["open", "high", "low", "close", "volume"])
    assert frame["close"].tolist() == [1.5, 2.5]


@pytest.mark.parametrize(
    "header",
    [
        "Date,Open,High,Low,Close,Volume",
        "DATE,O,H,L,C,V",
        "timestamp,o,h,l,c,vol",
        "Datetime,open,high,low,Close,Volume",
        "time,Open,High,Low,Close,Vol",
        " date , open , high , low , close , volume ",
    ],
)
def test_column_name_variants(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, "x.csv", f"{header}\n2024-01-02,1,2,0.5,1.5,100\n")
    frame = read_bar_file(path)
    assert frame.index[0] == pd.Timestamp("2024-01-02")
    assert frame.iloc[0][["open", "high", "low", "close", "volume"]].tolist() == [
        1.0,
        2.0,
        0.5,
        1.5,
        100.0,
    ]


def test_separate_date_and_time_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "Date,Time,o,h,l,c,v\n20240102,09:30,1,2,0.5,1.5,1\n20240102,09:31:00,1,2,0.5,1.5,1\n",
    )
    frame = read_bar_file(path)
    assert list(frame.index) == [pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-01-02 09:31")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02", "2024-01-02"),
        ("2024-01-02 09:30:00", "2024-01-02 09:30"),
        ("2024-01-02T09:30", "2024-01-02 09:30"),
        ("20240102", "2024-01-02"),
        ("01/02/2024", "2024-01-02"),
        ("01/02/2024 09:30", "2024-01-02 09:30"),
        ("2024/01/02", "2024-01-02"),
        ("1704205800", "2024-01-02 09:30"),  # epoch seconds (UTC 14:30)
        ("1704205800000", "2024-01-02 09:30"),  # epoch milliseconds
        ("1704153600", "2024-01-02"),  # epoch at UTC midnight is a date
    ],
)
def test_date_formats(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "x.csv", f"date,open,high,low,close,volume\n{text},1,2,0.5,1.5,100\n")
    assert read_bar_file(path).index[0] == pd.Timestamp(expected)


def test_tz_aware_timestamps_become_new_york_naive(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "timestamp,open,high,low,close,volume\n"
        "2024-01-02T14:30:00Z,1,2,0.5,1.5,100\n"  # winter: UTC-5
        "2024-07-02T13:30:00Z,1,2,0.5,1.5,100\n"  # summer: UTC-4
        "2024-07-03T09:31:00-04:00,1,2,0.5,1.5,100\n",
    )
    frame = read_bar_file(path)
    assert frame.index.tz is None
    assert list(frame.index) == [
        pd.Timestamp("2024-01-02 09:30"),
        pd.Timestamp("2024-07-02 09:30"),
        pd.Timestamp("2024-07-03 09:31"),
    ]


@pytest.mark.parametrize("zone", ["+00:00", "+05:30", "Z", "-05:00"])
def test_tz_aware_daily_stamps_at_midnight_keep_their_session_date(
    tmp_path: Path, zone: str
) -> None:
    # 2019-01-02T00:00:00+00:00 was labelled 2019-01-01 (19:00 in New York): a Friday's bar
    # landed on Thursday and a Monday's on Sunday
    path = write(
        tmp_path,
        "x.csv",
        "datetime,open,high,low,close,volume\n"
        f"2019-01-02T00:00:00{zone},1,2,0.5,1.5,100\n"
        f"2019-01-04T00:00:00{zone},1,2,0.5,1.5,100\n"
        f"2019-01-07T00:00:00{zone},1,2,0.5,1.5,100\n",
    )
    frame = read_bar_file(path)
    assert list(frame.index) == list(pd.to_datetime(["2019-01-02", "2019-01-04", "2019-01-07"]))
    assert (frame.index.dayofweek < 5).all()


def test_tz_aware_daily_parquet_at_midnight_keeps_its_session_date(tmp_path: Path) -> None:
    index = pd.DatetimeIndex(
        pd.to_datetime(["2019-01-02", "2019-01-03"]).tz_localize("Asia/Kolkata"), name="Date"
    )
    data = {"Open": [1.0, 2.0], "High": [2.0, 3.0], "Low": [0.5, 1.5], "Close": [1.5, 2.5]}
    pd.DataFrame({**data, "Volume": [1, 2]}, index=index).to_parquet(tmp_path / "n.parquet")
    frame = read_bar_file(tmp_path / "n.parquet")
    assert list(frame.index) == list(pd.to_datetime(["2019-01-02", "2019-01-03"]))


def test_mixed_naive_and_aware_stamps_are_an_error_naming_both_rows(tmp_path: Path) -> None:
    # the naive rows were silently read as UTC: 09:30 became 04:30
    path = write(
        tmp_path,
        "x.csv",
        "timestamp,open,high,low,close,volume\n"
        "2024-01-02 09:30:00,1,2,0.5,1.5,100\n"
        "2024-01-02 09:31:00,1,2,0.5,1.5,100\n"
        "2024-01-02T14:32:00+00:00,1,2,0.5,1.5,100\n",
    )
    with pytest.raises(DataError) as info:
        read_bar_file(path)
    assert str(info.value) == (
        f"{path} line 2: datetime '2024-01-02 09:30:00' has no time zone but line 4 has one "
        "('2024-01-02T14:32:00+00:00'); give every stamp a zone (e.g. +00:00) or none"
    )


def test_adjusted_scales_prices_and_volume(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,100,110,90,105,52.5,1000\n",
    )
    raw = read_bar_file(path)
    assert "adj_close" not in raw.columns
    assert raw.iloc[0]["close"] == 105.0
    adjusted = read_bar_file(path, adjusted=True)
    # factor = 52.5 / 105 = 0.5
    row = adjusted.iloc[0]
    assert row[["open", "high", "low", "close"]].tolist() == pytest.approx([50, 55, 45, 52.5])
    assert row["volume"] == pytest.approx(2000.0)


def test_adjusted_sample_row_matches_hand_computation() -> None:
    from parity.feeds.sample import sample_path

    frame = read_bar_file(sample_path("IBM"), adjusted=True)
    factor = 73.66771876 / 100.25  # first row: close 100.25, adj_close 73.66771876
    assert frame.iloc[0]["open"] == pytest.approx(102 * factor)
    assert frame.iloc[0]["close"] == pytest.approx(73.66771876)
    assert frame.iloc[0]["volume"] == pytest.approx(10807800 / factor)


def test_adjusted_without_adj_close_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,1\n")
    with pytest.raises(DataError, match=r"x\.csv.*no adjusted close column.*found: date"):
        read_bar_file(path, adjusted=True)


def test_rows_keep_file_order_and_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.csv",
        "date,open,high,low,close,volume\n2024-01-03,1,2,0.5,1.5,1\n\n2024-01-02,1,2,0.5,1.5,1\n"
        "2024-01-02,1,2,0.5,1.5,1\n",
    )
    frame = read_bar_file(path)
    assert [str(d.date()) for d in frame.index] == ["2024-01-03", "2024-01-02", "2024-01-02"]
    assert frame["line"].tolist() == [2, 4, 5]


def test_bad_cells_are_recorded_with_raw_text(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "date,open,high,low,close,volume\nnot-a-date,abc,2,0.5,1.5,\n")
    frame = read_bar_file(path)
    assert pd.isna(frame.index[0])
    assert np.isnan(frame["open"].iloc[0])
    assert frame.attrs["bad_cells"] == {
        (2, "datetime"): "not-a-date",
        (2, "open"): "abc",
        (2, "volume"): "",
    }


def test_parquet_with_datetime_index_and_gzip_and_txt(tmp_path: Path) -> None:
    index = pd.DatetimeIndex(
        pd.to_datetime(["2024-01-02 14:30", "2024-01-02 14:31"]).tz_localize("UTC"), name="Date"
    )
    data = {"Open": [1.0, 2.0], "High": [2.0, 3.0], "Low": [0.5, 1.5], "Close": [1.5, 2.5]}
    pd.DataFrame({**data, "Volume": [1, 2]}, index=index).to_parquet(tmp_path / "a.parquet")
    frame = read_bar_file(tmp_path / "a.parquet")
    assert list(frame.index) == [pd.Timestamp("2024-01-02 09:30"), pd.Timestamp("2024-01-02 09:31")]
    assert frame["line"].tolist() == [1, 2]
    assert frame.attrs["line_kind"] == "row"

    text = "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,100\n"
    gz = tmp_path / "b.csv.gz"
    pd.read_csv(pd.io.common.StringIO(text)).to_csv(gz, index=False)
    assert read_bar_file(gz).iloc[0]["volume"] == 100.0
    txt = write(tmp_path, "c.txt", text.replace(",", ";"))
    assert read_bar_file(txt).iloc[0]["high"] == 2.0


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"x\.xlsx: unsupported file type"):
        read_bar_file(tmp_path / "x.xlsx")
    with pytest.raises(DataError, match=r"y\.csv: file not found"):
        read_bar_file(tmp_path / "y.csv")


def test_file_symbol() -> None:
    assert file_symbol(Path("/d/ibm.csv.gz")) == "IBM"
    assert file_symbol(Path("brk-b.parquet")) == "BRK-B"
