"""The frozen, validated configuration of a run: `RunConfig` (the fields every run has, declared and
checked once) and `BacktestConfig`; a backtest's comes from a YAML run file plus command-line flags.

Precedence: a flag given on the command line > the run file > the built-in default.
Secrets never live here; they come from the environment when a paper run needs them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import UnionType
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin, get_type_hints

import yaml

from parity.costs import CostModel, cost_model
from parity.defaults import DEFAULT_CASH, DEFAULT_COMMISSION, DEFAULT_SLIPPAGE
from parity.engine.ambiguity import check_rule
from parity.engine.fills import FillModel
from parity.errors import ConfigError
from parity.feeds.adjust import ADJUSTMENTS, Adjustment
from parity.parsing import parse_bool
from parity.risk.limits import RiskLimits
from parity.timeframe import Timeframe, parse_timeframe

__all__ = [
    "DEFAULT_CASH",
    "DEFAULT_COMMISSION",
    "DEFAULT_SLIPPAGE",
    "BacktestConfig",
    "RunConfig",
    "build_config",
    "parse_date",
    "parse_symbols",
    "read_run_file",
]


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """The fields every run has (a backtest and a paper run), declared and validated once.

    `BacktestConfig` and `PaperConfig` extend it (a subclass may narrow a default, e.g. paper's
    `cash=None`), so `config.symbols` reads the same in every run, whichever kind it is.

    `to_dict` / `from_dict` are generic over the dataclass fields: a subclass adds fields and
    checks, never a serializer. `from_dict` ignores keys it does not know and gives missing keys
    their default, so a configuration journaled by an older version still loads."""

    strategy: str = "sma_cross"
    params: Mapping[str, Any] = field(default_factory=dict)
    data: str = "sample"
    symbols: tuple[str, ...] = ()
    timeframe: Timeframe | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    cash: float | None = DEFAULT_CASH  # None (paper): the account's cash
    commission: str = DEFAULT_COMMISSION
    slippage: str = DEFAULT_SLIPPAGE
    runs_dir: Path = Path("runs")
    risk: RiskLimits | None = None
    calendar: str | None = None  # an exchange calendar name (--calendar); None: the symbols' own
    # intraday bars traded: regular (inside the calendar's session) or extended (every bar);
    # None: the strategy's `session` if it declares one, else regular
    session: str | None = None
    # a bar reaching both exits of one bracket: stop-first, target-first or finer-data (then
    # `finer` is a bar source finer than the run's, e.g. hourly bars under daily ones); None:
    # the exit placed first fills (Backtrader's time priority)
    ambiguous: str | None = None
    finer: str | None = None

    # fields `to_dict` leaves out (where the run is written, secrets, injected test objects)
    _NOT_RECORDED: ClassVar[frozenset[str]] = frozenset({"runs_dir"})

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, str) or not self.strategy.strip():
            raise ConfigError(f"strategy {self.strategy!r} must be a name, e.g. sma_cross")
        if not isinstance(self.params, Mapping):
            raise ConfigError(f"params {self.params!r} must be a mapping, e.g. -p fast=10")
        if not isinstance(self.symbols, tuple) or not all(
            isinstance(s, str) and s for s in self.symbols
        ):
            raise ConfigError(f"symbols {self.symbols!r} must be tickers, e.g. --symbols AAPL,MSFT")
        if self.timeframe is not None and not isinstance(self.timeframe, Timeframe):
            raise ConfigError(f"timeframe {self.timeframe!r} must be e.g. 1Day, 1Hour or 5Min")
        if self.cash is not None and (
            isinstance(self.cash, bool)
            or not isinstance(self.cash, int | float)
            or not math.isfinite(self.cash)
            or self.cash <= 0
        ):
            raise ConfigError(f"cash {self.cash} must be a positive amount, e.g. --cash 100000")
        if self.start and self.end and self.start > self.end:
            raise ConfigError(f"--from {self.start} is after --to {self.end}; swap them")
        self.costs  # noqa: B018 - parse now so a bad cost text fails before any work
        if self.calendar is not None:
            from parity.instruments.calendars import calendar_named

            calendar_named(self.calendar)  # a bad name fails before any work
        if self.session not in (None, "regular", "extended"):
            raise ConfigError(f"session {self.session!r} must be regular or extended")
        check_rule(self.ambiguous)
        if self.ambiguous == "finer-data" and not self.finer:
            raise ConfigError(
                "--ambiguous finer-data needs bars finer than the run's: give --finer SOURCE "
                "(e.g. a directory of hourly SYMBOL.csv files)"
            )

    @property
    def costs(self) -> CostModel:
        return cost_model(self.commission, self.slippage)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-ready values (what a manifest journals)."""
        return {
            f.name: _encode(getattr(self, f.name))
            for f in fields(self)
            if f.name not in self._NOT_RECORDED
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], **overrides: Any) -> Self:
        """Rebuild a configuration `to_dict` recorded (by this version or an older one)."""
        hints = get_type_hints(cls)
        known: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in values or f.name in cls._NOT_RECORDED:
                continue
            decode = f.metadata.get("decode") or _decoder(hints[f.name])
            value = values[f.name]
            known[f.name] = decode(value) if value is not None and decode else value
        return cls(**{**known, **overrides})


