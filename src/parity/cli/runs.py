"""`parity runs list` and `parity runs show`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from parity.cli._base import ParityGroup, cli, json_option, runs_dir_option


@cli.group(cls=ParityGroup)
def runs() -> None:
    """List and inspect runs."""


@runs.command("list")
@runs_dir_option
@json_option
def runs_list(runs_dir: Path, as_json: bool) -> None:
    """List the runs in the runs directory, oldest first."""
    from parity.reports.text import format_metric, table
    from parity.runstore import RunStore

    records = RunStore(runs_dir).runs()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "run_id": r.run_id,
                        "run_dir": str(r.path),
                        "mode": r.manifest.mode,
                        "strategy": r.manifest.strategy.name,
                        "metrics": r.metrics,
                    }
                    for r in records
                ]
            )
        )
        return
    if not records:
        click.echo(f"no runs in {runs_dir}; start with `parity run backtest`")
        return
    rows = []
    for r in records:
        m, man = r.metrics, r.manifest
        rows.append(
            [
                r.run_id,
                man.mode,
                man.strategy.name or "?",
                ",".join(man.symbols),
                man.timeframe or "",
                f"{(man.start or '')[:10]}..{(man.end or '')[:10]}",
                format_metric("total_return", m.get("total_return")),
                format_metric("sharpe", m.get("sharpe")),
                format_metric("max_drawdown", m.get("max_drawdown")),
                format_metric("trades", m.get("trades")),
            ]
        )
    headers = [
        "run",
        "mode",
        "strategy",
        "symbols",
        "tf",
        "period",
        "return",
        "sharpe",
        "max dd",
        "trades",
    ]
    click.echo(table(headers, rows))


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
@json_option
def runs_show(run_ref: str, runs_dir: Path, as_json: bool) -> None:
    """Show RUN (an id, a unique id prefix, `latest`, or a run directory)."""
    from parity.instruments.calendars import manifest_calendar
    from parity.instruments.money import format_money, run_currency
    from parity.reports.text import metrics_table
    from parity.runstore import RunStore

    record = RunStore(runs_dir).get(run_ref)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_id": record.run_id,
                    "run_dir": str(record.path),
                    "manifest": record.manifest.to_dict(),
                    "metrics": record.metrics,
                }
            )
        )
        return
    man = record.manifest
    currency = run_currency(man)
    calendar = manifest_calendar(man)
    lines = [
        f"run       {record.run_id}",
        f"dir       {record.path}",
        f"mode      {man.mode} ({man.venue})",
        f"strategy  {man.strategy.name} {json.dumps(dict(man.params), default=str)}",
        f"data      {man.data.get('source')} {','.join(man.symbols)} "
        f"{man.timeframe} {str(man.start)[:10]}..{str(man.end)[:10]}",
        f"costs     commission {man.commission}, slippage {man.slippage}, "
        f"fill at {man.fill_at}, cash {format_money(man.cash or 0.0, currency)}",
        f"market    {calendar.name} calendar, bars in {calendar.timezone} time, money in "
        f"{currency}, annualised over {calendar.annualisation.convention}",
    ]
    click.echo("\n".join(lines))
    click.echo(metrics_table(record.metrics, currency))
    options = record.metrics.get("options")
    if isinstance(options, dict) and "costs" in options:  # a run of the options desk
        from parity.options.setup import results_line

        events = options.get("events") or {}
        click.echo(results_line(options))
        click.echo("option events: " + ", ".join(f"{k} {v}" for k, v in events.items()))
    files = sorted(p.name for p in record.path.iterdir() if p.is_file())
    click.echo(f"files     {', '.join(files)}")
