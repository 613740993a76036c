"""`load_bars`: the one entry point from a data source string to validated `BarSeries`.

Source grammar:

* `sample`, `sample:daily` - the bundled daily bars (default symbol IBM)
* `sample:minute` - the bundled 1-minute bars (default symbol IBM)
* `yahoo`, `yfinance` - Yahoo Finance through the parquet cache (symbols required)
* a path to one CSV/parquet file - one symbol (the one given, or the file stem upper-cased)
* a directory of `SYMBOL.csv` / `SYMBOL.parquet` files (matched case-insensitively; all files
  when no symbols are given)
* a path template containing `{symbol}`, e.g. `data/{symbol}_1min.csv`

Each symbol is read, validated on its raw rows, adjusted (`parity.feeds.adjust`: for splits, for
splits and dividends, or not at all), resampled if `timeframe` is coarser than the data, then cut
to the inclusive `[start, end]` date window.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from parity.errors import ConfigError, DataError
from parity.feeds.adjust import Adjustment, Split, adjust_prices
from parity.feeds.bars import COLUMNS, BarSeries
from parity.feeds.currency import check_one_currency
from parity.feeds.files import data_suffix, file_symbol, frame_rows, read_bar_file
from parity.feeds.resample import infer_timeframe, resample
from parity.feeds.sample import DEFAULT_SAMPLE_SYMBOL, sample_path
from parity.feeds.validate import gap_warnings, validate_frame
from parity.feeds.yahoo import fetch_yahoo, yahoo_interval
from parity.instruments import instrument_for
from parity.instruments.calendars import (
    SESSIONS,
    ExchangeCalendar,
    Session,
    calendar_for,
    calendar_named,
)
from parity.timeframe import DAILY, Timeframe, parse_timeframe

_SOURCES_HELP = (
    "use sample, sample:minute, yahoo, a CSV/parquet file, a directory of SYMBOL.csv files "
    "or a path template with {symbol}"
)


@dataclass(frozen=True)
class LoadedData:
    """The validated bars of every requested symbol, the data warnings, the source string,
    per symbol how its prices were adjusted (`parity.feeds.adjust.Adjusted` without its frame),
    and the exchange calendar the bars are labelled and counted in."""

    series: tuple[BarSeries, ...]
    warnings: tuple[str, ...]
    source: str
    adjustments: Mapping[str, PriceAdjustment] = field(default_factory=dict)
    calendar: ExchangeCalendar = field(default_factory=lambda: calendar_named("XNYS"))


@dataclass(frozen=True)
class PriceAdjustment:
    """What was done to one symbol's prices: `applied` is splits, all, raw or none available."""

    applied: str
    splits: tuple[Split, ...] = ()


@dataclass(frozen=True)
class _Raw:
    symbol: str
    frame: pd.DataFrame
    origin: str


def _as_date(value: date | str | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"{name} {value!r} is not a date; use YYYY-MM-DD, e.g. 2012-01-03"
        ) from None


