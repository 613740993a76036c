"""The search space: `--space fast=5:50:5 --space sizing=fixed,percent` or a YAML file.

A dimension is an integer or float range (`LOW:HIGH:STEP`; a float range without a step is
continuous) or a list of choices. It becomes an Optuna distribution for `random`/`tpe` and a list
of values for `grid`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from parity.errors import ConfigError

Value = int | float | str | bool

_EXAMPLE = "e.g. --space fast=5:50:5 or --space sizing=fixed,percent"


@dataclass(frozen=True)
class Dimension:
    """One parameter's values: a range (`low`, `high`, `step`; `step` None: continuous floats)
    or `choices`."""

    name: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    integer: bool = False
    choices: tuple[Value, ...] = ()

    @property
    def distribution(self) -> BaseDistribution:
        if self.choices:
            return CategoricalDistribution(self.choices)
        assert self.low is not None and self.high is not None
        if self.integer:
            return IntDistribution(int(self.low), int(self.high), step=int(self.step or 1))
        return FloatDistribution(self.low, self.high, step=self.step)

    def grid(self) -> tuple[Value, ...]:
        """Every value a grid search tries."""
        if self.choices:
            return self.choices
        if self.step is None:
            raise ConfigError(
                f"space {self.name}: a continuous range has no grid; give a step "
                f"({self.name}={self.low}:{self.high}:STEP) or use --search random/tpe"
            )
        assert self.low is not None and self.high is not None
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        if self.integer:
            return tuple(int(self.low) + i * int(self.step) for i in range(count))
        digits = max(_decimals(self.low), _decimals(self.step))
        return tuple(round(self.low + i * self.step, digits) for i in range(count))

    def draw(self, rng: np.random.Generator) -> Value:
        """A uniformly random value (a random grid value when the range has a step)."""
        if self.choices or self.step is not None:
            values = self.grid()
            return values[int(rng.integers(len(values)))]
        assert self.low is not None and self.high is not None
        return float(rng.uniform(self.low, self.high))

    def describe(self) -> str:
        if self.choices:
            return ",".join(str(c) for c in self.choices)
        step = "" if self.step is None else f":{_text(self.step)}"
        return f"{_text(self.low)}:{_text(self.high)}{step}"


@dataclass(frozen=True)
class Space:
    """The dimensions searched, in the order given."""

    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return {d.name: d.distribution for d in self.dimensions}

    def grid(self) -> Iterator[dict[str, Value]]:
        """Every point of the grid, first dimension slowest."""
        for values in itertools.product(*(d.grid() for d in self.dimensions)):
            yield dict(zip(self.names, values, strict=True))

    def draw(self, rng: np.random.Generator) -> dict[str, Value]:
        return {d.name: d.draw(rng) for d in self.dimensions}

    def grid_size(self) -> int:
        return math.prod(len(d.grid()) for d in self.dimensions)

    def describe(self) -> dict[str, str]:
        return {d.name: d.describe() for d in self.dimensions}

    def key(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """A hashable identity of a point (to find trials already run)."""
        return tuple(_normal(params.get(name)) for name in self.names)


def parse_space(items: Sequence[str], file: Path | None = None) -> Space:
    """`--space NAME=SPEC` items and/or a YAML file of `NAME: SPEC` → `Space`; a bad item is a
    `ConfigError` naming it."""
    specs: dict[str, Any] = {}
    if file is not None:
        specs.update(_read_file(file))
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise ConfigError(
                f"--space {item!r} must be NAME=LOW:HIGH[:STEP] or NAME=A,B; {_EXAMPLE}"
            )
        specs[name.strip()] = spec.strip()
    if not specs:
        raise ConfigError(f"no search space: give --space or --space-file; {_EXAMPLE}")
    return Space(tuple(dimension(name, spec) for name, spec in specs.items()))


def dimension(name: str, spec: Any) -> Dimension:
    """One dimension from a text (`5:50:5`, `fixed,percent`), a YAML list of choices or a YAML
    mapping `{low, high, step}`."""
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - {"low", "high", "step"})
        if unknown or not {"low", "high"} <= set(spec):
            raise ConfigError(
                f"space {name}: a range is {{low, high, step}}, got keys "
                f"{', '.join(map(str, spec))}"
            )
        return _range(name, [str(spec["low"]), str(spec["high"])] + (
            [str(spec["step"])] if spec.get("step") is not None else []
        ))  # fmt: skip
    if isinstance(spec, list | tuple):
        return _choices(name, [str(v) for v in spec])
    text = str(spec).strip()
    if ":" in text:
        return _range(name, text.split(":"))
    return _choices(name, text.split(","))


def _range(name: str, parts: list[str]) -> Dimension:
    where = f"space {name}={':'.join(parts)}"
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise ConfigError(f"{where} must be LOW:HIGH or LOW:HIGH:STEP, e.g. {name}=5:50:5")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(
            f"{where}: LOW, HIGH and STEP must be numbers, e.g. {name}=5:50:5"
        ) from None
    if not all(math.isfinite(n) for n in numbers):
        raise ConfigError(f"{where}: LOW, HIGH and STEP must be finite numbers")
    low, high = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else None
    if high < low:
        raise ConfigError(f"{where}: HIGH {parts[1]} is below LOW {parts[0]}; swap them")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}: STEP must be positive, e.g. {name}={parts[0]}:{parts[1]}:1")
    integer = all(_is_int(p) for p in parts)
    return Dimension(name, low, high, step, integer=integer)


def _choices(name: str, parts: list[str]) -> Dimension:
    values = [p.strip() for p in parts]
    if not values or not all(values):
        raise ConfigError(f"space {name}: choices must be non-empty, e.g. {name}=fixed,percent")
    typed = tuple(_typed(v) for v in values)
    if len(set(typed)) != len(typed):
        raise ConfigError(
            f"space {name}: choice {','.join(values)} repeats a value; list each once"
        )
    return Dimension(name, choices=typed)


def _read_file(file: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(Path(file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"space file {file} does not exist; check --space-file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise ConfigError(f"space file {file} is not a readable YAML file; fix it") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"space file {file} must map parameter names to ranges, e.g. fast: 5:50:5"
        )
    return {str(k): v for k, v in raw.items()}


def _typed(text: str) -> Value:
    for convert in (int, float):
        try:
            return convert(text)  # type: ignore[no-any-return]
        except ValueError:
            pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def _is_int(text: str) -> bool:
    try:
        int(text.strip())
    except ValueError:
        return False
    return True


def _decimals(number: float | None) -> int:
    text = repr(float(number or 0.0))
    return len(text.partition(".")[2].rstrip("0")) if "e" not in text else 12


def _text(number: float | None) -> str:
    return (
        "" if number is None else (str(int(number)) if float(number).is_integer() else str(number))
    )


def _normal(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