def _encode(value: Any) -> Any:
    if isinstance(value, Timeframe):
        return value.name
    if isinstance(value, dt.date):  # and datetime
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    describe = getattr(value, "describe", None)  # RiskLimits, AlertConfig: their record form
    return describe() if callable(describe) else value


def _decoder(hint: Any) -> Callable[[Any], Any] | None:
    """How a recorded value becomes the field's type (None: it is already JSON-shaped)."""
    args = [a for a in get_args(hint) if a is not type(None)]
    if isinstance(hint, UnionType) or get_origin(hint) is Union:
        hint = args[0] if len(args) == 1 else None
    origin = get_origin(hint) or hint
    decoders: dict[Any, Callable[[Any], Any]] = {
        Timeframe: parse_timeframe,
        dt.datetime: lambda v: v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v),
        dt.date: lambda v: parse_date(v, "date"),
        tuple: tuple,
        Path: Path,
        Mapping: dict,
        RiskLimits: lambda v: RiskLimits.from_mapping(v, source="the journal"),
    }
    return decoders.get(origin)


@dataclass(frozen=True, kw_only=True)
class BacktestConfig(RunConfig):
    """Everything that determines a backtest's result (and nothing that does not)."""

    cash: float = DEFAULT_CASH
    fill_at: Literal["open", "close"] = "open"
    allow_short: bool = False
    latency_ms: int = 0  # an order can fill on the first bar starting this long after it is sent
    volume_share: float = 1.0  # the most of a bar's volume one fill takes; the rest fills later
    # splits (default: a split is not a loss), all (splits and dividends: --adjusted), raw (--raw)
    adjustment: Adjustment = "splits"
    preload: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.adjustment not in ADJUSTMENTS:
            raise ConfigError(
                f"adjustment {self.adjustment!r} must be one of {', '.join(ADJUSTMENTS)}"
            )
        if self.fill_at not in ("open", "close"):
            raise ConfigError(f"fill {self.fill_at!r} must be 'open' (next bar) or 'close'")
        if not isinstance(self.allow_short, bool):
            raise ConfigError(f"allow_short {self.allow_short!r} must be true or false")
        self.fill_model  # noqa: B018 - a bad latency or volume share fails before any work
        if self.latency_ms and self.fill_at == "close":
            raise ConfigError(
                f"--latency {self.latency_ms} delays a fill past the decision bar's close; "
                "use it with --fill open"
            )
        if self.volume_share < 1 and self.fill_at == "close":
            raise ConfigError(
                f"--volume-share {self.volume_share} leaves a rest to fill on later bars, past "
                "the decision bar's close; use it with --fill open"
            )

    @property
    def fill_model(self) -> FillModel:
        """The fills of the run: its costs, latency and volume share."""
        return FillModel(
            costs=self.costs, volume_share=self.volume_share, latency_ms=self.latency_ms
        )


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
    "latency": ("latency_ms", int),
    "volume_share": ("volume_share", float),
    "adjusted": ("adjustment", lambda v: "all" if parse_bool(v) else "raw"),
    "adjustment": ("adjustment", lambda v: str(v).strip().lower()),
    "preload": ("preload", parse_bool),
    "runs_dir": ("runs_dir", Path),
    "risk": ("risk", lambda v: RiskLimits.from_mapping(v, source="run file")),
    "calendar": ("calendar", str),
    "session": ("session", lambda v: str(v).strip().lower()),
    "ambiguous": ("ambiguous", lambda v: str(v).strip().lower()),
    "finer": ("finer", str),
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
