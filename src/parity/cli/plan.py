"""`parity plan`: trade plan files (`example`, `check`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from parity.cli._base import ParityGroup, backtest_options, cli, json_option, runs_dir_option
from parity.cli.risk import risk_options


@cli.group("plan", cls=ParityGroup)
def plan_group() -> None:
    """Trade plan files for the `plan` strategy (`parity run backtest plan --param plan=...`)."""


@plan_group.command("example")
@click.option("--month", default="2012-09", show_default=True, help="Month of the plan (YYYY-MM).")
@click.option("--date", "day", default=None, help="Only this day (YYYY-MM-DD), e.g. for cron.")
@click.option("--data", default="sample", show_default=True, help="Bars the plan is made from.")
@click.option("--symbols", default="AAPL,GOOG,IBM,MSFT", show_default=True, help="Comma-separated.")
@click.option("--seed", type=int, default=7, show_default=True, help="The coin's seed.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("trade_plan.csv"),
    show_default=True,
    help="The plan file (with --per-day: a directory of YYYY-MM-DD.csv).",
)
@click.option("--per-day", is_flag=True, help="One file a session, as a daily pipeline writes.")
def example_cmd(
    month: str, day: str | None, data: str, symbols: str, seed: int, out: Path, per_day: bool
) -> None:
    """Write a seeded example plan (an example pipeline, not a model), each day's rows from
    the bars up to that day only."""
    from parity.config import parse_date, parse_symbols
    from parity.runners.plan import month_bounds, write_example_plan

    if day:
        first = last = parse_date(day, "--date")
    else:
        first, last = month_bounds(month)
    assert first is not None and last is not None
    rows = write_example_plan(
        out, data=data, symbols=parse_symbols(symbols), first=first, last=last, seed=seed,
        per_day=per_day,
    )  # fmt: skip
    click.echo(f"wrote {rows} rows ({first}..{last}, seed {seed}) to {out}")


@plan_group.command("check")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--symbols", default=None, help="The run's symbols: a row naming another fails.")
def check_cmd(path: Path, symbols: str | None) -> None:
    """Validate a plan file: one line naming the file, line, column, value and fix if bad."""
    from parity.config import parse_symbols
    from parity.runners.plan import check_plan

    rows = check_plan(path, parse_symbols(symbols) if symbols else None)
    days = sorted({r.date for r in rows})
    click.echo(f"{path}: {len(rows)} rows, {len(days)} days ({days[0]}..{days[-1]}), valid")


@plan_group.command("replay")
@click.option("--month", required=True, help="The month to replay (YYYY-MM).")
@click.option(
    "--plans",
    "plans_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of one plan per day: DIR/YYYY-MM-DD.csv.",
)
@click.option(
    "--generator",
    default=None,
    help='Command run for each trading day, e.g. "python make_plan.py --date {date} --data '
    '{data} --out {out}" ({data}: the bars up to that day).',
)
@backtest_options
@risk_options
@runs_dir_option
@json_option
@click.pass_context
def replay_cmd(ctx: click.Context, **values: Any) -> None:
    """Replay a month of daily plans on one account; writes replay.json and replay.html."""
    import json

    from parity.cli.run import backtest_config
    from parity.reports.replay import replay_lines
    from parity.runners.replay import replay_month

    values = {**values, "params": ()}
    config = backtest_config(ctx, values)
    result = replay_month(
        config, values["month"], plans_dir=values["plans_dir"], generator=values["generator"]
    )
    if values["as_json"]:
        click.echo(json.dumps(result.summary))
        return
    for line in replay_lines(result.summary):
        click.echo(line)
    click.echo(f"run {result.run_id} written to {result.run_dir} (replay.json, replay.html)")
