"""resample / infer_timeframe: clock-aligned left-labelled bins, no forward fill, hand-checked."""

from __future__ import annotations

import pandas as pd
import pytest

from parity.errors import DataError
from parity.feeds.resample import infer_timeframe, resample
from parity.timeframe import DAILY, MINUTE, parse_timeframe

COLUMNS = ["open", "high", "low", "close", "volume"]


def bars(rows: list[tuple[str, float, float, float, float, float]]) -> pd.DataFrame:
    index = pd.DatetimeIndex([r[0] for r in rows], name="datetime")
    return pd.DataFrame([r[1:] for r in rows], index=index, columns=COLUMNS, dtype="float64")


MINUTES = bars(
    [
        ("2024-01-02 09:29", 9.0, 9.5, 8.5, 9.2, 5),
        ("2024-01-02 09:30", 10.0, 10.5, 9.5, 10.2, 100),
        ("2024-01-02 09:31", 10.2, 11.0, 10.1, 10.8, 50),
        ("2024-01-02 09:34", 10.8, 10.9, 9.0, 9.1, 10),
        ("2024-01-02 09:35", 9.1, 9.3, 9.0, 9.2, 7),
        # 09:40-09:59 empty: no bars there, never forward-filled
        ("2024-01-02 10:00", 9.5, 9.6, 9.4, 9.6, 1),
        ("2024-01-03 09:30", 20.0, 21.0, 19.0, 20.5, 3),
    ]
)


def test_one_minute_to_five_minutes_by_hand() -> None:
    out = resample(MINUTES, MINUTE, parse_timeframe("5Min"))
    expected = bars(
        [
            ("2024-01-02 09:25", 9.0, 9.5, 8.5, 9.2, 5),
            ("2024-01-02 09:30", 10.0, 11.0, 9.0, 9.1, 160),
            ("2024-01-02 09:35", 9.1, 9.3, 9.0, 9.2, 7),
            ("2024-01-02 10:00", 9.5, 9.6, 9.4, 9.6, 1),
            ("2024-01-03 09:30", 20.0, 21.0, 19.0, 20.5, 3),
        ]
    )
    pd.testing.assert_frame_equal(out, expected)


def test_labels_are_left_edges_and_empty_bins_dropped() -> None:
    out = resample(MINUTES, MINUTE, parse_timeframe("5Min"))
    assert pd.Timestamp("2024-01-02 09:40") not in out.index  # no forward fill
    assert pd.Timestamp("2024-01-02 09:34") not in out.index
    # the 09:34 minute is inside the bar labelled 09:30 (09:30:00-09:34:59)
    assert out.loc["2024-01-02 09:30", "close"] == 9.1


def test_one_minute_to_one_hour_aligns_to_the_hour() -> None:
    out = resample(MINUTES, MINUTE, parse_timeframe("1Hour"))
    expected = bars(
        [
            ("2024-01-02 09:00", 9.0, 11.0, 8.5, 9.2, 172),
            ("2024-01-02 10:00", 9.5, 9.6, 9.4, 9.6, 1),
            ("2024-01-03 09:00", 20.0, 21.0, 19.0, 20.5, 3),
        ]
    )
    pd.testing.assert_frame_equal(out, expected)


def test_intraday_to_daily_groups_by_session_date() -> None:
    out = resample(MINUTES, MINUTE, DAILY)
    expected = bars(
        [
            ("2024-01-02", 9.0, 11.0, 8.5, 9.6, 173),
            ("2024-01-03", 20.0, 21.0, 19.0, 20.5, 3),
        ]
    )
    pd.testing.assert_frame_equal(out, expected)


def test_five_to_fifteen_minutes() -> None:
    five = resample(MINUTES, MINUTE, parse_timeframe("5Min"))
    fifteen = resample(five, parse_timeframe("5Min"), parse_timeframe("15Min"))
    assert list(fifteen.index.strftime("%H:%M")) == ["09:15", "09:30", "10:00", "09:30"]
    assert fifteen.loc["2024-01-02 09:30"].tolist() == [10.0, 11.0, 9.0, 9.2, 167.0]


def test_same_timeframe_is_a_copy_of_the_bar_columns() -> None:
    frame = MINUTES.assign(line=range(len(MINUTES)))
    out = resample(frame, MINUTE, MINUTE)
    pd.testing.assert_frame_equal(out, MINUTES)


def test_finer_target_is_an_error() -> None:
    with pytest.raises(DataError, match=r"cannot resample 1Day bars to 5Min: .*finer"):
        resample(MINUTES, DAILY, parse_timeframe("5Min"))


def test_non_multiple_target_is_an_error() -> None:
    with pytest.raises(DataError, match=r"not a whole number of 5Min bars"):
        resample(MINUTES, parse_timeframe("5Min"), parse_timeframe("7Min"))


@pytest.mark.parametrize(
    ("freq", "expected"),
    [("1min", "1Min"), ("5min", "5Min"), ("15min", "15Min"), ("1h", "1Hour"), ("1D", "1Day")],
)
def test_infer_timeframe(freq: str, expected: str) -> None:
    index = pd.date_range("2024-01-02 09:30", periods=20, freq=freq)
    assert infer_timeframe(index).name == expected


def test_infer_timeframe_with_weekend_gaps_and_single_bars() -> None:
    business_days = pd.bdate_range("2024-01-01", periods=30)
    assert infer_timeframe(business_days) == DAILY
    assert infer_timeframe(pd.DatetimeIndex(["2024-01-02"])) == DAILY
    assert infer_timeframe(pd.DatetimeIndex(["2024-01-02 09:30"])) == MINUTE
    sparse = pd.DatetimeIndex(["2024-01-02 09:30", "2024-01-02 09:33", "2024-01-02 09:37"])
    assert infer_timeframe(sparse) == MINUTE  # median 3.5 min, but 4 min is not a multiple of 3
    fives = pd.DatetimeIndex(["2024-01-02 09:30", "2024-01-02 09:35", "2024-01-02 09:45"])
    assert infer_timeframe(fives).name == "5Min"
    with pytest.raises(DataError, match="seconds apart"):
        infer_timeframe(pd.date_range("2024-01-02", periods=5, freq="10s"))
