"""The one feature pipeline shared by training (`models/env.py`) and trading (`policy` strategy).

Both sides call `compute_features(spec, open, high, low, close, volume)` on the **last
`spec.history` bars** and nothing else: the environment slices a DataFrame, the strategy reads the
same bars from Backtrader lines. Every indicator is computed over exactly that slice, with
recursive averages (EMA, Wilder) seeded at its first bar, so a value depends only on those bars,
never on how much data came before (a live warm-up cannot change it). Arithmetic is plain Python
floats (`math.fsum` for sums): the result is bit-identical however the arrays were stored.

Definitions (`c` closes, `h` highs, `l` lows, `v` volumes of the slice; `c[-1]` the decision bar):

- `returns` (`window - 1` values, `ret_1` oldest): `(c[i] - c[i-1]) / c[i-1]` over the last `window`
  closes.
- `volume` (1): `log((v[-1] + 1) / (mean(v[-window:]) + 1))`.
- `rsi` (1): Wilder's RSI over `rsi_period`, scaled to [-1, 1] as `(RSI - 50) / 50`; 0 when the
  slice has no price change.
- `macd` (3): `EMA(c, macd_fast) - EMA(c, macd_slow)` (line), its `EMA(macd_signal)` (signal) and
  line - signal (histogram), each divided by `c[-1]`. EMA: `e = c[0]`, then
  `e += 2 / (n + 1) * (x - e)`.
- `bollinger` (2): position `(c[-1] - m) / (bb_k * s)` (0 when `s == 0`) and width
  `2 * bb_k * s / m`, with `m`, `s` the mean and population std of the last `bb_period` closes.
- `atr` (1): Wilder's average true range over `atr_period`, divided by `c[-1]`.
- `trend` (2): gap `c[-1] / SMA(trend_period) - 1` and slope: the least-squares slope of
  `log(c)` over the last `trend_period` bars times `trend_period` (the fitted log change).

The default spec (window 20, every group) gives 19 + 1 + 1 + 3 + 2 + 1 + 2 = 29 features.
`Normaliser` standardises them with means/stds fitted on the training data and stored with the
checkpoint, applied identically at inference.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parity.errors import ConfigError

GROUPS: tuple[str, ...] = ("returns", "volume", "rsi", "macd", "bollinger", "atr", "trend")
"""Feature groups in their canonical order (the order of the state vector)."""

_FIXED_NAMES: dict[str, tuple[str, ...]] = {
    "volume": ("volume",),
    "rsi": ("rsi",),
    "macd": ("macd", "macd_signal", "macd_hist"),
    "bollinger": ("bb_pos", "bb_width"),
    "atr": ("atr",),
    "trend": ("trend_gap", "trend_slope"),
}

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, kw_only=True)
class FeatureSpec:
    """Which features, over which window and periods. Serialises to/from JSON."""

    window: int = 20
    features: tuple[str, ...] = GROUPS
    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bb_period: int = 20
    bb_k: float = 2.0
    atr_period: int = 14
    trend_period: int = 50
    history: int = 64

    def __post_init__(self) -> None:
        unknown = [g for g in self.features if g not in GROUPS]
        if unknown or not self.features or len(set(self.features)) != len(self.features):
            raise ConfigError(
                f"features {','.join(self.features) or '(none)'} must be distinct names from: "
                f"{','.join(GROUPS)}"
            )
        ordered = tuple(g for g in GROUPS if g in self.features)
        object.__setattr__(self, "features", ordered)  # canonical order: one spec, one vector
        periods = ("window", "rsi_period", "macd_fast", "macd_slow", "macd_signal")
        for name in (*periods, "bb_period", "atr_period", "trend_period"):
            if getattr(self, name) < 2:
                raise ConfigError(f"feature {name}={getattr(self, name)} must be at least 2")
        if self.macd_fast >= self.macd_slow:
            raise ConfigError(f"macd_fast ({self.macd_fast}) must be below macd_slow")
        if not math.isfinite(self.bb_k) or self.bb_k <= 0:
            raise ConfigError(f"bb_k={self.bb_k} must be a positive number")
        if self.history < self.min_history:
            raise ConfigError(
                f"history={self.history} bars is too short for these features; use at least "
                f"{self.min_history}"
            )

    @property
    def min_history(self) -> int:
        """The fewest bars the enabled features need."""
        needs = [self.window]
        if "rsi" in self.features:
            needs.append(self.rsi_period + 1)
        if "macd" in self.features:
            needs.append(self.macd_slow + self.macd_signal)
        if "bollinger" in self.features:
            needs.append(self.bb_period)
        if "atr" in self.features:
            needs.append(self.atr_period + 1)
        if "trend" in self.features:
            needs.append(self.trend_period)
        return max(needs)

    @property
    def names(self) -> tuple[str, ...]:
        """One name per state-vector element, in order."""
        out: list[str] = []
        for group in self.features:
            if group == "returns":
                out.extend(f"ret_{i}" for i in range(1, self.window))
            else:
                out.extend(_FIXED_NAMES[group])
        return tuple(out)

    @property
    def size(self) -> int:
        """Length of the state vector."""
        return len(self.names)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (`features` as a list)."""
        data = dataclasses.asdict(self)
        data["features"] = list(self.features)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of `to_dict`; unknown keys or bad values raise `ConfigError`."""
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ConfigError(
                f"feature spec has unknown key {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
        values = dict(data)
        if "features" in values:
            features = values["features"]
            if isinstance(features, str):
                features = [f.strip() for f in features.split(",") if f.strip()]
            values["features"] = tuple(features)
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"feature spec is invalid: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"feature spec is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("feature spec JSON must be an object")
        return cls.from_dict(data)

    def differences(self, other: FeatureSpec) -> list[str]:
        """`name: mine != other` for every field that differs (empty when equal)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}: {mine[k]} != {theirs[k]}" for k in mine if mine[k] != theirs[k]]


