"""`parity optimize` and `parity walk-forward`: the same data, cost and risk options as
`run backtest`, plus the search space, objective, constraints and where trials run."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from parity.cli._base import backtest_options, cli, json_option, runs_dir_option, say
from parity.cli.options import option_flags
from parity.cli.risk import risk_options


def search_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The search: space, objective, constraints, sampler, trials, seed, and where it runs."""
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option(
            "--space",
            "space_items",
            multiple=True,
            metavar="NAME=SPEC",
            help="Searched parameter, repeatable: LOW:HIGH:STEP (ints or floats), LOW:HIGH "
            "(continuous floats) or A,B,C (choices).",
        ),
        click.option(
            "--space-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="YAML file of NAME: SPEC (or NAME: [A, B] / NAME: {low, high, step}).",
        ),
        click.option(
            "--objective",
            default="sharpe",
            help="A metric of metrics.json, or path/to/file.py:func called with the RunResult.",
        ),
        click.option(
            "--direction",
            type=click.Choice(["maximize", "minimize"]),
            default="maximize",
            help="Whether a higher or a lower objective is better.",
        ),
        click.option(
            "--constraint",
            "constraints",
            multiple=True,
            metavar="METRIC<OP>NUMBER",
            help="Repeatable, e.g. 'max_drawdown>-0.2' or 'trades>=30'; a trial that breaks "
            "one is kept in the table but never chosen.",
        ),
        click.option(
            "--search",
            type=click.Choice(["grid", "random", "tpe"]),
            default="grid",
            help="grid (every point), random, or tpe (Optuna's Bayesian sampler).",
        ),
        click.option(
            "--trials",
            type=click.IntRange(min=1),
            default=None,
            help="Trials to reach [default: the whole grid; required for random/tpe].",
        ),
        click.option("--seed", type=int, default=0, help="Seed of the random and tpe samplers."),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=1,
            help="Dask workers of the local cluster (one process each).",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="tcp://HOST:8786",
            help="Run the trials on this existing Dask cluster instead of a local one.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _options(values: dict[str, Any]) -> dict[str, Any] | None:
    """The options desk's overrides the options flags give (None: none given); one --iv-mult,
    since every trial of a study runs on the same desk."""
    from parity.cli.options import iv_mults, overrides_from_flags
    from parity.errors import ConfigError

    mults = iv_mults(values)
    if len(mults) > 1:
        raise ConfigError(
            f"--iv-mult {values['iv_mult']}: a study runs on one desk; give one value "
            "(run one study per value to compare them)"
        )
    return overrides_from_flags(values, mults[0]) or None


def _search(values: dict[str, Any]) -> dict[str, Any]:
    """The OptimizeConfig fields the search options (and the options desk's flags) give."""
    from parity.optimize.objective import parse_constraint, parse_objective
    from parity.optimize.space import parse_space
    from parity.runners.optimize import Execution

    return {
        "space": parse_space(values["space_items"], values["space_file"]),
        "objective": parse_objective(values["objective"], values["direction"]),
        "constraints": tuple(parse_constraint(c) for c in values["constraints"]),
        "search": values["search"],
        "trials": values["trials"],
        "seed": values["seed"],
        "execution": Execution(workers=values["workers"], scheduler=values["scheduler"]),
        "options": _options(values),
    }


