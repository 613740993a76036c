"""The sample bars bundled with parity (package data under `parity/data`)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from parity.errors import DataError

SAMPLE_SYMBOLS_DAILY = ("AAPL", "IBM", "MSFT", "GOOG")
SAMPLE_SYMBOLS_MINUTE = ("IBM", "BAC", "AIG", "AAPL")
DEFAULT_SAMPLE_SYMBOL = "IBM"
SAMPLE_KINDS = ("daily", "minute")


def sample_symbols(kind: str = "daily") -> tuple[str, ...]:
    """The symbols bundled for `kind` (`daily` or `minute`)."""
    if kind == "daily":
        return SAMPLE_SYMBOLS_DAILY
    if kind == "minute":
        return SAMPLE_SYMBOLS_MINUTE
    raise DataError(f"sample kind {kind!r} does not exist; use one of {', '.join(SAMPLE_KINDS)}")


def sample_dir(kind: str = "daily") -> Path:
    """The directory of the bundled `kind` sample files."""
    sample_symbols(kind)
    return Path(str(files("parity") / "data" / kind))


def sample_path(symbol: str, kind: str = "daily") -> Path:
    """The bundled CSV for `symbol`; `DataError` naming the available symbols if there is none."""
    symbol = symbol.strip().upper()
    available = sample_symbols(kind)
    directory = sample_dir(kind)
    path = directory / f"{symbol}.csv"
    if symbol not in available or not path.is_file():
        raise DataError(
            f"symbol {symbol} is not in the {kind} sample (looked in {directory}); "
            f"available: {', '.join(available)}"
        )
    return path
