"""`parity compare PAPER_RUN`: the paper run against its backtest twin, with a verdict.

Exit codes of this command (its own scheme, because the verdict is the answer):

* 0 PASS, 1 WARN, 2 FAIL;
* errors are 10 + the usual parity code: 11 error, 12 bad option or config (usage errors too),
  13 data, 14 strategy (e.g. the strategy source changed), 15 broker, 16 run not found,
  17 report; 10 is an internal error.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import click

from parity.cli._base import _Failure, cli, json_option, runs_dir_option, say
from parity.errors import ParityError

ERROR_BASE = 10
_THRESHOLD_FLAGS = {
    "sharpe_pass": "Sharpe relative gap for PASS.",
    "sharpe_warn": "Sharpe relative gap for WARN (beyond: FAIL).",
    "min_correlation": "Returns correlation needed for PASS.",
    "max_dtw": "Annualised DTW below which PASS.",
}


class CompareCommand(click.Command):
    """Maps every error of the command to 10 + its parity code, keeping 0/1/2 for verdicts."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.exit_code = ERROR_BASE + 2
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # a closed pipe: click ends quietly
        except ParityError as exc:
            if (ctx.find_root().obj or {}).get("debug"):
                traceback.print_exc()
            raise _Failure(str(exc), ERROR_BASE + exc.exit_code) from exc
        except Exception as exc:
            if (ctx.find_root().obj or {}).get("debug"):
                traceback.print_exc()
            raise _Failure(
                f"internal error {type(exc).__name__}: {exc} (rerun with --debug)", ERROR_BASE
            ) from exc


def _threshold_options(func: Any) -> Any:
    for name, text in reversed(_THRESHOLD_FLAGS.items()):
        flag = "--" + name.replace("_", "-")
        func = click.option(flag, name, type=float, default=None, help=text)(func)
    return func


@cli.command("compare", cls=CompareCommand)
@click.argument("paper_run", metavar="PAPER_RUN")
@click.option("--against", default=None, metavar="BACKTEST_RUN", help="Compare with this run.")
@click.option(
    "--expect",
    default=None,
    metavar="NAME=VALUE,...",
    help="Compare with stated figures, e.g. sharpe=1.8,win_rate=0.65,max_drawdown=-0.12; for "
    "an options run the assumptions table's outcomes, e.g. daily_pnl=341.77,win_rate=0.65 "
    "(execution_rate, win_rate, daily_pnl, days_traded).",
)
@click.option(
    "--history",
    default=None,
    help="Vendor history for the twin [default: the local venue's data source, or Alpaca].",
)
@click.option(
    "--twin-costs",
    type=click.Choice(["same", "zero"]),
    default="same",
    help="Twin cost model: the paper run's (same) or frictionless (zero: the venue's costs "
    "then show as execution divergence).",
)
@click.option("--allow-code-change", is_flag=True, help="Compare even if the strategy changed.")
@click.option(
    "--thresholds",
    "thresholds_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML file of verdict thresholds (flags win).",
)
@_threshold_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for divergence.json/html [default: the paper run's directory]; an options "
    "run's compare.json, tables and twins [default: PAPER_RUN/compare].",
)
@click.option(
    "--bands",
    default="0.25,0.5",
    show_default=True,
    metavar="EXCELLENT,ACCEPTABLE",
    help="An options run's assumptions table: |measured/assumed - 1| within the first is "
    "excellent, within the second acceptable, beyond concerning.",
)
@click.option("--seed", type=int, default=0, help="Bootstrap seed.")
@click.option("--resamples", type=click.IntRange(min=100), default=2000, help="Bootstrap draws.")
@runs_dir_option
@json_option
def compare_cmd(**values: Any) -> None:
    """Compare PAPER_RUN with its backtest twin (built from its manifest), another run
    (--against) or stated figures (--expect); print a verdict and write divergence.json/html.

    Exit code 0 PASS, 1 WARN, 2 FAIL; 10 + the parity error code on errors (12 bad option,
    13 data, 14 strategy changed, 16 run not found)."""
    from parity.analyzers.assumptions import parse_bands
    from parity.analyzers.verdict import Thresholds
    from parity.reports.divergence import summary_text
    from parity.runners.compare import CompareConfig, parse_expect, run_compare

    thresholds = (
        Thresholds.from_yaml(values["thresholds_file"])
        if values["thresholds_file"]
        else Thresholds()
    ).with_overrides({name: values[name] for name in _THRESHOLD_FLAGS})
    config = CompareConfig(
        paper_run=values["paper_run"],
        runs_dir=values["runs_dir"],
        against=values["against"],
        expect=parse_expect(values["expect"]) if values["expect"] is not None else None,
        history=values["history"],
        twin_costs=values["twin_costs"],
        allow_code_change=values["allow_code_change"],
        thresholds=thresholds,
        out=values["out"],
        resamples=values["resamples"],
        seed=values["seed"],
        bands=parse_bands(values["bands"]),
    )
    result = run_compare(config, notify=say)
    if values["as_json"]:
        click.echo(json.dumps(result.divergence, default=str))
    elif result.text is not None:  # an options run: its twins, attribution and assumptions
        click.echo(result.text)
        click.echo(f"written: {result.json_path.parent}/ (compare.json, assumptions.csv, "
                   "options_ledger.csv, model-twin/, tape-twin/)")  # fmt: skip
        click.echo(f"report: {result.html_path}")
    else:
        click.echo(summary_text(result.divergence))
        click.echo(f"report: {result.html_path}")
    raise click.exceptions.Exit(int(result.divergence["verdict"]["exit_code"]))
