"""Daily and intraday bars from Yahoo Finance (via `yfinance`) with an on-disk parquet cache.

The cache key is symbol + interval + start + end; a cache hit never touches the network. A miss
downloads with `yfinance` (unadjusted prices plus `adj_close`), bounded in time, and writes the
parquet atomically. Yahoo intraday timestamps are converted to naive America/New_York; daily bars
are labelled with their date at midnight.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from parity.errors import DataError
from parity.timeframe import DAILY, Timeframe, parse_timeframe

EXCHANGE_TZ = "America/New_York"
DEFAULT_TIMEOUT = 10.0
# Yahoo intervals whose bars are clock-aligned (Yahoo's 60m/90m bars start at 09:30, so 1Hour is
# built from 30m bars instead).
_INTERVALS = {60: "1m", 120: "2m", 300: "5m", 900: "15m", 1800: "30m", 86400: "1d"}
_COLUMNS = {
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adj close": "adj_close",
    "adjclose": "adj_close",
    "volume": "volume",
}


def default_cache_dir() -> Path:
    """`$PARITY_CACHE_DIR` if set, else `~/.cache/parity/yahoo`."""
    configured = os.environ.get("PARITY_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "parity" / "yahoo"


def yahoo_interval(timeframe: Timeframe | None) -> tuple[str, Timeframe]:
    """The Yahoo interval to download for `timeframe` and the timeframe of those bars.

    `None` means daily. The result is the coarsest clock-aligned Yahoo interval that divides
    `timeframe`, so the loader can resample it exactly.
    """
    if timeframe is None or timeframe.is_daily:
        return "1d", DAILY
    for seconds in sorted(_INTERVALS, reverse=True):
        if seconds < 86400 and timeframe.seconds % seconds == 0:
            return _INTERVALS[seconds], parse_timeframe(f"{seconds // 60}Min")
    raise DataError(f"Yahoo has no interval that builds {timeframe} bars; use 1Min or coarser")


def cache_path(
    cache_dir: Path,
    symbol: str,
    interval: str,
    start: date | None,
    end: date | None,
    timezone: str = EXCHANGE_TZ,
) -> Path:
    """Where the bars for this symbol/interval/window are cached (end `None` means today); bars
    labelled in another zone than New York's carry it in the name."""
    end_key = (end or date.today()).isoformat()
    start_key = start.isoformat() if start else "earliest"
    zone = "" if timezone == EXCHANGE_TZ else f"_{quote(timezone, safe='')}"
    name = f"{quote(symbol.upper(), safe='')}_{interval}_{start_key}_{end_key}{zone}.parquet"
    return Path(cache_dir) / name


def fetch_yahoo(
    symbol: str,
    *,
    interval: str = "1d",
    start: date | None = None,
    end: date | None = None,
    cache_dir: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    timezone: str = EXCHANGE_TZ,
) -> pd.DataFrame:
    """Bars of `symbol` between `start` and `end` (inclusive dates), from the cache or Yahoo.

    Intraday bars are labelled in `timezone`, the symbol's exchange's (New York by default).

    Returns a frame with a naive `datetime` index and float64 `open, high, low, close, volume`
    and, when Yahoo provides it, `adj_close`. Raises `DataError` (one line naming the symbol and
    the cache directory) if Yahoo cannot be reached, times out or returns no rows.
    """
    symbol = symbol.strip().upper()
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_path(directory, symbol, interval, start, end, timezone)
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # a corrupt cache file: say so, never guess
            raise DataError(
                f"{symbol}: cached Yahoo bars {path} cannot be read ({exc}); delete the file"
            ) from exc
    raw = _download(symbol, interval, start, end, timeout, directory)
    frame = _normalise(raw, daily=interval == "1d", timezone=timezone)
    if frame.empty:
        raise DataError(
            f"{symbol}: Yahoo returned no rows for {interval} bars {start or 'earliest'}.."
            f"{end or 'today'}; check the symbol and window (cache dir {directory})"
        )
    _write_atomic(frame, path)
    return frame


