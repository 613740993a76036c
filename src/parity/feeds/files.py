"""Read one bar file (CSV or parquet) into the raw, unvalidated bar frame.

`read_bar_file` recognises the common column spellings and date formats, converts tz-aware
timestamps to naive wall-clock times in the exchange's zone (America/New_York unless the
instrument's calendar says otherwise: an IST-stamped NSE file keeps its 09:15), and optionally
applies the adjusted close. It keeps the rows exactly as they are in the file (no sorting, no
dropping, no de-duplication) so that `parity.feeds.validate.validate_frame` can name the
offending line of every problem.

The returned frame:

* index: `DatetimeIndex` named `datetime` (naive exchange-local); `NaT` where a date could not be
  parsed. If the file has no date column at all the index is a plain `RangeIndex`.
* columns: whichever of `open, high, low, close, volume` were found (float64, `NaN` where a cell
  is empty or not a number), plus `line` (int64): the 1-based line of the row in the file (the
  header is line 1). For parquet files `line` is the 1-based row number.
* `frame.attrs["source_columns"]`: the column names as spelled in the file.
* `frame.attrs["bad_cells"]`: `{(line, column): raw text}` for the first dates and numbers (up to
  100 per column) that could not be parsed or are not finite (`1e400`), so error messages can
  quote the offending value.
* `frame.attrs["line_kind"]`: `"line"` (text files) or `"row"` (parquet).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from parity.errors import DataError

EXCHANGE_TZ = "America/New_York"
PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = (*PRICE_COLUMNS, "volume")
SUFFIXES = (".csv", ".csv.gz", ".txt", ".parquet", ".pq")
ADJUSTMENT_COLUMNS = ("adj_close", "split_coefficient")

_ROLES: dict[str, tuple[str, ...]] = {
    "datetime": ("datetime", "timestamp", "datetimeutc", "timestamputc", "dt", "t"),
    "date": ("date", "day", "tradedate", "tradingday"),
    "time": ("time", "bartime"),
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice", "last"),
    "adj_close": ("adjclose", "adjustedclose", "adjcls", "adjustedcloseprice"),
    "split_coefficient": ("splitcoefficient", "splitfactor", "splitratio", "stocksplits", "splits"),
    "volume": ("volume", "vol", "v"),
}
_STRING_FORMATS = (
    "%Y%m%d",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "ISO8601",
)
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_MAX_BAD_CELLS = 100  # per column: enough to quote the first offending value
MISSING_TEXT = {"", "nan", "na", "n/a", "null", "none", "nat"}


def data_suffix(path: Path) -> str | None:
    """The supported suffix of `path` (`.csv`, `.csv.gz`, `.txt`, `.parquet`, `.pq`) or None."""
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def file_symbol(path: Path) -> str:
    """The symbol a file name stands for: the name without its data suffix, upper-cased."""
    suffix = data_suffix(path) or path.suffix
    return path.name[: len(path.name) - len(suffix)].upper()


def read_bar_file(
    path: Path,
    *,
    adjusted: bool = False,
    keep_adjustment: bool = False,
    timezone: str = EXCHANGE_TZ,
) -> pd.DataFrame:
    """Read a CSV (`.csv`, `.csv.gz`, `.txt`) or parquet (`.parquet`, `.pq`) bar file.

    Rows keep the file's order; see the module docstring for the returned frame's shape. With
    `adjusted=True` open/high/low/close are multiplied by `adj_close / close` and volume divided by
    the same factor; a file without an adjusted close column raises `DataError`. With
    `keep_adjustment=True` the `adj_close` and `split_coefficient` columns found are kept (for
    `parity.feeds.adjust`, after validation); otherwise they are dropped. Zone-aware stamps
    become naive times in `timezone` (the exchange's, from its calendar).
    """
    path = Path(path)
    suffix = data_suffix(path)
    if suffix is None:
        raise DataError(f"{path}: unsupported file type; use .csv, .csv.gz, .txt, .parquet or .pq")
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path")
    if suffix in (".parquet", ".pq"):
        raw, line_kind = _read_parquet(path), "row"
        lines = np.arange(1, len(raw) + 1, dtype="int64")
    else:
        raw, line_kind = _read_text(path, sep=None if suffix == ".txt" else ","), "line"
        lines = raw.index.to_numpy(dtype="int64") + 2
    frame = _normalise(raw, lines, origin=str(path), line_kind=line_kind, timezone=timezone)
    frame.attrs["line_kind"] = line_kind
    if adjusted:
        frame = apply_adjustment(frame, origin=str(path))
    if not keep_adjustment:
        frame = frame.drop(columns=list(ADJUSTMENT_COLUMNS), errors="ignore")
    return frame


def frame_rows(frame: pd.DataFrame, *, origin: str) -> pd.DataFrame:
    """Bars handed over in memory (a `datetime` column, or a datetime index, and the bar
    columns) shaped exactly as `read_bar_file` shapes a file's rows."""
    raw = frame.reset_index() if isinstance(frame.index, pd.DatetimeIndex) else frame
    raw = raw.reset_index(drop=True)
    lines = np.arange(1, len(raw) + 1, dtype="int64")
    out = _normalise(raw, lines, origin=origin, line_kind="row")
    out.attrs["line_kind"] = "row"
    return out


def apply_adjustment(frame: pd.DataFrame, *, origin: str) -> pd.DataFrame:
    """Scale prices by `adj_close / close` and volume by its inverse; drops `adj_close`.

    Raises `DataError` if there is no `adj_close` column or a row's adjusted close is not a
    positive number.
    """
    if "adj_close" not in frame.columns:
        found = ", ".join(map(str, frame.attrs.get("source_columns", frame.columns)))
        raise DataError(
            f"{origin}: adjusted prices requested but there is no adjusted close column "
            f"(found: {found}); add an 'adj_close' column or drop --adjusted"
        )
    if "close" not in frame.columns:
        return frame.drop(columns=["adj_close"])
    adj = frame["adj_close"]
    bad = ~(adj > 0)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        line = _line_of(frame, pos)
        raw = frame.attrs.get("bad_cells", {}).get((line, "adj_close"), adj.iloc[pos])
        kind = frame.attrs.get("line_kind", "line")
        raise DataError(
            f"{origin} {kind} {line}: adj_close {raw!s} is not a positive number; "
            "fix the row or drop --adjusted"
        )
    factor = adj / frame["close"]
    out = frame.drop(columns=["adj_close"])
    for column in PRICE_COLUMNS:
        if column in out.columns:
            out[column] = out[column] * factor
    if "volume" in out.columns:
        out["volume"] = out["volume"] / factor
    return out


def _line_of(frame: pd.DataFrame, pos: int) -> int:
    if "line" in frame.columns:
        return int(frame["line"].iloc[pos])
    return pos + 2


def _read_text(path: Path, *, sep: str | None) -> pd.DataFrame:
    try:
        raw = pd.read_csv(
            path,
            sep=sep,
            engine="python" if sep is None else "c",
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as CSV ({detail}); fix the file") from exc
    raw = raw.reset_index(drop=True)
    blank = raw.apply(lambda col: col.fillna("").str.strip().eq("")).all(axis=1)
    return raw[~blank]


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many different types for a corrupt file
        raise DataError(f"{path}: cannot be read as parquet ({exc}); fix the file") from exc
    if not isinstance(raw.index, pd.RangeIndex):
        raw = raw.reset_index()
    _release_arrow_memory()
    return raw.reset_index(drop=True)


def _release_arrow_memory() -> None:
    """Arrow's allocator keeps freed buffers for reuse; a backtest never reads parquet again, so
    hand them back (about 150 MB for a million bars)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _canonical(name: object) -> str:
    return re.sub(r"[\s_\-.]", "", str(name)).lower()


def _find_roles(columns: list[str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for column in columns:
        key = _canonical(column)
        for role, spellings in _ROLES.items():
            if key in spellings and role not in roles:
                roles[role] = column
    return roles


def _normalise(
    raw: pd.DataFrame,
    lines: np.ndarray,
    *,
    origin: str,
    line_kind: str = "line",
    timezone: str = EXCHANGE_TZ,
) -> pd.DataFrame:
    source_columns = [str(c) for c in raw.columns]
    roles = _find_roles(source_columns)
    bad_cells: dict[tuple[int, str], str] = {}
    data: dict[str, pd.Series] = {}
    for role in (*BAR_COLUMNS, *ADJUSTMENT_COLUMNS):
        if role in roles:
            values, bad = _to_float(raw[roles[role]])
            data[role] = pd.Series(values, dtype="float64")
            bad_cells.update({(int(lines[i]), role): text for i, text in bad[:_MAX_BAD_CELLS]})
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(raw)))
    frame["line"] = lines
    stamps = _timestamps(raw, roles, lines, f"{origin} {line_kind}", timezone)
    if stamps is not None:
        parsed, column = stamps
        for i in np.flatnonzero(pd.isna(parsed))[:_MAX_BAD_CELLS]:
            cell = column.iloc[i]
            bad_cells[(int(lines[i]), "datetime")] = "" if pd.isna(cell) else str(cell)
        frame.index = pd.DatetimeIndex(parsed, name="datetime")
    frame.attrs["source_columns"] = source_columns
    frame.attrs["bad_cells"] = bad_cells
    return frame


def _to_float(column: pd.Series) -> tuple[np.ndarray, list[tuple[int, str]]]:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        bad_numbers = np.flatnonzero(~np.isfinite(values))
        return values, [
            (int(i), "" if np.isnan(values[i]) else f"{values[i]:g}") for i in bad_numbers
        ]
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    values = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    values = values.to_numpy(dtype="float64", na_value=np.nan)
    # NaN (not a number) and ±inf (e.g. 1e400): the text is kept to quote it in the error
    bad = [(int(i), str(text.iloc[i])) for i in np.flatnonzero(~np.isfinite(values))]
    return values, bad


def _timestamps(
    raw: pd.DataFrame, roles: dict[str, str], lines: np.ndarray, where: str, timezone: str
) -> tuple[pd.DatetimeIndex, pd.Series] | None:
    """The parsed stamps and the source column (read again only for the cells that failed).

    A column mixing stamps with and without a zone is a `DataError` naming the first row of each
    kind: reading the naive ones as UTC would shift them by hours."""
    if "datetime" in roles:
        column = raw[roles["datetime"]]
    elif "date" in roles and "time" in roles:
        date = raw[roles["date"]].astype(str).str.strip()
        column = date + " " + raw[roles["time"]].astype(str).str.strip()
    elif "date" in roles:
        column = raw[roles["date"]]
    elif "time" in roles:
        column = raw[roles["time"]]
    else:
        return None
    _check_zones(column, lines, where)
    return parse_datetimes(column, timezone), column


def _check_zones(column: pd.Series, lines: np.ndarray, where: str) -> None:
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        return
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    present = ~text.str.lower().isin(MISSING_TEXT)
    aware = present & text.str.contains(_TZ_SUFFIX)
    naive = present & ~aware
    if aware.any() and naive.any():
        i, j = int(np.flatnonzero(naive)[0]), int(np.flatnonzero(aware)[0])
        raise DataError(
            f"{where} {lines[i]}: datetime {text.iloc[i]!r} has no time zone but "
            f"{where.rsplit(' ', 1)[-1]} {lines[j]} has one ({text.iloc[j]!r}); "
            "give every stamp a zone (e.g. +00:00) or none"
        )


def parse_datetimes(column: pd.Series, timezone: str = EXCHANGE_TZ) -> pd.DatetimeIndex:
    """Parse a date/time column to a naive `DatetimeIndex` in `timezone` (NaT if unparseable).

    Accepts datetime64 (tz-aware is converted), epoch seconds or milliseconds, `YYYYMMDD` numbers
    and strings in ISO, `YYYYMMDD`, `MM/DD/YYYY` and `YYYY/MM/DD` forms with optional time.
    Epoch values that all fall on UTC midnight, and tz-aware stamps that all fall on midnight in
    their own zone, are taken as dates (daily bars keep the session date written).
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        aware = pd.DatetimeIndex(column)
        wall = aware.tz_localize(None).as_unit("ns")
        return wall if _all_midnight(wall) else _to_local(aware, timezone)
    if pd.api.types.is_datetime64_any_dtype(column):
        return pd.DatetimeIndex(column).as_unit("ns")
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return _parse_numeric(column.to_numpy(dtype="float64", na_value=np.nan), timezone)
    text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    if len(text) and text.str.fullmatch(r"\d{9,13}(\.\d*)?").all():
        return _parse_numeric(text.astype("float64").to_numpy(), timezone)
    return _parse_strings(text, timezone)


def _to_local(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    return index.tz_convert(timezone).tz_localize(None).as_unit("ns")


def _parse_numeric(values: np.ndarray, timezone: str) -> pd.DatetimeIndex:
    finite = values[np.isfinite(values)]
    if len(finite) and ((finite >= 19000101) & (finite <= 21001231)).all():
        text = pd.Series(values).map(lambda v: f"{int(v):08d}" if np.isfinite(v) else "")
        return pd.DatetimeIndex(pd.to_datetime(text, format="%Y%m%d", errors="coerce"))
    unit = "ms" if len(finite) and np.nanmedian(np.abs(finite)) > 1e11 else "s"
    stamps = pd.to_datetime(pd.Series(values), unit=unit, errors="coerce", utc=True)
    index = pd.DatetimeIndex(stamps)
    valid = index.dropna()
    if len(valid) and (valid == valid.normalize()).all():
        return index.tz_localize(None).as_unit("ns")
    return _to_local(index, timezone)


def _parse_strings(text: pd.Series, timezone: str) -> pd.DatetimeIndex:
    present = text[~text.str.lower().isin(MISSING_TEXT)]
    if present.empty:
        return pd.DatetimeIndex(pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]"))
    has_tz = present.str.contains(_TZ_SUFFIX).any()
    probe = present.iloc[:200]
    best_format, best_count = "ISO8601", -1
    for fmt in _STRING_FORMATS:
        count = int(_parse_with(probe, fmt, has_tz).notna().sum())
        if count > best_count:
            best_format, best_count = fmt, count
        if count == len(probe):
            break
    cleaned = text.where(~text.str.lower().isin(MISSING_TEXT), "")
    parsed = _parse_with(cleaned, best_format, has_tz)
    index = pd.DatetimeIndex(parsed)
    if index.tz is None:
        return index.as_unit("ns")
    # stamps at midnight in their own zone are dates (daily bars): the session date is the date
    # written, whatever the zone (2019-01-02T00:00:00+00:00 is not New York's 2019-01-01 19:00)
    wall = pd.DatetimeIndex(
        _parse_with(cleaned.str.replace(_TZ_SUFFIX, "", regex=True), best_format, False)
    ).as_unit("ns")
    if wall.isna().sum() == index.isna().sum() and _all_midnight(wall):
        return wall
    return _to_local(index, timezone)


def _all_midnight(index: pd.DatetimeIndex) -> bool:
    valid = index.dropna()
    return bool(len(valid)) and bool((valid == valid.normalize()).all())


def _parse_with(text: pd.Series, fmt: str, utc: bool) -> pd.Series:
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    except (ValueError, TypeError):
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
