"""QuantStats tearsheet: written offline, with and without a benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parity.errors import ReportError
from parity.reports.tearsheet import align_benchmark, write_tearsheet

DEAD_PROXY = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every proxy at a closed port and make QuantStats' downloader explode."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, DEAD_PROXY)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    import quantstats.utils

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tearsheet tried to download data")

    monkeypatch.setattr(quantstats.utils, "download_returns", no_download)


def daily(seed: int, start: str, days: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=days)
    return pd.Series(rng.normal(0.0005, 0.01, days), index=index, name="return")


def test_tearsheet_without_benchmark(tmp_path: Path) -> None:
    out = write_tearsheet(daily(1, "2023-01-02", 120), tmp_path / "a" / "t.html", title="SMA X")
    assert out == tmp_path / "a" / "t.html"
    text = out.read_text(encoding="utf-8")
    assert len(text) > 1000
    assert "SMA X" in text
    assert "<svg" in text  # the charts are inline, not fetched
    assert "favicon" not in text and 'src="http' not in text  # nothing remote to load


def test_tearsheet_with_benchmark(tmp_path: Path) -> None:
    bench = daily(2, "2022-12-01", 200)
    out = write_tearsheet(
        daily(1, "2023-01-02", 120),
        tmp_path / "t.html",
        benchmark=bench,
        title="SMA <cross>",
        benchmark_title="SPY",
    )
    text = out.read_text(encoding="utf-8")
    assert "SMA &lt;cross&gt;" in text
    assert "SPY" in text


def test_too_few_returns_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="at least 2 days"):
        write_tearsheet(daily(1, "2023-01-02", 1), tmp_path / "t.html", title="x")
    assert not (tmp_path / "t.html").exists()


def test_benchmark_without_overlap_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="overlap"):
        write_tearsheet(
            daily(1, "2023-01-02", 10),
            tmp_path / "t.html",
            benchmark=daily(2, "2020-01-01", 10),
            title="x",
        )


def test_align_benchmark_compounds_days_between_strategy_dates() -> None:
    dates = pd.DatetimeIndex(["2024-01-02", "2024-01-04", "2024-01-08"])
    bench = pd.Series(
        [0.5, 0.1, 0.1, 0.2, 0.3],
        index=pd.DatetimeIndex(
            ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-09"]
        ),
    )
    aligned = align_benchmark(bench, dates)
    assert list(aligned.index) == list(dates)
    # 01-01 precedes the strategy, 01-09 follows it; 01-03 and 01-04 compound into 01-04
    assert list(aligned) == pytest.approx([0.1, 1.1 * 1.2 - 1.0, 0.0])