class ProgressLine:
    """One progress line on stderr: rewritten in place on a terminal, else logged every tenth
    of the study."""

    def __init__(self, objective: str) -> None:
        self.objective = objective
        self.tty = sys.stderr.isatty()
        self.last = -1

    def __call__(self, progress: Any) -> None:
        line = progress.line(self.objective)
        if self.tty:
            click.echo(f"\r{line}\x1b[K", err=True, nl=progress.done >= progress.target)
            return
        step = max(progress.target // 10, 1)
        if progress.done // step != self.last or progress.done >= progress.target:
            self.last = progress.done // step
            say(line)


@cli.command("optimize")
@click.argument("strategy", required=False, default="sma_cross")
@search_options
@click.option(
    "--study",
    default=None,
    help="Study name: a new one, or an existing one to continue [default: a new name].",
)
@click.option(
    "--keep-best",
    type=click.IntRange(min=0),
    default=0,
    help="Also write the best N trials as ordinary runs (as `run backtest` does).",
)
@backtest_options
@option_flags
@risk_options
@runs_dir_option
@json_option
@click.pass_context
def optimize_cmd(ctx: click.Context, **values: Any) -> None:
    """Search STRATEGY's parameters on historical bars (Optuna on Dask); `--study NAME` again
    continues an interrupted study."""
    from parity.cli.run import backtest_config
    from parity.runners.optimize import OptimizeConfig, run_optimize

    backtest = backtest_config(ctx, values)
    config = OptimizeConfig(
        backtest=backtest, study=values["study"], keep_best=values["keep_best"], **_search(values)
    )
    result = run_optimize(
        config,
        on_progress=ProgressLine(config.objective.text),
        on_warning=lambda text: say(f"warning: {text}"),
    )
    if values["as_json"]:
        click.echo(json.dumps({
            "study": result.study, "run_dir": str(result.run_dir), "ran": result.ran,
            "trials": len(result.table), "best": result.best[:1],
            "statistics": result.statistics.to_dict(), "kept": list(result.kept),
        }, default=str))  # fmt: skip
        return
    click.echo(_optimize_text(result, config.objective.text))


def _optimize_text(result: Any, objective: str) -> str:
    table = result.table
    failed = int((table["state"] == "fail").sum())
    lines = [f"study {result.study}: {len(table)} trials ({result.ran} run now, {failed} failed)"]
    if result.best:
        best = result.best[0]
        params = " ".join(f"{k}={v}" for k, v in best["params"].items())
        lines.append(f"best: {params}  {objective} {best['objective']:.4g}")
    else:
        lines.append("best: no trial completed within the constraints")
    lines += result.statistics.readings()
    lines += [f"kept run {run_id}" for run_id in result.kept]
    lines.append(f"results written to {result.run_dir} (trials.csv, report.html)")
    return "\n".join(lines)


@cli.command("walk-forward")
@click.argument("strategy", required=False, default="sma_cross")
@click.option("--train", default="2y", help="Training window: 2y, 18m, 26w, 90d.")
@click.option("--test", default="6m", help="Test window that follows each training window.")
@click.option("--step", default=None, help="How far each next window starts [default: --test].")
@click.option(
    "--anchored",
    is_flag=True,
    help="Every training window starts at the first bar (it grows) instead of rolling.",
)
@click.option("--name", default=None, help="Name of the walk-forward [default: a new name].")
@search_options
@backtest_options
@option_flags
@risk_options
@runs_dir_option
@json_option
@click.pass_context
def walkforward_cmd(ctx: click.Context, **values: Any) -> None:
    """Optimise STRATEGY in rolling (or anchored) training windows, run the chosen params on
    each next test window, and stitch the out-of-sample results."""
    from parity.cli.run import backtest_config
    from parity.optimize.walkforward import parse_period
    from parity.runners.optimize import OptimizeConfig
    from parity.runners.walkforward import WalkForwardConfig, run_walkforward

    optimize = OptimizeConfig(backtest=backtest_config(ctx, values), **_search(values))
    config = WalkForwardConfig(
        optimize=optimize,
        train=parse_period(values["train"], "--train"),
        test=parse_period(values["test"], "--test"),
        step=parse_period(values["step"] or values["test"], "--step"),
        anchored=values["anchored"],
        name=values["name"],
    )
    result = run_walkforward(
        config,
        on_window=say,
        on_progress=ProgressLine(optimize.objective.text),
        on_warning=lambda text: say(f"warning: {text}"),
    )
    if values["as_json"]:
        click.echo(json.dumps({
            "name": result.name, "run_dir": str(result.run_dir),
            "metrics": result.metrics, "walk_forward_efficiency": result.efficiency,
            "deflated_sharpe": result.deflated, "pbo_median": result.pbo,
            "windows": [{"window": r.window.index, **r.window.describe(), "params": r.params}
                        for r in result.windows],
        }, default=str))  # fmt: skip
        return
    from parity.feeds.currency import check_one_currency

    currency = check_one_currency(list(optimize.backtest.symbols)) or "USD"
    click.echo(_walkforward_text(result, optimize.objective.text, currency))


def _walkforward_text(result: Any, objective: str, currency: str = "USD") -> str:
    from parity.reports.text import metrics_table

    lines = []
    for r in result.windows:
        span = r.window.describe()
        params = " ".join(f"{k}={v}" for k, v in (r.params or {}).items()) or "(none feasible)"
        is_value, oos_value = r.in_sample.get(objective), r.out_of_sample.get(objective)
        lines.append(
            f"window {r.window.index}: train {span['train']} test {span['test']}  {params}  "
            f"IS {objective} {_num(is_value)}  OOS {objective} {_num(oos_value)}"
        )
    lines.append("out of sample (stitched):")
    lines.append(metrics_table(result.metrics, currency))
    wfe = result.efficiency
    lines.append(f"walk-forward efficiency {'undefined' if wfe is None else f'{wfe:.2f}'}")
    if result.deflated:
        lines.append(f"out of sample: {result.deflated['reading']}")
    if result.pbo is not None:
        lines.append(f"median PBO of the windows' searches {result.pbo:.2f}")
    lines.append(f"results written to {result.run_dir} (windows.csv, equity.csv, report.html)")
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4g}"