def load_bars(
    source: str,
    symbols: Sequence[str] | None,
    *,
    timeframe: Timeframe | str | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    adjustment: Adjustment = "raw",
    cache_dir: Path | None = None,
    calendar: str | None = None,
    session: Session = "extended",
) -> LoadedData:
    """Load, validate, adjust, resample and window the bars of `symbols` from `source`.

    `timeframe=None` keeps the data's native timeframe; a finer timeframe than the data raises
    `DataError`. `start`/`end` are inclusive dates. Symbols are upper-cased. `adjustment` is
    `splits`, `all` or `raw` (`parity.feeds.adjust`; a backtest's default is `splits`). Raises
    `ConfigError` for a malformed request and `DataError` for missing or bad data.

    `calendar` names the exchange calendar (`XNSE`, `24/7`, ...); by default it is the symbols'
    own (`parity.instruments.calendars.calendar_for`), and symbols on different calendars are a
    `ConfigError`. Zone-aware stamps are read in its time zone and gaps counted in its sessions.
    `session="regular"` keeps only the intraday bars that start inside the calendar's regular
    session (pre- and post-market bars dropped); `extended` keeps every bar of the data.

    From a notebook, `timeframe` may be text (`"1h"`, `"5Min"`) and `start`/`end` ISO dates.
    """
    if isinstance(timeframe, str):
        timeframe = parse_timeframe(timeframe)
    start, end = _as_date(start, "start"), _as_date(end, "end")
    if session not in SESSIONS:
        raise ConfigError(f"session {session!r} must be one of {', '.join(SESSIONS)}")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"start {start} is after end {end}; swap them")
    wanted = [s.strip().upper() for s in (symbols or []) if s.strip()]
    check_one_currency(wanted)
    if wanted:
        run_calendar(wanted, calendar)  # before any file is read
    kind = source.strip().lower()
    if kind in ("yahoo", "yfinance"):
        exchange = run_calendar(wanted, calendar)
        loaded = _load_yahoo(source, wanted, timeframe, start, end, adjustment, cache_dir, exchange)
        kept = tuple(_in_session(s, exchange, session) for s in loaded.series)
        return LoadedData(kept, loaded.warnings, source, loaded.adjustments, exchange)
    files = _resolve_files(source, wanted)
    exchange = run_calendar([symbol for symbol, _, _ in files], calendar)
    raws = [
        _Raw(symbol, read_bar_file(path, keep_adjustment=True, timezone=exchange.timezone), origin)
        for symbol, path, origin in files
    ]
    series: list[BarSeries] = []
    warnings: list[str] = []
    adjustments: dict[str, PriceAdjustment] = {}
    for raw in raws:
        bars, notes, done = _finish(raw, timeframe, start, end, adjustment, exchange)
        series.append(_in_session(bars, exchange, session))
        warnings.extend(notes)
        adjustments[bars.symbol] = done
    return LoadedData(tuple(series), tuple(warnings), source, adjustments, exchange)


def _in_session(bars: BarSeries, calendar: ExchangeCalendar, session: Session) -> BarSeries:
    """`bars` with only the bars inside the regular session, for `regular` intraday bars."""
    if session == "extended" or bars.timeframe.is_daily:
        return bars
    keep = calendar.in_regular_session(pd.DatetimeIndex(bars.frame.index))
    if not keep.any():
        raise DataError(
            f"{bars.symbol} ({bars.origin}): no bars inside the {calendar.name} regular session "
            "(check the data's time zone, or use --session extended)"
        )
    return BarSeries(bars.symbol, bars.frame[keep], bars.timeframe, bars.origin)


def run_calendar(symbols: Sequence[str], name: str | None = None) -> ExchangeCalendar:
    """The calendar named by `name` (`--calendar`), else the one calendar `symbols` trade on
    (XNYS when there are none); `ConfigError` naming each symbol's calendar when they differ."""
    if name:
        return calendar_named(name)
    calendars = {symbol: calendar_for(instrument_for(symbol)) for symbol in symbols}
    names = {c.name for c in calendars.values()}
    if len(names) > 1:
        listed = ", ".join(f"{s} ({c.name})" for s, c in calendars.items())
        raise ConfigError(
            f"symbols on different exchange calendars in one run: {listed}; run them "
            "separately or name one calendar with --calendar"
        )
    return next(iter(calendars.values()), None) or calendar_named("XNYS")


def frame_bars(
    frames: Mapping[str, pd.DataFrame],
    symbols: Sequence[str],
    *,
    source: str,
    timeframe: Timeframe | None = None,
    start: date | None = None,
    end: date | None = None,
    calendar: str | None = None,
) -> LoadedData:
    """`load_bars` on bars already in memory (`{symbol: frame}`, each with a `datetime` column
    or index and `open, high, low, close, volume`): validated, resampled and windowed exactly as
    the same rows read from `SYMBOL.csv` files would be, prices as given (raw). `source` names
    them in errors and the manifest (e.g. `tape`). Their labels are taken as the exchange
    calendar's times (`calendar`, else the symbols' own)."""
    exchange = run_calendar(symbols, calendar)
    series: list[BarSeries] = []
    warnings: list[str] = []
    adjustments: dict[str, PriceAdjustment] = {}
    for symbol in symbols:
        if symbol not in frames:
            raise DataError(
                f"symbol {symbol} has no bars in {source}; available: {', '.join(sorted(frames))}"
            )
        origin = f"{source}/{symbol}"
        raw = _Raw(symbol, frame_rows(frames[symbol], origin=origin), origin)
        bars, notes, done = _finish(raw, timeframe, start, end, "raw", exchange)
        series.append(bars)
        warnings.extend(notes)
        adjustments[symbol] = done
    return LoadedData(tuple(series), tuple(warnings), source, adjustments, exchange)


