"""Report composition: find the run, resolve the benchmark, write the tearsheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from parity.errors import ConfigError, DataError, ReportError, RunNotFoundError
from parity.feeds.adjust import manifest_adjustment
from parity.feeds.loader import load_bars
from parity.instruments.calendars import manifest_calendar
from parity.instruments.money import currency_symbol, run_currency
from parity.reports.options import add_to_tearsheet, options_section
from parity.runstore import RunRecord, RunStore
from parity.timeframe import parse_timeframe


def buy_and_hold_returns(record: RunRecord, symbols: list[str] | None = None) -> pd.Series:
    """Daily returns of an equal-weight, cost-free buy-and-hold of `symbols` (default: the run's)
    over the run's window and data source."""
    manifest = record.manifest
    window = manifest.window
    if window is None or manifest.timeframe is None:
        missing = "'timeframe'" if manifest.timeframe is None else "'start'/'end'"
        raise ReportError(f"{record.path}/manifest.json lacks {missing}; re-run the backtest")
    loaded = load_bars(
        manifest.data_source or "sample",
        symbols or list(manifest.symbols) or None,
        timeframe=parse_timeframe(manifest.timeframe),
        start=window[0],
        end=window[1],
        adjustment=manifest_adjustment(manifest.data),
        calendar=manifest_calendar(manifest).name,
    )
    closes = pd.concat(
        {
            s.symbol: s.frame["close"].groupby(s.frame.index.normalize()).last()
            for s in loaded.series
        },
        axis=1,
    ).ffill()
    growth = closes / closes.bfill().iloc[0]
    curve = growth.mean(axis=1)
    returns = curve.pct_change().fillna(0.0).rename("return")
    returns.index.name = "date"
    return returns


def resolve_benchmark(
    store: RunStore, record: RunRecord, benchmark: str | None
) -> tuple[pd.Series | None, str | None]:
    """`buy-and-hold`, a SYMBOL from the run's data source, a RUN id, or `none`."""
    if not benchmark or benchmark.lower() == "none":
        return None, None
    if benchmark.lower() in ("buy-and-hold", "buy_and_hold", "bh"):
        names = ",".join(record.manifest.symbols)
        return buy_and_hold_returns(record), f"buy & hold {names}"
    try:
        other = store.get(benchmark)
    except RunNotFoundError:
        other = None
    if other is not None:
        return other.returns(), f"run {other.run_id}"
    symbol = benchmark.upper()
    if not symbol.replace(".", "").replace("-", "").isalnum():
        raise ConfigError(f"benchmark {benchmark!r} is neither buy-and-hold, a symbol nor a run id")
    try:
        return buy_and_hold_returns(record, [symbol]), symbol
    except DataError as exc:
        raise ConfigError(
            f"benchmark {benchmark!r} is not a run id and not a symbol of the run's data "
            f"source ({exc})"
        ) from None


def write_run_tearsheet(
    store: RunStore, ref: str, *, benchmark: str | None, out: Path | None
) -> Path:
    """Write `tearsheet.html` for run `ref` and return its path."""
    from parity.reports.tearsheet import write_tearsheet

    record = store.get(ref)
    returns = record.returns()
    bench, bench_title = resolve_benchmark(store, record, benchmark)
    manifest = record.manifest
    year = manifest_calendar(manifest).annualisation
    currency = run_currency(manifest)
    name = manifest.strategy.name or "run"
    title = (
        f"{name} {','.join(manifest.symbols)} — {record.run_id} "
        f"({currency_symbol(currency).strip()} {currency}, annualised over {year.convention})"
    )
    target = out or record.path / "tearsheet.html"
    written = write_tearsheet(
        returns,
        target,
        benchmark=bench,
        title=title,
        benchmark_title=bench_title,
        periods_per_year=year.periods,
        strategy_title=name,
        figures=record.metrics,
        currency=currency,
    )
    section = options_section(record.path, record.metrics)
    if section is not None:  # a run that traded options: its assumptions, costs, trades
        add_to_tearsheet(written, section)
    return written
