"""`run_optimize`: config → bars → an Optuna study whose trials `simulate` on Dask workers →
the trials table, the overfitting statistics, the HTML report and (`keep_best`) ordinary runs.

Layout: `RUNS_DIR/optimize/STUDY/{trials.csv, trials.json, summary.json, report.html}`; the
study itself lives in the run database (`PARITY_DB_URL`, else `RUNS_DIR/studies.sqlite`)."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from distributed import Client

from parity.config import BacktestConfig
from parity.engine.ambiguity import FinerBars, check_rule
from parity.errors import ConfigError
from parity.feeds.loader import LoadedData
from parity.optimize.cluster import dask_client
from parity.optimize.execute import Progress, run_study
from parity.optimize.objective import Constraint, Objective
from parity.optimize.report import optimize_report
from parity.optimize.results import Statistics, best_trials, statistics, trials_table, write_tables
from parity.optimize.space import Space
from parity.optimize.study import (
    Ledger,
    StudyPlan,
    close_study,
    open_study,
    outcome,
    storage_url,
)
from parity.optimize.trial import TrialSettings
from parity.options.setup import OptionsSetup
from parity.runners.backtest import backtest_bars, backtest_finer, run_backtest
from parity.runstore import check_run_id, check_runs_dir, new_run_id
from parity.strategies.params import coerce_params, param_types
from parity.strategies.registry import StrategySpec, resolve_strategy


@dataclass(frozen=True)
class Execution:
    """Where trials run: a local cluster of `workers` (threads of this process when
    `processes` is False), or the cluster behind `scheduler`; `client` injects one."""

    workers: int = 1
    scheduler: str | None = None
    processes: bool = True
    client: Client | None = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[Client]:
        if self.client is not None:
            yield self.client
            return
        with dask_client(self.workers, self.scheduler, processes=self.processes) as client:
            yield client


@dataclass(frozen=True, kw_only=True)
class OptimizeConfig:
    backtest: BacktestConfig  # data, costs, risk, strategy and fixed params (as run backtest)
    space: Space
    objective: Objective
    constraints: tuple[Constraint, ...] = ()
    search: str = "grid"
    trials: int | None = None
    seed: int = 0
    study: str | None = None
    keep_best: int = 0
    execution: Execution = field(default_factory=Execution)
    # the options desk's assumptions (`OptionsSetup.for_strategy` overrides: the options flags
    # of `run backtest`, e.g. --iv-mult); None: the strategy's own desk when it trades options
    options: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class OptimizeResult:
    study: str
    run_dir: Path
    ran: int  # trials this call ran (a continuation runs only the missing ones)
    table: Any  # pandas DataFrame: every trial
    best: list[dict[str, Any]]  # best feasible trials: trial, params, objective, metrics
    statistics: Statistics
    kept: tuple[str, ...] = ()  # run ids of the materialised best runs


def check_space(spec: StrategySpec, space: Space, fixed: dict[str, Any]) -> None:
    """Every dimension must be a parameter of the strategy (and not also fixed with -p)."""
    both = sorted(set(space.names) & set(fixed))
    if both:
        raise ConfigError(f"{', '.join(both)} is both searched (--space) and fixed (-p); drop one")
    known = param_types(spec.cls)
    unknown = [name for name in space.names if name not in known]
    if unknown:
        raise ConfigError(
            f"--space {', '.join(unknown)} is not a parameter of {spec.name}; "
            f"valid: {', '.join(sorted(known))}"
        )


def check_search(config: OptimizeConfig) -> None:
    """A grid needs steps; random and tpe need --trials: both fail before any work."""
    if config.search == "grid":
        config.space.grid_size()
    elif config.trials is None:
        raise ConfigError(f"--search {config.search} needs --trials N (how many points to try)")


def options_setup(cls: type, overrides: Mapping[str, Any] | None) -> OptionsSetup | None:
    """The options desk a backtest of `cls` has, as `run backtest` builds it: the strategy's own
    with `overrides` on top; None for a strategy that trades no options and no overrides."""
    if overrides or getattr(cls, "trades_options", False):
        return OptionsSetup.for_strategy(cls, overrides)
    return None


def trial_settings(
    config: BacktestConfig,
    objective: Objective,
    *,
    options: OptionsSetup | None = None,
    finer: FinerBars | None = None,
) -> TrialSettings:
    return TrialSettings(
        strategy=config.strategy, objective=objective, costs=config.costs, cash=config.cash,
        fill_at=config.fill_at, allow_short=config.allow_short, preload=config.preload,
        risk=config.risk, volume_share=config.volume_share, latency_ms=config.latency_ms,
        fixed=dict(config.params), options=options, ambiguous=check_rule(config.ambiguous),
        finer=finer,
    )  # fmt: skip


def data_record(
    config: BacktestConfig, loaded: LoadedData, options: OptionsSetup | None = None
) -> dict[str, Any]:
    """What the trials ran on, for the study's definition (the options desk and the ambiguity
    rule only when given, so that a study defined without them still continues)."""
    record = {
        "source": config.data,
        "symbols": [s.symbol for s in loaded.series],
        "first": str(min(s.frame.index[0] for s in loaded.series)),
        "last": str(max(s.frame.index[-1] for s in loaded.series)),
        "timeframe": loaded.series[0].timeframe.name,
        "costs": config.costs.describe(),
        "fixed": {k: str(v) for k, v in sorted(config.params.items())},
        "cash": config.cash,
    }
    if options is not None:
        record["options"] = options.describe()
    if config.ambiguous is not None:
        record["ambiguous"] = config.ambiguous
        record["finer"] = config.finer
    return record


def optimise_on(
    loaded: LoadedData,
    config: OptimizeConfig,
    name: str,
    *,
    finer: FinerBars | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[Any, int]:
    """Run (or continue) the study `name` on `loaded` (`finer`: the bars `--ambiguous
    finer-data` reads); returns the study and the trials run."""
    spec = resolve_strategy(config.backtest.strategy)
    options = options_setup(spec.cls, config.options)
    settings = trial_settings(config.backtest, config.objective, options=options, finer=finer)
    plan = StudyPlan(
        config.backtest.strategy, config.space, config.objective, config.constraints,
        config.search, config.seed,
        data_record(config.backtest, loaded, options if config.options else None),
    )  # fmt: skip
    study = open_study(name, storage_url(config.backtest.runs_dir), plan)
    try:
        ledger = Ledger(study, plan)
        target = ledger.target(config.trials)
        with config.execution.connect() as client:
            ran = run_study(
                ledger, settings, loaded, client, target=target, on_progress=on_progress
            )
    except BaseException:
        close_study(study)
        raise
    return study, ran


def keep(config: BacktestConfig, run_id: str, options: Mapping[str, Any] | None = None) -> str:
    """`run_id` as an ordinary run of `config`: `STUDY-bestN` always holds the study's current
    N-th best (a continuation that found a better one replaces it; the same params stay)."""
    run_dir = config.runs_dir / run_id
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("params", {})
        if all(recorded.get(k) == v for k, v in config.params.items()):
            return run_id
    if run_dir.exists():
        shutil.rmtree(run_dir)  # this study's own derived run, for params no longer N-th best
    return run_backtest(config, run_id=run_id, options=options).run_id


@dataclass(frozen=True)
class Prepared:
    """What an optimisation or a walk-forward checks and loads once before it searches."""

    spec: StrategySpec
    fixed: dict[str, Any]  # the strategy params given, fixed in every trial
    name: str  # the study's (or walk-forward's) name
    loaded: LoadedData
    finer: FinerBars | None


def prepare(
    config: OptimizeConfig,
    given: str | None,
    prefix: str,
    on_warning: Callable[[str], None] | None = None,
) -> Prepared:
    """Check `config` (runs directory, strategy, space, search) and load its bars once; the
    name is `given` (checked) or a new run id after `prefix`. Bad input raises `ParityError`."""
    backtest = config.backtest
    check_runs_dir(backtest.runs_dir)
    spec = resolve_strategy(backtest.strategy)
    fixed = coerce_params(spec.cls, backtest.params, complete=False)
    check_space(spec, config.space, fixed)
    check_search(config)
    name = check_run_id(given) if given else f"{prefix}-{new_run_id(spec.name)}"
    loaded = backtest_bars(backtest, spec)
    if on_warning is not None:
        for warning in loaded.warnings:
            on_warning(warning)
    return Prepared(spec, fixed, name, loaded, backtest_finer(backtest, loaded))


def run_optimize(
    config: OptimizeConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> OptimizeResult:
    """Run or continue an optimisation and write its results; bad input raises `ParityError`."""
    ready = prepare(config, config.study, "opt", on_warning)
    study, ran = optimise_on(
        ready.loaded, config, ready.name, finer=ready.finer, on_progress=on_progress
    )
    try:
        return _results(study, config, ready.name, ran, ready.fixed)
    finally:
        close_study(study)


def _results(
    study: Any, config: OptimizeConfig, name: str, ran: int, fixed: dict[str, Any]
) -> OptimizeResult:
    backtest = config.backtest
    run_dir = backtest.runs_dir / "optimize" / name
    table = trials_table(study, config.space.names)
    stats = statistics(study)
    best = [
        {"trial": t.number, "params": t.params, "objective": t.value,
         "metrics": outcome(t).get("metrics", {})}
        for t in best_trials(study, max(config.keep_best, 1))
    ]  # fmt: skip
    summary = {
        "study": name,
        "definition": study.user_attrs.get("parity"),
        "trials": len(table),
        "failed": int((table["state"] == "fail").sum()),
        "best": best[:1],
        "statistics": stats.to_dict(),
    }
    write_tables(run_dir, table, summary)
    (run_dir / "report.html").write_text(
        optimize_report(study, table, config.space, config.objective, stats), encoding="utf-8"
    )
    kept = tuple(
        keep(
            replace(backtest, params={**fixed, **entry["params"]}),
            f"{name}-best{rank}",
            config.options,
        )
        for rank, entry in enumerate(best[: config.keep_best], start=1)
    )
    return OptimizeResult(name, run_dir, ran, table, best, stats, kept)