def _resolve_files(source: str, wanted: list[str]) -> list[tuple[str, Path, str]]:
    text = source.strip()
    kind = text.lower()
    if kind in ("sample", "sample:daily", "sample:minute"):
        sample_kind = "minute" if kind.endswith("minute") else "daily"
        names = wanted or [DEFAULT_SAMPLE_SYMBOL]
        return [(s, sample_path(s, sample_kind), f"sample:{sample_kind}/{s}.csv") for s in names]
    if kind.startswith("sample:"):
        raise ConfigError(
            f"data source {source!r} is not understood; use sample:daily or sample:minute"
        )
    if "{symbol}" in text:
        if not wanted:
            raise ConfigError(f"data source {source!r} is a template: give the symbols to load")
        return [(s, p, str(p)) for s in wanted for p in [_template_path(text, s)]]
    path = Path(text).expanduser()
    if path.is_dir():
        return _directory_files(path, wanted)
    if path.is_file():
        if len(wanted) > 1:
            raise ConfigError(
                f"data source {path} is a single file but {len(wanted)} symbols were given "
                f"({', '.join(wanted)}); give one symbol, or use a directory or {{symbol}} template"
            )
        return [(wanted[0] if wanted else file_symbol(path), path, str(path))]
    raise DataError(f"data source {source!r}: no such file or directory; {_SOURCES_HELP}")


def _directory_files(directory: Path, wanted: list[str]) -> list[tuple[str, Path, str]]:
    available: dict[str, Path] = {}
    for entry in sorted(directory.iterdir()):
        if entry.is_file() and data_suffix(entry) is not None:
            available.setdefault(file_symbol(entry), entry)
    if not available:
        raise DataError(
            f"directory {directory} has no .csv or .parquet files; add SYMBOL.csv files"
        )
    names = wanted or sorted(available)
    missing = [s for s in names if s not in available]
    if missing:
        raise DataError(
            f"symbol {missing[0]} has no file in {directory} (looked for {missing[0]}.csv, "
            f".csv.gz, .txt, .parquet, .pq in any case); available: {', '.join(sorted(available))}"
        )
    return [(s, available[s], str(available[s])) for s in names]


def _template_path(template: str, symbol: str) -> Path:
    tried = []
    for spelling in dict.fromkeys((symbol, symbol.lower(), symbol.capitalize())):
        path = Path(template.replace("{symbol}", spelling)).expanduser()
        if path.is_file():
            return path
        tried.append(str(path))
    pattern = str(Path(template).expanduser()).replace("{symbol}", "*")
    prefix, _, suffix = str(Path(template).expanduser()).partition("{symbol}")
    found = sorted(
        p[len(prefix) : len(p) - len(suffix)].upper()
        for p in glob.glob(glob.escape(prefix) + "*" + glob.escape(suffix))
    )
    raise DataError(
        f"symbol {symbol} has no file for template {template} (looked for {tried[0]}); "
        f"available: {', '.join(found) or f'none matching {pattern}'}"
    )