def _ema(values: Sequence[float], period: int) -> list[float]:
    alpha = 2.0 / (period + 1.0)
    out = [values[0]]
    e = values[0]
    for x in values[1:]:
        e = e + alpha * (x - e)
        out.append(e)
    return out


def _wilder(values: Sequence[float], period: int) -> float:
    avg = math.fsum(values[:period]) / period
    for x in values[period:]:
        avg = (avg * (period - 1) + x) / period
    return avg


def _rsi(c: Sequence[float], period: int) -> float:
    diffs = [b - a for a, b in itertools.pairwise(c)]
    gain = _wilder([max(d, 0.0) for d in diffs], period)
    loss = _wilder([max(-d, 0.0) for d in diffs], period)
    if loss == 0.0:
        return 0.0 if gain == 0.0 else 1.0
    rsi = 100.0 - 100.0 / (1.0 + gain / loss)
    return (rsi - 50.0) / 50.0


def _atr(h: Sequence[float], low: Sequence[float], c: Sequence[float], period: int) -> float:
    ranges = [
        max(h[i] - low[i], abs(h[i] - c[i - 1]), abs(low[i] - c[i - 1])) for i in range(1, len(c))
    ]
    return _wilder(ranges, period) / c[-1]


def _bollinger(c: Sequence[float], period: int, k: float) -> tuple[float, float]:
    tail = c[-period:]
    mean = math.fsum(tail) / period
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in tail) / period)
    position = (c[-1] - mean) / (k * std) if std > 0.0 else 0.0
    return position, 2.0 * k * std / mean


def _trend(c: Sequence[float], period: int) -> tuple[float, float]:
    tail = c[-period:]
    gap = c[-1] / (math.fsum(tail) / period) - 1.0
    logs = [math.log(x) for x in tail]
    mean_log = math.fsum(logs) / period
    mean_x = (period - 1) / 2.0
    num = math.fsum((i - mean_x) * (y - mean_log) for i, y in enumerate(logs))
    den = math.fsum((i - mean_x) ** 2 for i in range(period))
    return gap, num / den * period


def _as_list(values: Any, length: int, name: str) -> list[float]:
    out = values.tolist() if hasattr(values, "tolist") else [float(x) for x in values]
    if len(out) != length:
        raise ValueError(f"{name} has {len(out)} bars; the feature spec needs exactly {length}")
    return out


