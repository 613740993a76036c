"""`RiskLimits`: the frozen, validated risk limits of a run (all optional).

Read from a run file's `risk:` mapping or from the `run backtest` / `run paper` flags (the same
option names, dashes for underscores); flags win over the file, key by key. `describe()` gives
the mapping back in the same form (it is what the manifest records and what `from_mapping`
reads).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from parity.errors import ConfigError
from parity.risk.parse import OPTIONS
from parity.timeframe import Timeframe


def _num(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else str(value)


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


@dataclass(frozen=True, kw_only=True)
class RiskLimits:
    """Limits applied between the strategy and the broker, identically in every mode.

    Fractions are fractions (0.15 = 15 %); times are the bars' naive New York time of day."""

    max_position_shares: float | None = None
    max_position_notional: float | None = None
    max_gross_exposure: float | None = None  # gross notional / equity
    max_gross_notional: float | None = None
    max_open_positions: int | None = None
    max_orders_per_day: int | None = None
    daily_loss_pct: float | None = None  # of the day's starting equity
    daily_loss_amount: float | None = None
    max_drawdown: float | None = None  # from peak equity: trips the kill switch
    trading_start: dt.time | None = None
    trading_end: dt.time | None = None
    flatten_on_kill: bool = False

    @property
    def active(self) -> bool:
        """True when any limit is set."""
        return any(
            getattr(self, f.name) is not None
            for f in dataclasses.fields(self)
            if f.name != "flatten_on_kill"
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "flag") -> RiskLimits:
        """Limits from `{option: value}`; `source="flag"` names errors `--option`, otherwise
        `SOURCE: risk.option`. None values are skipped."""
        return cls().merged(values, source=source)

    def merged(self, values: Mapping[str, Any], *, source: str = "flag") -> RiskLimits:
        """These limits with the options in `values` replaced (flags over a run file)."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: risk must be a mapping of limit names to values")
        updates: dict[str, Any] = {}
        for key, value in values.items():
            option = str(key).replace("-", "_")
            if option not in OPTIONS:
                raise ConfigError(
                    f"{source}: unknown risk limit {key!r}; valid: {', '.join(OPTIONS)}"
                )
            if value is None:
                continue
            parser, example = OPTIONS[option]
            try:
                updates.update(parser(value))
            except (TypeError, ValueError) as exc:
                name = f"--{option.replace('_', '-')}"
                where = name if source == "flag" else f"{source}: risk.{option}"
                hint = f"{name} {example}" if source == "flag" else f"{option}: {example}"
                raise ConfigError(f"{where} {value!r} is invalid: use {exc}, e.g. {hint}") from None
        return dataclasses.replace(self, **updates)

    def within_hours(self, when: dt.datetime) -> bool:
        """True when `when` (a bar's label) falls in the trading-hours window (inclusive)."""
        if self.trading_start is None or self.trading_end is None:
            return True
        return self.trading_start <= when.time() <= self.trading_end

    def check_bars(self, timeframe: Timeframe) -> None:
        """A trading-hours window needs bars with a time of day: on daily bars it is a
        `ConfigError` (every daily bar would fall outside it and nothing would ever trade)."""
        if timeframe.is_daily and self.hours_text():
            raise ConfigError(
                f"--trading-hours {self.hours_text()} needs intraday bars but these are "
                f"{timeframe.name} bars (no time of day); drop it or use intraday data, "
                "e.g. --data sample:minute --timeframe 5Min"
            )

    def hours_text(self) -> str:
        if self.trading_start is None or self.trading_end is None:
            return ""
        return f"{self.trading_start:%H:%M}-{self.trading_end:%H:%M}"

    def describe(self) -> dict[str, Any]:
        """The set limits as `{option: value}` in the run-file form (JSON-friendly)."""
        out: dict[str, Any] = {}
        for key in ("max_position_shares", "max_position_notional"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        exposure = [
            _pct(self.max_gross_exposure) if self.max_gross_exposure is not None else "",
            _num(self.max_gross_notional) if self.max_gross_notional is not None else "",
        ]
        if any(exposure):
            out["max_gross_exposure"] = ",".join(p for p in exposure if p)
        for key in ("max_open_positions", "max_orders_per_day"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        loss = [
            _pct(self.daily_loss_pct) if self.daily_loss_pct is not None else "",
            _num(self.daily_loss_amount) if self.daily_loss_amount is not None else "",
        ]
        if any(loss):
            out["daily_loss_limit"] = ",".join(p for p in loss if p)
        if self.max_drawdown is not None:
            out["max_drawdown"] = _pct(self.max_drawdown)
        if self.hours_text():
            out["trading_hours"] = self.hours_text()
        out["flatten_on_kill"] = self.flatten_on_kill
        return out
