"""`run_walkforward`: for each window, an optimisation on its training bars (a study of its
own, on Dask like `parity optimize`), the chosen params simulated on the next test window, the
out-of-sample pieces stitched into one curve with one set of metrics, the walk-forward
efficiency, parameter stability, overfitting statistics and the HTML report.

Layout: `RUNS_DIR/walkforward/NAME/{windows.csv, equity.csv, summary.json, report.html}`; each
window's study is `NAME-wK` in the run database, so an interrupted walk-forward continues."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parity.analyzers.metrics import compute_metrics, daily_returns
from parity.engine.ambiguity import check_rule
from parity.engine.simulate import simulate
from parity.errors import ConfigError, Interrupted
from parity.optimize.execute import Progress
from parity.optimize.report import walkforward_report
from parity.optimize.results import Statistics, best_trials, statistics
from parity.optimize.stats import deflated_sharpe, sharpe_per_period
from parity.optimize.study import close_study, outcome
from parity.optimize.walkforward import (
    Window,
    cut,
    efficiency,
    stability,
    stitch,
    windows,
    with_warmup,
)
from parity.runners.optimize import (
    Execution,
    OptimizeConfig,
    Prepared,
    optimise_on,
    options_setup,
    prepare,
)


@dataclass(frozen=True, kw_only=True)
class WalkForwardConfig:
    optimize: OptimizeConfig  # the search run in every training window
    train: pd.DateOffset
    test: pd.DateOffset
    step: pd.DateOffset
    anchored: bool = False
    name: str | None = None


@dataclass(frozen=True)
class WindowResult:
    window: Window
    study: str
    params: dict[str, Any] | None  # None: no trial completed within the constraints
    in_sample: dict[str, Any]  # the chosen trial's metrics on the training bars
    out_of_sample: dict[str, Any]  # the chosen params' metrics on the test bars
    statistics: Statistics


@dataclass(frozen=True)
class WalkForwardResult:
    name: str
    run_dir: Path
    windows: tuple[WindowResult, ...]
    equity: pd.DataFrame  # the stitched out-of-sample curve
    metrics: dict[str, Any]  # of the stitched curve
    efficiency: float | None
    stability: dict[str, dict[str, Any]]
    deflated: dict[str, Any]  # DSR of the stitched out-of-sample returns
    pbo: float | None  # the median PBO of the windows' studies


def run_walkforward(
    config: WalkForwardConfig,
    *,
    on_window: Callable[[str], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> WalkForwardResult:
    opt = config.optimize
    ready = prepare(opt, config.name, "wf", on_warning)
    first = min(s.frame.index[0] for s in ready.loaded.series)
    last = max(s.frame.index[-1] for s in ready.loaded.series)
    planned = windows(first, last, config.train, config.test, config.step, anchored=config.anchored)
    with opt.execution.connect() as client:  # one cluster for every window's study
        shared = replace(opt, execution=Execution(client=client))
        return _walk(config, shared, ready, planned, on_window, on_progress)


def _walk(
    config: WalkForwardConfig,
    opt: OptimizeConfig,
    ready: Prepared,
    planned: list[Window],
    on_window: Callable[[str], None] | None,
    on_progress: Callable[[Progress], None] | None,
) -> WalkForwardResult:
    backtest = opt.backtest
    spec, fixed, name, loaded, finer = (
        ready.spec,
        ready.fixed,
        ready.name,
        ready.loaded,
        ready.finer,
    )  # the bars and finer bars are read once, for every window
    results, pieces, trades, fills = [], [], [], []
    for window in planned:
        study_name = f"{name}-w{window.index}"
        if on_window is not None:
            span = window.describe()
            on_window(f"window {window.index + 1}/{len(planned)}: train {span['train']}, "
                      f"test {span['test']}")  # fmt: skip
        train = cut(loaded, window.train_start, window.train_end)
        try:
            study, _ = optimise_on(train, opt, study_name, finer=finer, on_progress=on_progress)
        except Interrupted:
            raise Interrupted(
                f"interrupted in window {window.index + 1} of {len(planned)}; run the same "
                f"command with --name {name} to continue"
            ) from None
        try:
            best = best_trials(study, 1)
            stats = statistics(study)
        finally:
            close_study(study)
        if not best:
            results.append(WindowResult(window, study_name, None, {}, {}, stats))
            continue
        params = {**fixed, **best[0].params}
        oos = _test_run(loaded, window, params, backtest, spec.cls, {
            "options": options_setup(spec.cls, opt.options),
            "ambiguous": check_rule(backtest.ambiguous), "finer": finer,
        })  # fmt: skip
        pieces.append(oos["equity"])
        trades.append(oos["trades"])
        fills.append(oos["fills"])
        results.append(WindowResult(
            window, study_name, dict(best[0].params), outcome(best[0]).get("metrics", {}),
            oos["metrics"], stats,
        ))  # fmt: skip
    if not pieces:
        raise ConfigError(
            "no training window produced a trial within the constraints; loosen --constraint "
            "or widen the space"
        )
    equity = stitch(pieces, backtest.cash)
    metrics = compute_metrics(
        equity, pd.concat(trades, ignore_index=True), pd.concat(fills, ignore_index=True),
        starting_cash=backtest.cash, periods=loaded.calendar.annualisation.periods,
    )  # fmt: skip
    chosen = [r for r in results if r.params is not None]
    wfe = efficiency(metrics.get("cagr"), [r.in_sample.get("cagr") for r in chosen])
    deflated = _deflate_oos(equity, backtest.cash, chosen)
    pbos = [r.statistics.overfitting.pbo for r in chosen if r.statistics.overfitting is not None]
    pbo = float(np.nanmedian(pbos)) if pbos else None
    result = WalkForwardResult(
        name, backtest.runs_dir / "walkforward" / name, tuple(results), equity, metrics, wfe,
        stability([r.params or {} for r in chosen]), deflated, pbo,
    )  # fmt: skip
    _write(result, opt.objective.text)
    return result


def _test_run(
    loaded: Any,
    window: Window,
    params: dict[str, Any],
    backtest: Any,
    cls: type,
    desk: dict[str, Any],
) -> dict[str, Any]:
    """The chosen params on the test window, warmed up on the bars just before it, with the
    trials' options desk and ambiguity rule (`desk`: `simulate`'s options, ambiguous, finer)."""
    kwargs = dict(
        cash=backtest.cash, fill_at=backtest.fill_at, allow_short=backtest.allow_short,
        preload=backtest.preload, risk=backtest.risk, volume_share=backtest.volume_share,
        latency_ms=backtest.latency_ms, **desk,
    )  # fmt: skip
    bare = simulate(cut(loaded, window.test_start, window.test_end), cls, params,
                    backtest.costs, **kwargs)  # type: ignore[arg-type]  # fmt: skip
    warmed = with_warmup(loaded, window.test_start, window.test_end, max(bare.warmup - 1, 0))
    run = simulate(warmed, cls, params, backtest.costs, **kwargs)  # type: ignore[arg-type]
    equity = run.equity[run.equity.index >= window.test_start]
    fills = run.fills
    if len(fills) and (fills["datetime"] < window.test_start).any():  # never: see with_warmup
        raise RuntimeError(f"window {window.index}: a fill before the test window")
    metrics = compute_metrics(
        equity, run.trades, fills, starting_cash=backtest.cash,
        periods=loaded.calendar.annualisation.periods,
    )  # fmt: skip
    return {"equity": equity, "trades": run.trades, "fills": fills, "metrics": metrics}


def _deflate_oos(equity: pd.DataFrame, cash: float, chosen: list[WindowResult]) -> dict[str, Any]:
    """DSR of the stitched out-of-sample returns, deflated by the trials of one window's search
    (each window chose among that many) and their Sharpe ratios' variance (averaged over the
    windows): conservative, since the out-of-sample returns were not themselves selected."""
    from scipy import stats as st

    returns = daily_returns(equity["value"], cash).to_numpy(dtype=float)
    found = [r.statistics.deflated for r in chosen if r.statistics.deflated is not None]
    if len(returns) < 3 or not found:
        return {}
    trials = max(d.trials for d in found)
    variance = float(np.mean([d.variance for d in found]))
    sharpe = sharpe_per_period(returns)
    std = np.std(returns)
    d = deflated_sharpe(
        sharpe, variance, trials, len(returns),
        float(st.skew(returns)) if std > 0 else 0.0,
        float(st.kurtosis(returns, fisher=False)) if std > 0 else 3.0,
    )  # fmt: skip
    return {"dsr": d.dsr, "sharpe_per_period": d.sharpe, "expected_max_sharpe": d.expected_max,
            "trials": d.trials, "observations": d.observations,
            "reading": d.reading("the out-of-sample Sharpe", "trials per window")}  # fmt: skip


def window_table(result: WalkForwardResult, objective: str) -> pd.DataFrame:
    rows = []
    for r in result.windows:
        span = r.window.describe()
        rows.append({
            "window": r.window.index, "train": span["train"], "test": span["test"],
            "study": r.study, **{f"param_{k}": v for k, v in (r.params or {}).items()},
            f"is_{objective}": r.in_sample.get(objective),
            f"oos_{objective}": r.out_of_sample.get(objective),
            "is_cagr": r.in_sample.get("cagr"),
            "oos_total_return": r.out_of_sample.get("total_return"),
            "oos_trades": r.out_of_sample.get("trades"),
            "dsr": r.statistics.deflated.dsr if r.statistics.deflated else None,
            "pbo": r.statistics.overfitting.pbo if r.statistics.overfitting else None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _write(result: WalkForwardResult, objective: str) -> None:
    run_dir = result.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    table = window_table(result, objective)
    table.to_csv(run_dir / "windows.csv", index=False)
    result.equity.to_csv(run_dir / "equity.csv", index_label="datetime")
    summary = {
        "name": result.name,
        "metrics": {k: v for k, v in result.metrics.items() if k != "flags"},
        "walk_forward_efficiency": result.efficiency,
        "stability": result.stability,
        "deflated_sharpe": result.deflated,
        "pbo_median": result.pbo,
        "windows": table.to_dict(orient="records"),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (run_dir / "report.html").write_text(
        walkforward_report(result, table, objective), encoding="utf-8"
    )
