"""validate_frame: every error names file, line, column and value; gaps are summarised warnings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from parity.errors import DataError
from parity.feeds.files import read_bar_file
from parity.feeds.validate import validate_frame
from parity.timeframe import DAILY, MINUTE

HEADER = "datetime,open,high,low,close,volume\n"
GOOD = [
    "2024-01-02,10,11,9,10.5,100",
    "2024-01-03,10.5,12,10,11,200",
    "2024-01-04,11,11.5,10.5,11.2,150",
]


def check(
    tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "IBM.csv"
) -> list[str]:
    path = tmp_path / name
    path.write_text(header + "".join(r + "\n" for r in rows))
    frame = read_bar_file(path)
    return validate_frame(frame, origin=path.name, timeframe=DAILY)


def with_row(line: int, row: str) -> list[str]:
    """GOOD with file line `line` (header is line 1) replaced by `row`."""
    rows = list(GOOD)
    rows[line - 2] = row
    return rows


def test_good_file_has_no_warnings(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD) == []


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^IBM\.csv: the file is empty"):
        check(tmp_path, [], header="")


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^IBM\.csv: the file has a header but no bars"):
        check(tmp_path, [])


def test_missing_columns_named_with_columns_found(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check(tmp_path, ["2024-01-02,1,2,0.5"], header="Date,Open,High,Low\n")
    message = str(info.value)
    assert message.startswith("IBM.csv line 1: missing required column(s) close, volume")
    assert "(found: Date, Open, High, Low)" in message
    assert "\n" not in message


def test_missing_date_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"IBM\.csv line 1: missing required column\(s\) datetime "):
        check(tmp_path, ["1,2,0.5,1.5,1"], header="open,high,low,close,volume\n")


def test_unparseable_date(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check(tmp_path, with_row(3, "2024-13-45,10.5,12,10,11,200"))
    assert str(info.value).startswith("IBM.csv line 3: datetime '2024-13-45' is not a date;")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2024-01-03,10.5,12,10,,200", "IBM.csv line 3: close is empty; "),
        ("2024-01-03,10.5,abc,10,11,200", "IBM.csv line 3: high 'abc' is not a number; "),
        ("2024-01-03,NaN,12,10,11,200", "IBM.csv line 3: open 'NaN' is missing; "),
        ("2024-01-03,10.5,12,10,11,", "IBM.csv line 3: volume is empty; "),
        ("2024-01-03,10.5,12,10,11,n/a", "IBM.csv line 3: volume 'n/a' is missing; "),
    ],
)
def test_nan_values(tmp_path: Path, row: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        check(tmp_path, with_row(3, row))
    assert str(info.value).startswith(expected)


def test_nan_counts_all_offending_rows(tmp_path: Path) -> None:
    rows = [*GOOD, "2024-01-05,10,11,9,,100", "2024-01-08,10,11,9,,100"]
    with pytest.raises(DataError, match=r"line 5: close is empty \(2 rows have this problem\)"):
        check(tmp_path, rows)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2024-01-03,0,12,10,11,200", "IBM.csv line 3: open 0 is not a positive price"),
        ("2024-01-03,10.5,12,-1,11,200", "IBM.csv line 3: low -1 is not a positive price"),
        ("2024-01-03,10.5,12,10,11,-5", "IBM.csv line 3: volume -5 is negative"),
        ("2024-01-03,10.5,9.5,10,10,200", "IBM.csv line 3: high 9.5 is below low 10"),
        ("2024-01-03,10.5,11,10,11.5,200", "IBM.csv line 3: high 11 is below close 11.5"),
        ("2024-01-03,12.5,12,10,11,200", "IBM.csv line 3: high 12 is below open 12.5"),
        ("2024-01-03,10.5,12,10.8,11,200", "IBM.csv line 3: low 10.8 is above open 10.5"),
        ("2024-01-03,10.5,12,10,9.9,200", "IBM.csv line 3: low 10 is above close 9.9"),
    ],
)
def test_price_and_volume_sanity(tmp_path: Path, row: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        check(tmp_path, with_row(3, row))
    message = str(info.value)
    assert message.startswith(expected)
    assert message.endswith("fix or remove the row")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # 1e400 parses as infinity: it passed validation and broke the accounting later
        ("2024-01-03,10.5,1e400,10,11,200", "IBM.csv line 3: high '1e400' is not a finite number"),
        ("2024-01-03,10.5,12,10,11,inf", "IBM.csv line 3: volume 'inf' is not a finite number"),
        ("2024-01-03,10.5,1e308,10,1e308,200", "IBM.csv line 3: high '1e+308' is not a plausible"),
        ("2024-01-03,10,2e12,10,11,200", "IBM.csv line 3: high '2e+12' is not a plausible price"),
    ],
)
def test_infinite_and_absurd_values(tmp_path: Path, row: str, expected: str) -> None:
    with pytest.raises(DataError) as info:
        check(tmp_path, with_row(3, row))
    message = str(info.value)
    assert message.startswith(expected)
    assert message.endswith("fix or remove the row")


def test_infinite_price_in_parquet_names_the_row(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "datetime": pd.to_datetime(["2024-01-02", "2024-01-03"]),
            "open": [10.0, 10.0],
            "high": [11.0, 11.0],
            "low": [9.0, 9.0],
            "close": [10.0, float("inf")],
            "volume": [1.0, 1.0],
        }
    )
    frame.to_parquet(tmp_path / "X.parquet")
    bars = read_bar_file(tmp_path / "X.parquet")
    with pytest.raises(DataError, match=r"^X\.parquet row 2: close 'inf' is not a finite number"):
        validate_frame(bars, origin="X.parquet", timeframe=DAILY)


def test_largest_plausible_price_passes(tmp_path: Path) -> None:
    assert check(tmp_path, with_row(3, "2024-01-03,9e11,9.5e11,8e11,9e11,1e15")) == []


def test_unsorted_timestamps(tmp_path: Path) -> None:
    rows = [GOOD[1], GOOD[0], GOOD[2]]
    with pytest.raises(DataError) as info:
        check(tmp_path, rows)
    assert str(info.value) == (
        "IBM.csv line 3: datetime 2024-01-02 00:00:00 comes before 2024-01-03 00:00:00 on line 2; "
        "sort the file by time, oldest first"
    )


def test_duplicate_timestamps(tmp_path: Path) -> None:
    rows = [GOOD[0], GOOD[1], GOOD[1].replace("200", "201")]
    with pytest.raises(DataError) as info:
        check(tmp_path, rows)
    assert str(info.value) == (
        "IBM.csv line 4: datetime 2024-01-03 00:00:00 duplicates line 3; remove one of the two rows"
    )


def test_errors_use_line_numbers_argument() -> None:
    frame = pd.DataFrame(
        {"open": [1.0, 1.0], "high": [2.0, 0.5], "low": [0.5, 0.9], "close": [1.5, 1.0]}
        | {"volume": [1.0, 1.0]},
        index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="datetime"),
    )
    with pytest.raises(DataError, match=r"^mem line 41: high 0\.5 is below low 0\.9"):
        validate_frame(frame, origin="mem", timeframe=DAILY, line_numbers=[40, 41])


def test_daily_gaps_are_one_summarised_warning(tmp_path: Path) -> None:
    dates = ["2024-01-02", "2024-01-05", "2024-01-08", "2024-01-20", "2024-02-10", "2024-03-01"]
    rows = [f"{d},10,11,9,10.5,100" for d in dates]
    warnings = check(tmp_path, rows)
    assert len(warnings) == 1
    assert warnings[0].startswith("IBM.csv: 3 gap(s) longer than 5 calendar days (2024-01-08")
    # a long weekend (Fri -> Tue, 4 days) is not a gap
    assert "2024-01-05" not in warnings[0]


def test_many_gaps_show_first_few(tmp_path: Path) -> None:
    dates = pd.date_range("2024-01-01", periods=10, freq="10D")
    warnings = check(tmp_path, [f"{d.date()},10,11,9,10.5,100" for d in dates])
    assert len(warnings) == 1
    assert "9 gap(s)" in warnings[0]
    assert "and 6 more" in warnings[0]


def test_intraday_gaps_within_session_only(tmp_path: Path) -> None:
    stamps = [
        "2024-01-02 09:30",
        "2024-01-02 10:01",  # 30 missing minutes: not a gap
        "2024-01-02 10:33",  # 31 missing minutes: a gap
        "2024-01-02 16:00",  # a gap
        "2024-01-03 09:30",  # overnight: ignored
    ]
    path = tmp_path / "BAC.csv"
    path.write_text(HEADER + "".join(f"{s},10,11,9,10.5,100\n" for s in stamps))
    warnings = validate_frame(read_bar_file(path), origin="BAC.csv", timeframe=MINUTE)
    assert warnings == [
        "BAC.csv: 2 gap(s) of more than 30 missing 1Min bars within a session "
        "(2024-01-02 10:01:00 -> 2024-01-02 10:33:00, 2024-01-02 10:33:00 -> 2024-01-02 16:00:00); "
        "check the data is complete"
    ]


def test_validation_never_changes_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "IBM.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in GOOD))
    frame = read_bar_file(path)
    before = frame.copy()
    validate_frame(frame, origin="IBM.csv", timeframe=DAILY)
    pd.testing.assert_frame_equal(frame, before)
