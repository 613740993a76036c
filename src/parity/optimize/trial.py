"""One trial on a worker: `simulate` in memory with the proposed params, and only what the study
needs comes back (params, objective, metrics, the daily returns the overfitting statistics use)."""

from __future__ import annotations

import functools
import gc
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from parity.costs import CostModel
from parity.engine.ambiguity import FinerBars, Rule
from parity.engine.simulate import Bars, simulate
from parity.errors import ParityError
from parity.optimize.objective import Objective
from parity.options.setup import OptionsSetup
from parity.risk.limits import RiskLimits


@dataclass(frozen=True, kw_only=True)
class TrialSettings:
    """Everything a trial runs with besides its params: the same settings as `run backtest`
    (the options desk's assumptions, and the rule for a bar reaching both exits of a bracket
    with the finer bars it reads, included). Shipped to each worker once, as the bars are."""

    strategy: str
    objective: Objective
    costs: CostModel
    cash: float
    fill_at: Literal["open", "close"] = "open"
    allow_short: bool = False
    preload: bool = True
    risk: RiskLimits | None = None
    volume_share: float = 1.0
    latency_ms: int = 0
    fixed: Mapping[str, Any] = field(default_factory=dict)  # `-p NAME=VALUE`, not searched
    options: OptionsSetup | None = None  # None: the strategy's own desk when it trades options
    ambiguous: Rule | None = None
    finer: FinerBars | None = None


@dataclass(frozen=True)
class TrialOutcome:
    """What a worker sends back: `value` None with `error` set when the trial failed."""

    params: dict[str, Any]
    value: float | None
    metrics: dict[str, Any]
    returns: np.ndarray  # daily returns (float64), empty on failure
    seconds: float
    error: str | None = None


@functools.cache
def _objective_function(objective: Objective) -> Callable[[Any], Any] | None:
    """A callable objective is imported once per worker process."""
    return objective.load() if objective.is_callable else None


@functools.cache
def settle_worker() -> None:
    """Once per worker process, before its first trial: move every object alive now (modules,
    Dask's state, the bars and settings just received) to the collector's permanent generation.
    `simulate` ends with a full `gc.collect()` (Backtrader's reference cycles), and a full
    collection traverses every tracked object of the process: on the sample's 2,054 daily bars
    that was ~0.4 of a 0.8 s sma_cross trial; frozen, each collection sees only the trial's own
    objects (bench/trial_overhead.py). Results are unchanged; what was alive at the freeze and
    later becomes cyclic garbage is not reclaimed (the worker's start-up objects, once)."""
    gc.collect()
    gc.freeze()


def run_trial(bars: Bars, settings: TrialSettings, params: dict[str, Any]) -> TrialOutcome:
    """Simulate `settings.strategy` with `params` on `bars`; any error is returned, not raised,
    so that one bad point does not stop the study."""
    settle_worker()
    started = time.perf_counter()
    try:
        result = simulate(
            bars, settings.strategy, {**settings.fixed, **params}, settings.costs,
            cash=settings.cash, fill_at=settings.fill_at, allow_short=settings.allow_short,
            preload=settings.preload, risk=settings.risk,
            volume_share=settings.volume_share, latency_ms=settings.latency_ms,
            options=settings.options, ambiguous=settings.ambiguous, finer=settings.finer,
        )  # fmt: skip
        value = settings.objective.score(result, _objective_function(settings.objective))
        returns = result.returns.to_numpy(dtype=np.float64)
    except Exception as exc:  # a trial's failure is data for the study, whatever it was
        text = str(exc) if isinstance(exc, ParityError) else _short(exc)
        return TrialOutcome(params, None, {}, np.empty(0), time.perf_counter() - started, text)
    metrics = {k: v for k, v in result.metrics.items() if k != "flags"}
    return TrialOutcome(params, value, metrics, returns, time.perf_counter() - started)


def _short(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"