def _download(
    symbol: str,
    interval: str,
    start: date | None,
    end: date | None,
    timeout: float,
    directory: Path,
) -> pd.DataFrame:
    frames: list[object] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            import yfinance as yf

            # yfinance logs each failed request itself; we report one line instead
            logging.getLogger("yfinance").setLevel(logging.CRITICAL)
            frame = yf.Ticker(symbol).history(
                start=start.isoformat() if start else None,
                end=(end + timedelta(days=1)).isoformat() if end else None,
                period="max" if start is None else None,
                interval=interval,
                auto_adjust=False,
                actions=False,
                timeout=timeout,
            )
            frames.append(frame)
        except BaseException as exc:  # reported to the caller as a DataError
            errors.append(exc)

    worker = threading.Thread(target=work, name=f"yahoo-{symbol}", daemon=True)
    worker.start()
    limit = 3 * timeout + 1
    worker.join(limit)
    where = f"cache dir {directory}"
    if worker.is_alive():
        raise DataError(
            f"{symbol}: Yahoo could not be reached within {limit:g} s; "
            f"check the network or use cached data ({where})"
        )
    if errors:
        error = errors[0]
        reason = " ".join(str(error).split()).split(". See ")[0] or type(error).__name__
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        raise DataError(
            f"{symbol}: Yahoo could not be reached or returned no rows ({reason}); "
            f"check the network and symbol ({where})"
        ) from error
    frame = frames[0] if frames else None
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{symbol}: Yahoo returned no rows; check the symbol ({where})")
    return frame


def _normalise(raw: pd.DataFrame, *, daily: bool, timezone: str = EXCHANGE_TZ) -> pd.DataFrame:
    if raw.empty:
        return pd.DataFrame(columns=["open", "high", "low", "close", "volume"], dtype="float64")
    if isinstance(raw.columns, pd.MultiIndex):
        raw = raw.droplevel(-1, axis=1)
    renamed = {
        c: _COLUMNS[str(c).strip().lower()]
        for c in raw.columns
        if str(c).strip().lower() in _COLUMNS
    }
    frame = raw.loc[:, list(renamed)].rename(columns=renamed).astype("float64")
    index = pd.DatetimeIndex(raw.index)
    if daily:
        index = index.tz_localize(None) if index.tz is not None else index
        index = index.normalize()
    elif index.tz is not None:
        index = index.tz_convert(timezone).tz_localize(None)
    frame.index = pd.DatetimeIndex(index.as_unit("ns"), name="datetime")
    prices = [c for c in ("open", "high", "low", "close") if c in frame.columns]
    return frame[~frame[prices].isna().all(axis=1)]


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        frame.to_parquet(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def recent_yahoo_bars(
    symbol: str,
    timeframe: Timeframe,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    timezone: str = EXCHANGE_TZ,
) -> list[Any]:
    """The last few days of `timeframe` bars of `symbol`, fresh from Yahoo (never cached): the
    source of the polling live feed. Labels follow parity's convention (naive time in
    `timezone`, the symbol's exchange's; bar start). Raises `DataError` when Yahoo cannot be
    reached."""
    from parity.feeds.resample import resample
    from parity.venues.types import StreamBar

    interval, native = yahoo_interval(timeframe)
    start = date.today() - timedelta(days=5)
    frame = _normalise(
        _download(symbol.upper(), interval, start, None, timeout, Path(".")),
        daily=interval == "1d",
        timezone=timezone,
    )
    if frame.empty:
        return []
    frame = resample(frame[["open", "high", "low", "close", "volume"]], native, timeframe)
    received = time.time()
    return [
        StreamBar(
            symbol.upper(),
            stamp.to_pydatetime(),
            row.open,
            row.high,
            row.low,
            row.close,
            row.volume,
            received_at=received,
            source="poll",
        )
        for stamp, row in zip(frame.index, frame.itertuples(), strict=True)
    ]
