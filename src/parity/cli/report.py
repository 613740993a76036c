"""`parity report tearsheet`."""

from __future__ import annotations

from pathlib import Path

import click

from parity.cli._base import ParityGroup, cli, runs_dir_option


@cli.group(cls=ParityGroup)
def report() -> None:
    """Reports on finished runs."""


@report.command("tearsheet")
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--benchmark",
    default="buy-and-hold",
    help="buy-and-hold (the run's symbols), a SYMBOL of the run's data source, "
    "another RUN, or none.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output HTML path [default: RUN_DIR/tearsheet.html].",
)
@runs_dir_option
def report_tearsheet(run_ref: str, benchmark: str, out: Path | None, runs_dir: Path) -> None:
    """Write a QuantStats HTML tearsheet for RUN (offline) and print its path."""
    from parity.runners.report import write_run_tearsheet
    from parity.runstore import RunStore

    path = write_run_tearsheet(RunStore(runs_dir), run_ref, benchmark=benchmark, out=out)
    click.echo(str(path))
