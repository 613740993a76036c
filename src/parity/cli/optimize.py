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


def _search(values: dict[str, Any]) -> dict[str, Any]:
    """The OptimizeConfig fields the search options give."""
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
        lines.append(f"best: trial {best['trial']} {params}  {objective} {best['objective']:.4g}")
    else:
        lines.append("best: no trial completed within the constraints")
    lines += result.statistics.readings()
    lines += [f"kept run {run_id}" for run_id in result.kept]
    lines.append(f"results written to {result.run_dir} (trials.csv, report.html)")
    return "\n".join(lines)
