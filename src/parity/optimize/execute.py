"""Trials on Dask distributed: the bars and the trial settings (costs, risk limits, the options
desk, finer bars) are scattered to every worker once, each trial ships only its params, runs
`simulate` on a worker, and only its outcome comes back; the study is told as outcomes arrive,
so Optuna's sampler (TPE) learns from every finished trial.

The client is injected (a `LocalCluster`'s, or one connected to `--scheduler`): this module never
decides where trials run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from distributed import Client, Future, as_completed
from optuna.trial import Trial

from parity.engine.simulate import Bars
from parity.errors import Interrupted
from parity.optimize.study import Ledger, counts, feasible, outcome
from parity.optimize.trial import TrialOutcome, TrialSettings, run_trial

REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class Progress:
    """The study after one more trial: counted trials of `target`, the best feasible value so far
    (and its trial number), failed trials, and the estimated seconds left."""

    done: int
    target: int
    best: float | None
    best_trial: int | None
    failed: int
    eta_seconds: float | None

    def line(self, objective: str) -> str:
        best = "-" if self.best is None else f"{self.best:.4g} (#{self.best_trial})"
        eta = "-" if self.eta_seconds is None else _clock(self.eta_seconds)
        return (
            f"trials {self.done}/{self.target}  best {objective} {best}  failed {self.failed}  "
            f"ETA {eta}"
        )


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def run_study(
    ledger: Ledger,
    settings: TrialSettings,
    bars: Bars,
    client: Client,
    *,
    target: int,
    on_progress: Callable[[Progress], None] | None = None,
    in_flight: int | None = None,
) -> int:
    """Run trials until `target` counted trials; returns how many this call ran. Ctrl+C cancels
    the trials in flight, marks them interrupted (a continuation runs them again) and raises
    `Interrupted`."""
    slots = in_flight or max(2 * sum(client.nthreads().values()), 1)
    bars_future = client.scatter(bars, broadcast=True, hash=False)
    settings_future = client.scatter(settings, broadcast=True, hash=False)
    running: dict[Future, tuple[Trial | None, dict[str, Any]]] = {}
    pending = as_completed()
    done, ran, started = ledger.counted(), 0, time.perf_counter()
    failed = sum(1 for t in ledger.study.get_trials(deepcopy=False) if outcome(t).get("error"))
    best = _best(ledger.study)
    exhausted, refreshed = False, started

    def submit() -> None:
        nonlocal exhausted
        while not exhausted and len(running) < slots and done + len(running) < target:
            proposal = ledger.propose(limit=target)
            if proposal is None:
                exhausted = True
                return
            trial, params = proposal
            future = client.submit(run_trial, bars_future, settings_future, params, pure=False)
            running[future] = (trial, params)
            pending.add(future)

    try:
        submit()
        for future in pending:
            trial, _ = running.pop(future)
            result: TrialOutcome = future.result()
            frozen = ledger.record(trial, result)
            done, ran = done + 1, ran + 1
            if result.error is not None or result.value is None:
                failed += 1
            elif feasible(frozen) and _better(frozen.value, best, settings):
                best = frozen
            if time.perf_counter() - refreshed > REFRESH_SECONDS or not running:
                # other processes may work on the same study: count their trials too (a full
                # read of the study, so at most once a second)
                refreshed = time.perf_counter()
                trials = ledger.study.get_trials(deepcopy=False)
                done = max(done, sum(1 for t in trials if counts(t)))
                failed = max(failed, sum(1 for t in trials if outcome(t).get("error")))
                best = _best(ledger.study)
            if on_progress is not None:
                rate = (time.perf_counter() - started) / ran
                on_progress(Progress(
                    done, target, best.value if best else None, best.number if best else None,
                    failed, rate * max(target - done, 0),
                ))  # fmt: skip
            submit()
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted after {done} of {target} trials; run the same command with "
            f"--study {ledger.study.study_name} to continue"
        ) from None
    finally:
        # trials in flight when the loop stopped (Ctrl+C, a lost cluster): a continuation, or
        # another process on the study, runs them again
        for future, (trial, params) in running.items():
            future.cancel()
            ledger.interrupt(trial, params)
        client.cancel([bars_future, settings_future])
    return ran


def _best(study: optuna.Study) -> Any:
    found = [t for t in study.get_trials(deepcopy=False) if feasible(t)]
    if not found:
        return None
    pick = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    return pick(found, key=lambda t: float(t.value or 0.0))


def _better(value: float | None, best: Any, settings: TrialSettings) -> bool:
    if value is None:
        return False
    if best is None:
        return True
    if settings.objective.direction == "maximize":
        return value > best.value
    return value < best.value
