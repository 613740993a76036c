"""An optimisation's results from its study: the table of every trial, the best feasible trials,
and the overfitting statistics over the completed ones."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from parity.analyzers.metrics import METRIC_KEYS
from parity.optimize.stats import Deflated, Overfitting, cscv_pbo, deflate_best
from parity.optimize.study import feasible, outcome, unpack_returns


def trials_table(study: optuna.Study, names: tuple[str, ...]) -> pd.DataFrame:
    """One row per trial: number, state, params, objective value, constraints, error, seconds
    and every metric: the common ones, then any a strategy or run adds (`ambiguous_exits`, an
    option strategy's `options.trades`...), nested ones by dotted name (interrupted trials that
    were run again are left out)."""
    rows, extra = [], {}
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("interrupted"):
            continue
        broken = outcome(t).get("broken", [])
        status = "ok" if not broken else "broken: " + "; ".join(broken)
        metrics = _flat(outcome(t).get("metrics", {}))
        extra.update(dict.fromkeys(k for k in metrics if k not in METRIC_KEYS))
        rows.append({
            "trial": t.number,
            "state": t.state.name.lower(),
            **{name: t.params.get(name) for name in names},
            "objective": t.value if t.state == TrialState.COMPLETE else None,
            "constraints": status if t.state == TrialState.COMPLETE else "",
            "error": outcome(t).get("error", ""),
            "seconds": outcome(t).get("seconds"),
            **metrics,
        })  # fmt: skip
    columns = ["trial", "state", *names, "objective", "constraints", "error", "seconds",
               *METRIC_KEYS, *extra]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    for counted in ("trades", "max_drawdown_duration_days"):  # whole numbers, blank when none
        table[counted] = table[counted].astype("Int64")
    return table


def _flat(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar metrics by (dotted) name; lists and tables are left to the kept runs."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif value is None or isinstance(value, str | int | float | bool):
            out[f"{prefix}{key}"] = value
    return out


def best_trials(study: optuna.Study, count: int) -> list[FrozenTrial]:
    """The `count` best feasible trials, best first."""
    found = [t for t in study.get_trials(deepcopy=False) if feasible(t)]
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return sorted(found, key=lambda t: (t.value, -t.number), reverse=reverse)[:count]


@dataclass(frozen=True)
class Statistics:
    deflated: Deflated | None
    overfitting: Overfitting | None

    def readings(self) -> list[str]:
        return [s.reading() for s in (self.deflated, self.overfitting) if s is not None] or [
            "overfitting statistics need two completed trials, one within the constraints"
        ]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.deflated is not None:
            d = self.deflated
            out["deflated_sharpe"] = {
                "dsr": _finite(d.dsr), "sharpe_per_period": d.sharpe,
                "expected_max_sharpe": d.expected_max, "trials": d.trials,
                "observations": d.observations, "reading": d.reading(),
            }  # fmt: skip
        if self.overfitting is not None:
            o = self.overfitting
            out["pbo"] = {"pbo": _finite(o.pbo), "splits": o.splits, "blocks": o.blocks,
                          "reading": o.reading()}  # fmt: skip
        return out


def returns_matrix(trials: list[FrozenTrial]) -> np.ndarray:
    """(days x trials) daily returns of completed trials (all ran on the same bars)."""
    columns = [unpack_returns(outcome(t)["returns"]) for t in trials]
    length = min(len(c) for c in columns)
    return np.column_stack([c[-length:] for c in columns])


def statistics(study: optuna.Study, blocks: int = 16) -> Statistics:
    """DSR of the best feasible trial deflated by every completed trial, and PBO by CSCV."""
    completed = [
        t for t in study.get_trials(deepcopy=False)
        if t.state == TrialState.COMPLETE and "returns" in outcome(t)
    ]  # fmt: skip
    best = best_trials(study, 1)
    if len(completed) < 2 or not best:
        return Statistics(None, None)
    matrix = returns_matrix(completed)
    index = [t.number for t in completed].index(best[0].number)
    deflated = deflate_best(matrix, index)
    usable = blocks if len(matrix) // blocks >= 2 else max(2, (len(matrix) // 4) // 2 * 2)
    overfitting = cscv_pbo(matrix, usable) if len(matrix) >= 4 else None
    return Statistics(deflated, overfitting)


def write_tables(run_dir: Path, table: pd.DataFrame, summary: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(run_dir / "trials.csv", index=False)
    (run_dir / "trials.json").write_text(table.to_json(orient="records", indent=1) + "\n")
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")


def _finite(value: float) -> float | None:
    return None if value != value else value  # NaN → null in JSON
