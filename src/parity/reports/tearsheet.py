"""QuantStats HTML tearsheet, rendered fully offline.

QuantStats downloads benchmark data when given a ticker string, so this module only ever passes it
a returns Series. The matplotlib ``Agg`` backend is selected before QuantStats (which imports
pyplot) is imported, and QuantStats is imported lazily so importing parity stays cheap.
"""

from __future__ import annotations

import html
import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from parity.errors import ReportError
from parity.reports.tearsheet_fixes import fix_page, patched

MIN_DAYS = 2


def write_tearsheet(
    returns: pd.Series,
    out: Path,
    *,
    benchmark: pd.Series | None = None,
    title: str,
    benchmark_title: str | None = None,
    periods_per_year: int = 252,
    strategy_title: str = "Strategy",
    figures: Mapping[str, Any] | None = None,
    currency: str | None = None,
) -> Path:
    """Write a QuantStats HTML tearsheet of daily ``returns`` to ``out`` and return the path.

    ``periods_per_year`` is the run calendar's annualisation (252 sessions, 365 days for 24/7
    markets), so the tearsheet's Sharpe and volatility are the run's own. ``title`` heads the
    page; ``strategy_title`` (short: it is a legend entry and a column heading) names the
    strategy. ``figures`` (the run's metrics) are shown on top with how QuantStats' differ.

    ``benchmark`` is a Series of daily simple returns (never a ticker: nothing is downloaded); it
    is aligned to the strategy's dates, compounding benchmark days that fall between two strategy
    dates into the later one. Raises :class:`ReportError` when there are fewer than two days of
    returns, the benchmark does not overlap them, or QuantStats fails.
    """
    strategy = _as_daily(returns, "returns")
    if len(strategy) < MIN_DAYS:
        raise ReportError(
            f"tearsheet needs at least {MIN_DAYS} days of returns, got {len(strategy)}; "
            "run over a longer period"
        )
    bench = None
    if benchmark is not None:
        bench = align_benchmark(_as_daily(benchmark, "benchmark"), strategy.index)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _render(
        strategy,
        bench,
        out,
        title=title,
        strategy_title=strategy_title,
        benchmark_title=benchmark_title,
        periods_per_year=periods_per_year,
    )
    if not out.is_file() or out.stat().st_size == 0:
        raise ReportError(f"QuantStats wrote no tearsheet to {out}")
    _strip_remote_links(out)
    page = fix_page(
        out.read_text(encoding="utf-8"),
        first=f"{strategy.index[0]:%Y-%m-%d}",
        last=f"{strategy.index[-1]:%Y-%m-%d}",
        figures=figures,
        currency=currency,
        periods=periods_per_year,
    )
    out.write_text(page, encoding="utf-8")
    return out


def _strip_remote_links(path: Path) -> None:
    """Drop QuantStats' remote favicon link so opening the page offline fetches nothing."""
    html = path.read_text(encoding="utf-8")
    cleaned = re.sub(r"<link[^>]+href=\"https?://[^\"]*\"[^>]*>", "", html)
    if cleaned != html:
        path.write_text(cleaned, encoding="utf-8")


def align_benchmark(benchmark: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Benchmark daily returns re-bucketed onto ``dates`` (sorted, normalised, tz-naive).

    Each benchmark day is assigned to the first strategy date on or after it and compounded
    there; days before the first or after the last strategy date are dropped, and strategy
    dates with no benchmark day get 0.
    """
    bench = benchmark[(benchmark.index >= dates[0]) & (benchmark.index <= dates[-1])]
    if bench.empty:
        raise ReportError("benchmark returns do not overlap the strategy's dates")
    buckets = dates[dates.searchsorted(bench.index, side="left")]
    grown = (1.0 + bench).groupby(buckets).prod() - 1.0
    return grown.reindex(dates, fill_value=0.0).rename(benchmark.name)


def _as_daily(series: pd.Series, what: str) -> pd.Series:
    """Float returns on a sorted, tz-naive, normalised DatetimeIndex without NaNs."""
    if not isinstance(series.index, pd.DatetimeIndex):
        if series.index.dtype != object:
            raise ReportError(f"{what} must be indexed by dates, not {series.index.dtype}")
        try:
            series = series.set_axis(pd.to_datetime(series.index))
        except (TypeError, ValueError) as exc:
            raise ReportError(f"{what} must be indexed by dates: {exc}") from exc
    index = series.index.normalize()
    if index.tz is not None:
        index = index.tz_localize(None)  # keep the local calendar date
    clean = series.set_axis(index).astype(float).dropna().sort_index()
    if clean.index.has_duplicates:
        raise ReportError(f"{what} have more than one value per date; pass daily returns")
    return clean


def _render(
    returns: pd.Series,
    benchmark: pd.Series | None,
    out: Path,
    *,
    title: str,
    strategy_title: str,
    benchmark_title: str | None,
    periods_per_year: int,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    with _quiet():
        import quantstats as qs

        kwargs: dict[str, object] = {"strategy_title": html.escape(strategy_title)}
        if benchmark is not None:
            kwargs["benchmark_title"] = benchmark_title or "Benchmark"  # pandas escapes it
        try:
            with patched():
                # match_dates=False: QuantStats would otherwise drop every day before both
                # series first move (the benchmark's first return is 0), so its cumulative
                # return, CAGR and Sharpe would not be the run's
                qs.reports.html(
                    returns.rename("Strategy"),
                    benchmark=benchmark,
                    title=html.escape(title),
                    output=str(out),
                    periods_per_year=periods_per_year,
                    match_dates=False,
                    **kwargs,
                )
        except Exception as exc:  # QuantStats raises assorted errors on odd inputs
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ReportError(f"QuantStats could not build the tearsheet: {reason}") from exc
        finally:
            _close_figures()


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence QuantStats/pandas warnings and matplotlib's missing-font log spam."""
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        font_log.setLevel(level)


def _close_figures() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")
