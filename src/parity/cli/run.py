"""`parity run backtest`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from parity.cli._base import ParityGroup, cli, json_option, runs_dir_option


@cli.group(cls=ParityGroup)
def run() -> None:
    """Run a strategy: `backtest` (historical bars, simulated broker)."""


# CLI option name -> BacktestConfig field
_FLAG_FIELDS = {
    "strategy": "strategy",
    "data": "data",
    "symbols": "symbols",
    "timeframe": "timeframe",
    "start": "start",
    "end": "end",
    "cash": "cash",
    "commission": "commission",
    "slippage": "slippage",
    "fill": "fill_at",
    "allow_short": "allow_short",
    "adjusted": "adjusted",
    "runs_dir": "runs_dir",
}


def _given_flags(ctx: click.Context, values: dict[str, Any]) -> dict[str, Any]:
    """Flags the user actually set (so a run file's value is not overridden by a default)."""
    from parity.config import parse_date, parse_symbols
    from parity.timeframe import parse_timeframe

    convert: dict[str, Callable[[Any], Any]] = {
        "symbols": parse_symbols,
        "timeframe": lambda v: parse_timeframe(v) if v else None,
        "start": lambda v: parse_date(v, "--from"),
        "end": lambda v: parse_date(v, "--to"),
    }
    given: dict[str, Any] = {}
    for option, field in _FLAG_FIELDS.items():
        source = ctx.get_parameter_source(option)
        if source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None):
            continue
        value = values[option]
        given[field] = convert.get(option, lambda v: v)(value)
    return given


class _Progress:
    """A click progress bar on stderr, only on a terminal; costs one compare per bar otherwise."""

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar: Any = None
        self.done = 0

    def factory(self, total: int) -> Callable[[int], None]:
        self.bar = click.progressbar(length=total, label="backtest", file=sys.stderr)
        self.bar.__enter__()

        def update(done: int) -> None:
            self.bar.update(done - self.done)
            self.done = done

        return update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.length - self.done)
            self.bar.__exit__(None, None, None)


@run.command("backtest")
@click.argument("strategy", required=False, default="sma_cross")
@click.option(
    "--data",
    default="sample",
    help="sample, sample:minute, yahoo, a CSV/parquet file, a directory of SYMBOL.csv, "
    "or a path template with {symbol}.",
)
@click.option("--symbols", default=None, help="Comma-separated symbols [default: IBM for sample]")
@click.option(
    "--timeframe",
    default=None,
    help="1Day, 1Hour, 15Min, 5Min or 1Min [default: the "
    "data's own]; coarser than the data resamples it.",
)
@click.option("--from", "start", default=None, help="First date, YYYY-MM-DD (inclusive).")
@click.option("--to", "end", default=None, help="Last date, YYYY-MM-DD (inclusive).")
@click.option("--cash", type=float, default=100_000.0, help="Starting cash.")
@click.option(
    "--commission",
    default="0",
    help="0, 0.005/share, 0.1%, 10bps; add ,min=1 for a minimum per order.",
)
@click.option("--slippage", default="5bps", help="0, 5bps, 0.05% or 0.01/share, against you.")
@click.option(
    "--fill",
    type=click.Choice(["open", "close"]),
    default="open",
    help="Market orders fill at the next bar's open or the decision bar's close.",
)
@click.option("--allow-short/--no-short", default=False, help="Allow sells that open shorts.")
@click.option("--adjusted/--raw", default=False, help="Use split/dividend-adjusted prices.")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Strategy parameter, repeatable (see `parity strategies`).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML run file; flags given on the command line win.",
)
@click.option(
    "--no-preload",
    is_flag=True,
    help="Feed bars one at a time as live mode does (slower; same results).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr [default: when stderr is a terminal].",
)
@runs_dir_option
@json_option
@click.pass_context
def run_backtest_cmd(ctx: click.Context, **values: Any) -> None:
    """Backtest STRATEGY (default sma_cross; or path/to/file.py:ClassName) on historical bars."""
    from parity.config import build_config, read_run_file
    from parity.reports.text import metrics_table
    from parity.runners.backtest import run_backtest
    from parity.strategies.params import parse_param_pairs

    file_values = read_run_file(values["config_file"]) if values["config_file"] else {}
    flags = _given_flags(ctx, values)
    if values["params"]:
        flags["params"] = parse_param_pairs(values["params"])
    if values["no_preload"]:
        flags["preload"] = False
    config = build_config(file_values, flags)
    progress = _Progress(values["progress"])
    try:
        result = run_backtest(
            config,
            progress=progress.factory if progress.enabled else None,
            on_warning=lambda text: click.echo(f"warning: {text}", err=True),
        )
    finally:
        progress.close()
    if values["as_json"]:
        payload = {
            "run_id": result.run_id,
            "run_dir": str(result.run_dir),
            "metrics": result.metrics,
        }
        click.echo(json.dumps(payload))
        return
    click.echo(metrics_table(result.metrics))
    click.echo(f"run {result.run_id} written to {result.run_dir}")
