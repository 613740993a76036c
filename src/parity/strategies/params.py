"""Typed strategy parameters: declared once as a frozen dataclass, validated at the boundary.

A parity strategy declares `Params = SomeDataclass` and `params = bt_params(SomeDataclass)`, so
Backtrader sees ordinary params while `coerce_params` turns `--param k=v` strings into typed,
validated values *before* a run starts. Plain Backtrader strategies (user code without a
dataclass) are coerced by the type of each param's default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

import backtrader as bt

from parity.errors import ConfigError

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


def bt_params(spec: type) -> tuple[tuple[str, Any], ...]:
    """Backtrader `params` tuple from a params dataclass (names and defaults)."""
    return tuple((f.name, f.default) for f in dataclasses.fields(spec))


def _convert(name: str, raw: Any, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in {"none", "null", ""}):
            return None
        return _convert(name, raw, options[0]) if options else raw
    if origin is typing.Literal:
        allowed = typing.get_args(kind)
        value = raw.strip() if isinstance(raw, str) else raw
        if value not in allowed:
            choices = ", ".join(str(a) for a in allowed)
            raise ConfigError(f"param {name}={raw!r} is not one of: {choices}")
        return value
    if not isinstance(raw, str):
        if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        if kind in (int, float, bool, str) and not isinstance(raw, kind):
            raise ConfigError(f"param {name}={raw!r} must be {kind.__name__}")
        return raw
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(
            f"param {name}={raw!r} is not a valid {kind.__name__}; e.g. --param {name}="
            f"{ {'int': '10', 'float': '0.5', 'bool': 'true'}[kind.__name__] }"
        ) from None
    return text


def param_types(strategy: type[bt.Strategy]) -> dict[str, Any]:
    """Name → type of every parameter the strategy accepts."""
    spec = getattr(strategy, "Params", None)
    out: dict[str, Any] = {}
    if spec is not None and dataclasses.is_dataclass(spec):
        hints = typing.get_type_hints(spec)
        out = {f.name: hints[f.name] for f in dataclasses.fields(spec)}
    for name, default in strategy.params._getitems():  # a subclass may add plain params
        if name not in out:
            out[name] = type(default) if default is not None else str
    return out


def coerce_params(
    strategy: type[bt.Strategy], raw: Mapping[str, Any], *, complete: bool = True
) -> dict[str, Any]:
    """Validate and type `raw` for `strategy`; unknown names are an error listing the valid ones.
    `complete=False`: `raw` is only part of the params (an optimisation adds the searched ones
    per trial), so the strategy's own check of the whole set is left to each trial."""
    types_ = param_types(strategy)
    unknown = sorted(set(raw) - set(types_))
    if unknown:
        valid = ", ".join(sorted(types_)) or "(none)"
        raise ConfigError(
            f"unknown param {', '.join(unknown)} for strategy {strategy.__name__}; valid: {valid}"
        )
    values = {name: _convert(name, value, types_[name]) for name, value in raw.items()}
    spec = getattr(strategy, "Params", None)
    if complete and isinstance(spec, type) and dataclasses.is_dataclass(spec):
        try:
            names = {f.name for f in dataclasses.fields(spec)}
            spec(**{k: v for k, v in values.items() if k in names})  # its own validation
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"strategy {strategy.__name__}: {exc}") from None
    return values


def resolved_params(strategy: type[bt.Strategy], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter the strategy will run with: its defaults overridden by `given`."""
    defaults = dict(strategy.params._getitems())
    return {**{k: v for k, v in defaults.items() if k in param_types(strategy)}, **given}


def parse_param_pairs(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`('fast=10', 'slow=30')` → `{'fast': '10', 'slow': '30'}`."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param {pair!r} must look like name=value, e.g. --param fast=10")
        out[name.strip()] = value.strip()
    return out