def compute_features(
    spec: FeatureSpec,
    open_: Any,
    high: Any,
    low: Any,
    close: Any,
    volume: Any,
) -> FloatArray:
    """The state vector (float64, `spec.size` long) of the last bar of `spec.history` bars.

    Inputs are sequences of exactly `spec.history` floats each, oldest first (numpy arrays,
    `array.array` slices of Backtrader lines or lists). `open_` is accepted for a uniform
    signature and future features; no current feature reads it.
    """
    n = spec.history
    _as_list(open_, n, "open")
    h = _as_list(high, n, "high")
    low_ = _as_list(low, n, "low")
    c = _as_list(close, n, "close")
    v = _as_list(volume, n, "volume")
    out: list[float] = []
    for group in spec.features:
        if group == "returns":
            tail = c[-spec.window :]
            out.extend((b - a) / a for a, b in itertools.pairwise(tail))
        elif group == "volume":
            mean_volume = math.fsum(v[-spec.window :]) / spec.window
            out.append(math.log((v[-1] + 1.0) / (mean_volume + 1.0)))
        elif group == "rsi":
            out.append(_rsi(c, spec.rsi_period))
        elif group == "macd":
            line = [
                f - s for f, s in zip(_ema(c, spec.macd_fast), _ema(c, spec.macd_slow), strict=True)
            ]
            signal = _ema(line, spec.macd_signal)[-1]
            out.extend((line[-1] / c[-1], signal / c[-1], (line[-1] - signal) / c[-1]))
        elif group == "bollinger":
            out.extend(_bollinger(c, spec.bb_period, spec.bb_k))
        elif group == "atr":
            out.append(_atr(h, low_, c, spec.atr_period))
        else:  # trend
            out.extend(_trend(c, spec.trend_period))
    return np.array(out, dtype=np.float64)


def feature_matrix(spec: FeatureSpec, frame: pd.DataFrame) -> FloatArray:
    """Row `i` = `compute_features` of bars `[i, i + history)` of `frame` (open..volume columns),
    i.e. the state at bar `i + history - 1`. Shape `(len(frame) - history + 1, spec.size)`."""
    n = spec.history
    if len(frame) < n:
        raise ConfigError(
            f"{len(frame)} bars are too few for features that need {n}; use a longer window"
        )
    cols = {k: frame[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close")}
    cols["volume"] = frame["volume"].to_numpy(dtype=np.float64)
    rows = [
        compute_features(
            spec,
            cols["open"][i : i + n],
            cols["high"][i : i + n],
            cols["low"][i : i + n],
            cols["close"][i : i + n],
            cols["volume"][i : i + n],
        )
        for i in range(len(frame) - n + 1)
    ]
    return np.vstack(rows)


@dataclass(frozen=True)
class Normaliser:
    """Per-feature standardisation `clip((x - mean) / std, -clip, clip)` as float32."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    clip: float = 10.0

    @classmethod
    def fit(cls, features: FloatArray, clip: float = 10.0) -> Normaliser:
        """Means and population stds of `features` (rows = bars); a constant column gets std 1."""
        mean = features.mean(axis=0)
        std = features.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(tuple(float(x) for x in mean), tuple(float(x) for x in std), float(clip))

    def apply(self, features: FloatArray) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Standardised observation(s), float32, same shape as `features`."""
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        scaled = np.clip((features - mean) / std, -self.clip, self.clip)
        return scaled.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "std": list(self.std), "clip": self.clip}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Normaliser:
        """Inverse of `to_dict`; raises `ValueError` on a malformed mapping."""
        mean = [float(x) for x in data["mean"]]
        std = [float(x) for x in data["std"]]
        clip = float(data.get("clip", 10.0))
        if len(mean) != len(std) or not all(math.isfinite(x) for x in (*mean, *std, clip)):
            raise ValueError("normalisation mean/std must be finite lists of equal length")
        if any(s <= 0 for s in std) or clip <= 0:
            raise ValueError("normalisation std and clip must be positive")
        return cls(tuple(mean), tuple(std), clip)
