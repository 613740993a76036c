import datetime as dt

import pandas as pd
import pytest

from parity.feeds.aggregate import BarAggregator, bucket_start
from parity.feeds.resample import resample
from parity.timeframe import MINUTE, parse_timeframe
from parity.venues.types import StreamBar


def minute(hh: int, mm: int, o: float, h: float, low: float, c: float, v: float) -> StreamBar:
    return StreamBar("X", dt.datetime(2024, 1, 2, hh, mm), o, h, low, c, v)


@pytest.mark.parametrize(
    ("when", "tf", "label"),
    [
        ((9, 30), "5Min", (9, 30)),
        ((9, 34), "5Min", (9, 30)),
        ((9, 35), "5Min", (9, 35)),
        ((9, 59), "1Hour", (9, 0)),
        ((10, 14), "15Min", (10, 0)),
    ],
)
def test_bucket_labels_are_clock_aligned_starts(when, tf, label):
    start = dt.datetime(2024, 1, 2, *when)
    assert bucket_start(start, parse_timeframe(tf)) == dt.datetime(2024, 1, 2, *label)


def test_one_minute_passes_through():
    agg = BarAggregator(MINUTE)
    bar = minute(9, 30, 1, 2, 0.5, 1.5, 10)
    assert agg.add(bar) == [bar]


def test_five_minute_bucket_emitted_on_its_last_minute():
    agg = BarAggregator(parse_timeframe("5Min"))
    out = []
    for i, (o, h, low, c, v) in enumerate(
        [
            (10, 11, 9, 10.5, 100),
            (10.5, 12, 10, 11, 50),
            (11, 11.5, 8, 9, 25),
            (9, 9.5, 8.5, 9.2, 5),
            (9.2, 10, 9.1, 9.9, 20),
        ]
    ):
        out += agg.add(minute(9, 30 + i, o, h, low, c, v))
        if i < 4:
            assert out == []
    assert len(out) == 1
    bar = out[0]
    assert (bar.start, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        dt.datetime(2024, 1, 2, 9, 30),
        10,
        12,
        8,
        9.9,
        200,
    )


def test_bucket_with_missing_last_minute_closes_when_next_bucket_starts():
    agg = BarAggregator(parse_timeframe("5Min"))
    assert agg.add(minute(9, 31, 1, 2, 1, 2, 1)) == []
    assert agg.add(minute(9, 33, 2, 3, 2, 3, 1)) == []
    out = agg.add(minute(9, 36, 3, 4, 3, 4, 1))  # 09:35 bucket begins; 09:30 bucket is done
    assert [b.start for b in out] == [dt.datetime(2024, 1, 2, 9, 30)]
    assert out[0].open == 1 and out[0].close == 3
    assert [b.start for b in agg.flush()] == [dt.datetime(2024, 1, 2, 9, 35)]
    assert agg.flush() == []


def test_live_aggregation_equals_backtest_resampling_on_the_sample():
    """The same minute bars aggregated live and resampled for the backtest give the same bars."""
    frame = pd.read_csv(
        "src/parity/data/minute/IBM.csv", index_col="datetime", parse_dates=["datetime"]
    ).iloc[:600]
    tf = parse_timeframe("5Min")
    expected = resample(frame, MINUTE, tf)
    agg = BarAggregator(tf)
    live = []
    for ts, row in frame.iterrows():
        live += agg.add(
            StreamBar("IBM", ts.to_pydatetime(), row.open, row.high, row.low, row.close, row.volume)
        )
    live += agg.flush()
    got = pd.DataFrame(
        [(b.start, b.open, b.high, b.low, b.close, b.volume) for b in live],
        columns=["datetime", "open", "high", "low", "close", "volume"],
    ).set_index("datetime")
    pd.testing.assert_frame_equal(
        got, expected[got.columns], check_freq=False, check_index_type=False, check_names=False
    )


def test_a_quiet_bucket_closes_on_the_clock():
    agg = BarAggregator(parse_timeframe("5Min"))
    assert agg.add(minute(9, 31, 1, 2, 1, 2, 1)) == []
    grace = dt.timedelta(seconds=2)
    assert agg.due(dt.datetime(2024, 1, 2, 9, 35, 1), grace) == []  # within the grace
    done = agg.due(dt.datetime(2024, 1, 2, 9, 35, 2), grace)
    assert [b.start for b in done] == [dt.datetime(2024, 1, 2, 9, 30)]
    assert agg.due(dt.datetime(2024, 1, 2, 9, 50), grace) == []  # nothing in progress


def test_a_bucket_closes_when_the_replays_next_bar_is_outside_it():
    """Lock-step: the venue says when its next step is; a bucket it is not in is complete."""
    agg = BarAggregator(parse_timeframe("5Min"))
    agg.add(minute(9, 31, 1, 2, 1, 2, 1))
    agg.add(minute(9, 33, 2, 3, 2, 3, 1))
    assert agg.close_before(dt.datetime(2024, 1, 2, 9, 34)) == []  # still its bucket
    out = agg.close_before(dt.datetime(2024, 1, 2, 9, 41))
    assert [(b.start, b.open, b.high, b.close, b.volume) for b in out] == [
        (dt.datetime(2024, 1, 2, 9, 30), 1, 3, 3, 2)
    ]
    daily = BarAggregator(parse_timeframe("1Day"))
    daily.add(minute(15, 59, 5, 6, 4, 5.5, 10))
    assert daily.close_before(dt.datetime(2024, 1, 2, 16, 0)) == []  # after-hours still today
    assert [b.close for b in daily.close_before(None)] == [5.5]  # the replay ends