def _load_yahoo(
    source: str,
    wanted: list[str],
    timeframe: Timeframe | None,
    start: date | None,
    end: date | None,
    adjustment: Adjustment,
    cache_dir: Path | None,
    calendar: ExchangeCalendar,
) -> LoadedData:
    if not wanted:
        raise ConfigError(f"data source {source!r} needs symbols, e.g. --symbols AAPL")
    interval, native = yahoo_interval(timeframe)
    series: list[BarSeries] = []
    warnings: list[str] = []
    adjustments: dict[str, PriceAdjustment] = {}
    for symbol in wanted:
        frame = fetch_yahoo(
            symbol,
            interval=interval,
            start=start,
            end=end,
            cache_dir=cache_dir,
            timezone=calendar.timezone,
        )
        origin = f"yahoo:{symbol}"
        frame.attrs["line_kind"] = "row"
        lines = range(1, len(frame) + 1)
        validate_frame(frame, origin=origin, timeframe=native, line_numbers=lines)
        # Yahoo's close is split-adjusted at the source: `splits` finds no split left to apply
        # in adj_close, and `raw` cannot undo Yahoo's adjustment
        done = adjust_prices(frame, adjustment, symbol=symbol, origin=origin, start=start, end=end)
        if adjustment == "raw":
            warnings.append(
                f"{symbol} ({origin}): Yahoo's prices are split-adjusted at the source; "
                "--raw cannot undo that"
            )
        bars = _shape(symbol, done.frame, native, timeframe, start, end, origin, "yahoo")
        notes = _window_gaps(frame.index, bars, origin, native, calendar)
        series.append(bars)
        warnings.extend((*done.warnings, *notes))
        applied = "splits" if adjustment == "raw" else done.applied
        adjustments[symbol] = PriceAdjustment(applied, done.splits)
    return LoadedData(tuple(series), tuple(warnings), source, adjustments)


def _finish(
    raw: _Raw,
    timeframe: Timeframe | None,
    start: date | None,
    end: date | None,
    adjustment: Adjustment,
    calendar: ExchangeCalendar,
) -> tuple[BarSeries, list[str], PriceAdjustment]:
    index = raw.frame.index
    native = infer_timeframe(index) if isinstance(index, pd.DatetimeIndex) else DAILY
    validate_frame(raw.frame, origin=raw.origin, timeframe=native)
    done = adjust_prices(
        raw.frame, adjustment, symbol=raw.symbol, origin=raw.origin, start=start, end=end
    )
    series_origin = raw.origin.split("/")[0] if raw.origin.startswith("sample:") else raw.origin
    bars = _shape(raw.symbol, done.frame, native, timeframe, start, end, raw.origin, series_origin)
    notes = [*done.warnings, *_window_gaps(raw.frame.index, bars, raw.origin, native, calendar)]
    return bars, notes, PriceAdjustment(done.applied, done.splits)


def _window_gaps(
    index: pd.DatetimeIndex,
    bars: BarSeries,
    origin: str,
    native: Timeframe,
    calendar: ExchangeCalendar | None = None,
) -> list[str]:
    """Gap warnings for the source rows inside the run's window only: a gap in 2001 is noise
    for a backtest of 2012."""
    days = index.normalize()
    first, last = bars.frame.index[0].normalize(), bars.frame.index[-1].normalize()
    return gap_warnings(index[(days >= first) & (days <= last)], origin, native, calendar)


def _shape(
    symbol: str,
    frame: pd.DataFrame,
    native: Timeframe,
    timeframe: Timeframe | None,
    start: date | None,
    end: date | None,
    origin: str,
    series_origin: str,
) -> BarSeries:
    """Resample (validated, sorted rows) to `timeframe`, cut to the window, build the series."""
    target = timeframe or native
    bars = resample(frame, native, target)
    first, last = bars.index[0].date(), bars.index[-1].date()
    days = bars.index.normalize()
    keep = np.ones(len(bars), dtype=bool)
    if start is not None:
        keep &= np.asarray(days >= pd.Timestamp(start))
    if end is not None:
        keep &= np.asarray(days <= pd.Timestamp(end))
    bars = bars[keep]
    if bars.empty:
        raise DataError(
            f"{symbol} ({origin}): no bars between {start or 'the start'} and {end or 'the end'}; "
            f"the data covers {first}..{last}, pick a window inside it"
        )
    bars = bars.loc[:, list(COLUMNS)].astype("float64")
    bars.index = pd.DatetimeIndex(bars.index, name="datetime").as_unit("ns")
    bars.attrs = {}
    return BarSeries(symbol=symbol, frame=bars, timeframe=target, origin=series_origin)
