"""`parity report tearsheet`, `parity report daily`, `parity report weekly`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from parity.cli._base import ParityGroup, cli, runs_dir_option


@cli.group(cls=ParityGroup)
def report() -> None:
    """Reports on runs: tearsheet (finished runs), daily and weekly (live or finished)."""


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


_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    help="text and json print to stdout (or --out); html writes RUN_DIR/reports/ and prints "
    "the path.",
)
_OUT = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to this file and print its path.",
)


def _emit(run_dir: Path, report: Any, fmt: str, out: Path | None) -> None:
    from parity.runners.daily import produce

    text, path = produce(run_dir, report, fmt, out)
    click.echo(str(path) if path is not None else (text or "").rstrip("\n"))


@report.command("daily")
@click.argument("run_ref", metavar="RUN")
@click.option("--date", "day", default=None, help="Trading date YYYY-MM-DD [default: last bar's].")
@_FORMAT
@_OUT
@runs_dir_option
def report_daily(
    run_ref: str, day: str | None, fmt: str, out: Path | None, runs_dir: Path
) -> None:
    """Daily report of RUN (live or finished): portfolio, the day's trades and P&L,
    performance to date, backtest vs live, action items."""
    from parity.cli.risk import find_run_dir
    from parity.reports.daily import parse_day
    from parity.runners.daily import make_report

    when = parse_day(day) if day else None
    run_dir = find_run_dir(run_ref, runs_dir)
    _emit(run_dir, make_report(run_dir, "daily", day=when), fmt, out)


@report.command("weekly")
@click.argument("run_ref", metavar="RUN")
@click.option("--week", default=None, help="ISO week YYYY-Www [default: the last bar's week].")
@click.option("--date", "day", default=None, help="Any date YYYY-MM-DD of the week instead.")
@_FORMAT
@_OUT
@runs_dir_option
def report_weekly(
    run_ref: str, week: str | None, day: str | None, fmt: str, out: Path | None, runs_dir: Path
) -> None:
    """Weekly report of RUN: the daily sections over an ISO week, a per-day breakdown and the
    equity chart."""
    from parity.cli.risk import find_run_dir
    from parity.errors import ConfigError
    from parity.reports.daily import parse_day
    from parity.reports.weekly import parse_week
    from parity.runners.daily import make_report

    if week and day:
        raise ConfigError("give --week or --date, not both (e.g. --week 2013-W41)")
    iso = parse_week(week) if week else None
    when = parse_day(day) if day else None
    run_dir = find_run_dir(run_ref, runs_dir)
    _emit(run_dir, make_report(run_dir, "weekly", day=when, week=iso), fmt, out)
