"""What a trial is scored on: the objective (a metric name or `file.py:func`) and constraints
(`max_drawdown>-0.2`, `trades>=30`), parsed and checked before any trial runs."""

from __future__ import annotations

import importlib.util
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from parity.analyzers.metrics import METRIC_KEYS
from parity.errors import ConfigError

Direction = Literal["maximize", "minimize"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Objective:
    """A metric of `metrics.json` (`sharpe`), or `path/to/file.py:func` called with the trial's
    `RunResult` on the worker and returning a number."""

    text: str
    direction: Direction = "maximize"

    @property
    def metric(self) -> str | None:
        return None if self.is_callable else self.text

    @property
    def is_callable(self) -> bool:
        return ":" in self.text

    def check(self) -> None:
        """Fail now on an unknown metric or a callable that cannot be loaded."""
        if self.is_callable:
            self.load()
        elif self.text not in METRIC_KEYS:
            raise ConfigError(
                f"--objective {self.text!r} is not a metric; use one of {', '.join(METRIC_KEYS)} "
                "or path/to/file.py:func"
            )

    def load(self) -> Callable[[Any], Any]:
        path_text, _, name = self.text.rpartition(":")
        path = Path(path_text)
        where = f"--objective {self.text}"
        if not path.suffix == ".py" or not name.isidentifier():
            raise ConfigError(f"{where} must be a metric name or path/to/file.py:function")
        if not path.is_file():
            raise ConfigError(f"{where}: file {path} does not exist")
        spec = importlib.util.spec_from_file_location(f"parity_objective_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"{where}: cannot load {path} as Python")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's file can raise anything on import
            raise ConfigError(
                f"{where}: importing {path} raised {type(exc).__name__}: {exc}"
            ) from None
        func = getattr(module, name, None)
        if not callable(func):
            raise ConfigError(f"{where}: {path} has no function {name}")
        return func  # type: ignore[no-any-return]

    def score(self, result: Any, func: Callable[[Any], Any] | None = None) -> float | None:
        """The trial's objective value (None: the metric is undefined for this run, e.g. a Sharpe
        ratio without trades)."""
        raw = (func or self.load())(result) if self.is_callable else result.metrics.get(self.text)
        if raw is None:
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(
                f"--objective {self.text} returned {raw!r}; it must return a number"
            ) from None
        return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Constraint:
    """`METRIC OP NUMBER`: a trial that breaks it is kept in the table but never the best."""

    metric: str
    op: str
    bound: float

    @property
    def text(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"

    def holds(self, metrics: Mapping[str, Any]) -> bool:
        value = metrics.get(self.metric)
        if value is None:
            return False
        return _OPS[self.op](float(value), self.bound)


def parse_constraint(text: str) -> Constraint:
    found = _CONSTRAINT.match(text)
    if found is None:
        raise ConfigError(
            f"--constraint {text!r} must be METRIC OP NUMBER with OP one of "
            f"{' '.join(_OPS)}, e.g. --constraint 'max_drawdown>-0.2'"
        )
    metric, op, bound = found.groups()
    if metric not in METRIC_KEYS:
        raise ConfigError(
            f"--constraint {text!r}: {metric} is not a metric; use one of {', '.join(METRIC_KEYS)}"
        )
    try:
        number = float(bound)
    except ValueError:
        raise ConfigError(f"--constraint {text!r}: {bound!r} is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"--constraint {text!r}: {bound!r} must be a finite number")
    return Constraint(metric, op, number)


def parse_objective(text: str, direction: str = "maximize") -> Objective:
    text = text.strip()
    if not text:
        raise ConfigError("--objective is empty; use a metric such as sharpe, or file.py:func")
    if direction not in ("maximize", "minimize"):
        raise ConfigError(f"--direction {direction!r} must be maximize or minimize")
    objective = Objective(text, direction)  # type: ignore[arg-type]
    objective.check()
    return objective
