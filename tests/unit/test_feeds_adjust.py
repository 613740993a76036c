"""Split adjustment by default: from a split_coefficient column, from adj_close, and the
warnings when a split stays in the prices (--raw, or data that cannot say where splits are)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from parity.feeds.adjust import manifest_adjustment
from parity.feeds.loader import load_bars
from parity.feeds.sample import sample_path

HEADER = "date,open,high,low,close,volume"
# a 2:1 split on 2024-01-04: 100 -> 50 overnight; 2024-01-03 pays a 1.00 dividend (ex-date)
ROWS = [
    ("2024-01-02", 100, 102, 99, 101, 1000),
    ("2024-01-03", 101, 103, 100, 102, 1000),
    ("2024-01-04", 51, 52, 50, 51.5, 2000),
    ("2024-01-05", 51.5, 53, 51, 52, 2000),
]


def write(path: Path, extra: str = "", values: list[str] | None = None) -> Path:
    lines = [HEADER + (f",{extra}" if extra else "")]
    for i, row in enumerate(ROWS):
        cells = [str(v) for v in row] + ([values[i]] if values else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sample_is_split_adjusted_by_default_from_adj_close() -> None:
    loaded = load_bars("sample", ["AAPL"], adjustment="splits")
    done = loaded.adjustments["AAPL"]
    assert done.applied == "splits"
    assert [s.describe() for s in done.splits] == [
        {"date": "2000-06-21", "ratio": "2:1", "from": "adj_close"},
        {"date": "2005-02-28", "ratio": "2:1", "from": "adj_close"},
    ]
    bars = loaded.series[0].frame
    raw = pd.read_csv(sample_path("AAPL"), index_col="datetime", parse_dates=True)
    # before 2000-06-21 both splits apply (/4), between them one (/2), after none
    for day, factor in (("2000-06-20", 4), ("2000-06-21", 2), ("2005-02-25", 2), ("2005-02-28", 1)):
        for column in ("open", "high", "low", "close"):
            assert bars.loc[day, column] == pytest.approx(raw.loc[day, column] / factor)
        assert bars.loc[day, "volume"] == pytest.approx(raw.loc[day, "volume"] * factor)
    # no overnight halving left on the split days (raw: 101.25 -> 50.5 and 88.99 -> 44.68)
    assert bars.loc["2000-06-21", "open"] / bars.loc["2000-06-20", "close"] == pytest.approx(
        0.9975, abs=1e-4
    )
    assert bars.loc["2005-02-28", "open"] / bars.loc["2005-02-25", "close"] == pytest.approx(
        1.0042, abs=1e-4
    )
    # dividends are not in the prices: the last bars are the traded ones
    assert bars["close"].iloc[-1] == raw["close"].iloc[-1]
    assert loaded.warnings == ()  # the 2001-09-11..14 closure is on the XNYS calendar


def test_raw_run_over_a_split_warns_naming_the_date_and_the_flag() -> None:
    loaded = load_bars("sample", ["MSFT"], adjustment="raw")
    assert loaded.adjustments["MSFT"].applied == "raw"
    raw = pd.read_csv(sample_path("MSFT"), index_col="datetime", parse_dates=True)
    assert loaded.series[0].frame["close"].tolist() == raw["close"].tolist()
    assert loaded.warnings[0] == (
        "MSFT (sample:daily/MSFT.csv): 2:1 split on 2003-02-18 (from adj_close) is not adjusted "
        "because of --raw, so its price change counts as profit or loss; "
        "drop --raw to adjust for splits"
    )


def test_only_splits_inside_the_window_matter() -> None:
    window = {"start": dt.date(2006, 1, 1), "end": dt.date(2010, 12, 31)}
    adjusted = load_bars("sample", ["AAPL"], adjustment="splits", **window)
    raw = load_bars("sample", ["AAPL"], adjustment="raw", **window)
    assert adjusted.adjustments["AAPL"].splits == ()
    pd.testing.assert_frame_equal(adjusted.series[0].frame, raw.series[0].frame)
    assert not any("split" in w for w in raw.warnings)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("split_coefficient", ["1", "1", "2", "1"]),  # Alpha Vantage: 1 = no split
        ("Stock Splits", ["0", "0", "2.0", "0"]),  # yfinance: 0 = no split
    ],
)
def test_split_coefficient_column(tmp_path: Path, name: str, values: list[str]) -> None:
    path = write(tmp_path / "X.csv", name, values)
    loaded = load_bars(str(path), None, adjustment="splits")
    done = loaded.adjustments["X"]
    assert [s.describe() for s in done.splits] == [
        {"date": "2024-01-04", "ratio": "2:1", "from": "split_coefficient"}
    ]
    frame = loaded.series[0].frame
    assert frame["close"].tolist() == [50.5, 51.0, 51.5, 52.0]
    assert frame["open"].tolist() == [50.0, 50.5, 51.0, 51.5]
    assert frame["volume"].tolist() == [2000.0, 2000.0, 2000.0, 2000.0]
    raw = load_bars(str(path), None, adjustment="raw")
    assert raw.series[0].frame["close"].tolist() == [101.0, 102.0, 51.5, 52.0]
    assert raw.warnings == (
        f"X ({path}): 2:1 split on 2024-01-04 (from split_coefficient) is not adjusted because "
        "of --raw, so its price change counts as profit or loss; drop --raw to adjust for "
        "splits",
    )


def test_adj_close_split_and_dividend_on_other_days(tmp_path: Path) -> None:
    # adj_close / close: 0.49 before the dividend, 0.495 then, 1 from the split on
    path = write(tmp_path / "X.csv", "adj_close", ["49.49", "50.49", "51.5", "52"])
    loaded = load_bars(str(path), None, adjustment="splits")
    assert [s.describe()["date"] for s in loaded.adjustments["X"].splits] == ["2024-01-04"]
    assert loaded.series[0].frame["close"].tolist() == [50.5, 51.0, 51.5, 52.0]
    everything = load_bars(str(path), None, adjustment="all")
    assert everything.series[0].frame["close"].tolist() == pytest.approx([49.49, 50.49, 51.5, 52])
    assert everything.adjustments["X"].applied == "all"


def test_data_without_split_information_warns_on_a_split_sized_jump(tmp_path: Path) -> None:
    path = write(tmp_path / "X.csv")
    for adjustment, applied in (("splits", "none available"), ("raw", "raw")):
        loaded = load_bars(str(path), None, adjustment=adjustment)
        assert loaded.adjustments["X"].applied == applied
        assert loaded.series[0].frame["close"].tolist() == [101.0, 102.0, 51.5, 52.0]
        assert loaded.warnings == (
            f"X ({path}): the move into 2024-01-04 (x0.50) looks like a 2:1 split and the data "
            "has no adj_close or split_coefficient column to adjust it; add one, or ignore this "
            "if the move is real",
        )


def test_manifest_adjustment_reads_old_and_new_manifests() -> None:
    assert manifest_adjustment({"adjustment": "splits", "adjusted": False}) == "splits"
    assert manifest_adjustment({"adjusted": True}) == "all"
    assert manifest_adjustment({"adjusted": False}) == "raw"  # the old default
    assert manifest_adjustment({}) == "raw"
