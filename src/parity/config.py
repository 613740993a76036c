"""The frozen, validated configuration of a backtest run: a YAML run file plus command-line flags.

Precedence: a flag given on the command line > the run file > the built-in default.
Secrets never live here; they come from the environment when a paper run needs them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from parity.costs import CostModel, cost_model
from parity.errors import ConfigError
from parity.feeds.adjust import ADJUSTMENTS, Adjustment
from parity.parsing import parse_bool
from parity.risk.limits import RiskLimits
from parity.timeframe import Timeframe, parse_timeframe

DEFAULT_CASH = 100_000.0
DEFAULT_COMMISSION = "0"  # Alpaca charges no commission on US equities
DEFAULT_SLIPPAGE = "5bps"  # a conservative half-spread for liquid large caps


@dataclass(frozen=True, kw_only=True)
class BacktestConfig:
    """Everything that determines a backtest's result (and nothing that does not)."""

    strategy: str = "sma_cross"
    params: Mapping[str, Any] = field(default_factory=dict)
    data: str = "sample"
    symbols: tuple[str, ...] = ()
    timeframe: Timeframe | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    cash: float = DEFAULT_CASH
    commission: str = DEFAULT_COMMISSION
    slippage: str = DEFAULT_SLIPPAGE
    fill_at: Literal["open", "close"] = "open"
    allow_short: bool = False
    # splits (default: a split is not a loss), all (splits and dividends: --adjusted), raw (--raw)
    adjustment: Adjustment = "splits"
    preload: bool = True
    runs_dir: Path = Path("runs")
    risk: RiskLimits | None = None
    calendar: str | None = None  # an exchange calendar name (--calendar); None: the symbols' own
    # intraday bars traded: regular (inside the calendar's session) or extended (every bar);
    # None: the strategy's `session` if it declares one, else extended
    session: str | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.cash) or self.cash <= 0:
            raise ConfigError(f"cash {self.cash} must be a positive amount, e.g. --cash 100000")
        if self.start and self.end and self.start > self.end:
            raise ConfigError(f"--from {self.start} is after --to {self.end}; swap them")
        if self.adjustment not in ADJUSTMENTS:
            raise ConfigError(
                f"adjustment {self.adjustment!r} must be one of {', '.join(ADJUSTMENTS)}"
            )
        if self.fill_at not in ("open", "close"):
            raise ConfigError(f"fill {self.fill_at!r} must be 'open' (next bar) or 'close'")
        if self.calendar is not None:
            from parity.instruments.calendars import calendar_named

            calendar_named(self.calendar)  # a bad name fails before any work
        if self.session not in (None, "regular", "extended"):
            raise ConfigError(f"session {self.session!r} must be regular or extended")
        self.costs  # noqa: B018 - parse now so a bad cost text fails before any work

    @property
    def costs(self) -> CostModel:
        return cost_model(self.commission, self.slippage)


def parse_date(text: Any, what: str) -> dt.date | None:
    """`2012-01-31` (or a date) → date; empty → None."""
    if text is None or text == "":
        return None
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise ConfigError(
            f"{what} {text!r} is not a date; use YYYY-MM-DD, e.g. 2012-01-31"
        ) from None


def parse_symbols(value: Any) -> tuple[str, ...]:
    """`'AAPL, msft'` or `['AAPL', 'MSFT']` → `('AAPL', 'MSFT')`; None → `()`.

    A value that is given but names no symbol (`''`, `',,'`, `[]`) is a `ConfigError`."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    symbols = tuple(str(s).strip().upper() for s in items if str(s).strip())
    if not symbols:  # given but empty: never fall back to a default symbol silently
        raise ConfigError(
            f"symbols {value!r} names no symbol; use e.g. --symbols AAPL,MSFT or leave it out"
        )
    for symbol in symbols:
        base, slash, quote = symbol.partition("/")  # a crypto pair: BTC/USD
        if slash and not (base.isalnum() and quote.isalnum()):
            raise ConfigError(f"symbol {symbol!r} is not a ticker; use e.g. --symbols AAPL,MSFT")
        if not all(c.isalnum() or c in ".-^=" for c in symbol.replace("/", "", 1)):
            raise ConfigError(f"symbol {symbol!r} is not a ticker; use e.g. --symbols AAPL,MSFT")
    return symbols


# run-file key -> (config field, converter)
_FILE_KEYS: dict[str, tuple[str, Any]] = {
    "strategy": ("strategy", str),
    "params": ("params", dict),
    "data": ("data", str),
    "symbols": ("symbols", parse_symbols),
    "timeframe": ("timeframe", lambda v: parse_timeframe(v) if v else None),
    "from": ("start", lambda v: parse_date(v, "from")),
    "start": ("start", lambda v: parse_date(v, "start")),
    "to": ("end", lambda v: parse_date(v, "to")),
    "end": ("end", lambda v: parse_date(v, "end")),
    "cash": ("cash", float),
    "commission": ("commission", str),
    "slippage": ("slippage", str),
    "fill": ("fill_at", str),
    "allow_short": ("allow_short", parse_bool),
    "adjusted": ("adjustment", lambda v: "all" if parse_bool(v) else "raw"),
    "adjustment": ("adjustment", lambda v: str(v).strip().lower()),
    "preload": ("preload", parse_bool),
    "runs_dir": ("runs_dir", Path),
    "risk": ("risk", lambda v: RiskLimits.from_mapping(v, source="run file")),
    "calendar": ("calendar", str),
    "session": ("session", lambda v: str(v).strip().lower()),
}


def read_run_file(path: Path) -> dict[str, Any]:
    """Read a YAML run file into config field values; unknown keys are an error."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"run file {path} does not exist; check --config") from None
    except OSError as exc:
        raise ConfigError(
            f"run file {path}: cannot read it ({exc.strerror}); check --config"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"run file {path} is not text (byte {exc.start} is not UTF-8); give a YAML file"
        ) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise ConfigError(f"run file {path}{where} is not valid YAML; fix the syntax") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"run file {path} must be a mapping of keys to values")
    unknown = sorted(set(raw) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(
            f"run file {path}: unknown key {', '.join(unknown)}; valid: {', '.join(_FILE_KEYS)}"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name, convert = _FILE_KEYS[key]
        try:
            values[name] = convert(value) if value is not None else None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"run file {path}: {key}={value!r} is invalid ({exc})") from None
    if values.get("params") is not None:
        values["params"] = {str(k): v for k, v in values["params"].items()}
    return {k: v for k, v in values.items() if v is not None}


def build_config(file_values: Mapping[str, Any], flag_values: Mapping[str, Any]) -> BacktestConfig:
    """Defaults, overridden by the run file, overridden by flags the user actually gave."""
    valid = {f.name for f in fields(BacktestConfig)}
    merged = {**file_values, **flag_values}
    params = {**dict(file_values.get("params", {})), **dict(flag_values.get("params", {}))}
    merged["params"] = params
    unknown = set(merged) - valid
    if unknown:  # a programming error in the CLI, not a user error
        raise TypeError(f"unknown config fields {sorted(unknown)}")
    return replace(BacktestConfig(), **merged)
