"""`parity run backtest`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from parity.cli._base import (
    ParityGroup,
    ambiguity_options,
    backtest_options,
    calendar_options,
    cli,
    cost_options,
    fill_options,
    json_option,
    runs_dir_option,
    say,
)
from parity.cli.alerts import alert_options, alerts_from_flags
from parity.cli.options import iv_mults, option_flags, overrides_from_flags, sensitivity_table
from parity.cli.risk import limits_from_flags, risk_options
from parity.cli.venue_options import venue_option_flags, venue_option_terms
from parity.venues.registry import DEFAULT_VENUE, venue_names, venues_help


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
    "latency_ms": "latency_ms",
    "volume_share": "volume_share",
    "adjusted": "adjustment",
    "runs_dir": "runs_dir",
    "calendar": "calendar",
    "session": "session",
    "ambiguous": "ambiguous",
    "finer": "finer",
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
        "adjusted": lambda v: "all" if v else "raw",
    }
    given: dict[str, Any] = {}
    for option, field in _FLAG_FIELDS.items():
        source = ctx.get_parameter_source(option)
        if source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None):
            continue
        value = values[option]
        given[field] = convert.get(option, lambda v: v)(value)
    return given


def backtest_config(ctx: click.Context, values: dict[str, Any]) -> Any:
    """The `BacktestConfig` of a command with `backtest_options` and `risk_options`: defaults,
    overridden by the `--config` run file, overridden by the flags given."""
    from parity.config import build_config, read_run_file
    from parity.strategies.params import parse_param_pairs

    file_values = read_run_file(values["config_file"]) if values["config_file"] else {}
    flags = _given_flags(ctx, values)
    if values["params"]:
        flags["params"] = parse_param_pairs(values["params"])
    if values["no_preload"]:
        flags["preload"] = False
    risk = limits_from_flags(values, file_values.get("risk"))
    if risk is not None:
        flags["risk"] = risk
    return build_config(file_values, flags)


class _Progress:
    """A click progress bar on stderr, only on a terminal; costs one compare per bar otherwise."""

    def __init__(self, enabled: bool | None, label: str = "backtest") -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.label = label
        self.bar: Any = None
        self.done = 0

    def factory(self, total: int) -> Callable[[int], None]:
        self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
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
@backtest_options
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr [default: when stderr is a terminal].",
)
@option_flags
@risk_options
@runs_dir_option
@json_option
@click.pass_context
def run_backtest_cmd(ctx: click.Context, **values: Any) -> None:
    """Backtest STRATEGY (default sma_cross; or path/to/file.py:ClassName) on historical bars."""
    from parity.reports.text import metrics_table
    from parity.runners.backtest import run_backtest

    config = backtest_config(ctx, values)
    results = []
    for mult in iv_mults(values):  # several --iv-mult values: one run each, side by side
        progress = _Progress(values["progress"])
        try:
            result = run_backtest(
                config,
                progress=progress.factory if progress.enabled else None,
                on_warning=lambda text: say(f"warning: {text}"),
                options=overrides_from_flags(values, mult),
            )
        finally:
            progress.close()
        _print_run(result, values["as_json"], metrics_table)
        results.append((mult, result))
    if len(results) > 1 and not values["as_json"]:
        click.echo(sensitivity_table(results))


def _parse_speed(text: str) -> float | None:
    from parity.errors import ConfigError

    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise ConfigError(f"--speed {text!r} must be max or a positive number, e.g. 60") from None
    if not speed > 0:
        raise ConfigError(f"--speed {text!r} must be max or a positive number, e.g. 60")
    return speed


def _parse_until(text: str | None) -> Any:
    import datetime as dt

    from parity.errors import ConfigError

    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--until {text!r} is not a time; use YYYY-MM-DDTHH:MM (the exchange's time)"
        ) from None


@run.command("paper")
@click.argument("strategy", required=False, default="sma_cross")
@click.option("--symbols", default=None, help="Comma-separated symbols, e.g. AAPL,MSFT.")
@click.option("--timeframe", default="1Min", help="1Min, 5Min, 15Min, 1Hour or 1Day.")
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Strategy parameter, repeatable.",
)
@click.option(
    "--venue",
    type=click.Choice(venue_names()),
    default=DEFAULT_VENUE,
    help=venues_help(),
)
@click.option(
    "--data", default="sample:minute", help="Bars the local venue replays (any backtest source)."
)
@click.option("--from", "start", default=None, help="Local venue: first date to replay.")
@click.option("--to", "end", default=None, help="Local venue: last date to replay.")
@click.option(
    "--speed",
    default="max",
    help="Local venue: max (lock-step, deterministic) or N times real time.",
)
@click.option(
    "--until",
    default=None,
    help="Stop at this time on the exchange's clock (YYYY-MM-DDTHH:MM; IST for .NS symbols).",
)
@click.option(
    "--cash",
    type=float,
    default=None,
    help="Capital the strategy may use [default: account cash; local 100000].",
)
@cost_options
@fill_options
@ambiguity_options
@calendar_options
@option_flags
@venue_option_flags("venue-option")
@click.option(
    "--backfill",
    type=click.IntRange(min=0),
    default=0,
    help="Warm-up bars read from history before streaming (no orders on them).",
)
@click.option(
    "--existing",
    type=click.Choice(["refuse", "adopt", "flatten"]),
    default="refuse",
    help="Positions the account already holds in these symbols.",
)
@click.option("--flatten-on-exit", is_flag=True, help="Close this run's positions when it stops.")
@click.option(
    "--validate-only", is_flag=True, help="Check keys, account, clock and symbols; trade nothing."
)
@click.option(
    "--dry-run", is_flag=True, help="Live data and decisions, simulated fills; no order is sent."
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=1),
    default=30.0,
    help="--venue sim: seconds between polls.",
)
@click.option(
    "--resume",
    "resume_ref",
    default=None,
    metavar="RUN",
    help="Continue a crashed run: reconcile journal and venue, then go on.",
)
@click.option(
    "--continue",
    "continue_ref",
    default=None,
    metavar="RUN",
    help="Continue a cleanly stopped run on a later day (same account, journal and open "
    "brackets), with the --param values and --to given now.",
)
@click.option(
    "--adopt",
    is_flag=True,
    help="With --resume: on an unexplained mismatch take the venue's state.",
)
@click.option("--run-id", default=None, help="Id for a new run [default: generated].")
@click.option(
    "--divergence-check",
    is_flag=True,
    help="At each session end compare with the backtest twin on the bars received "
    "(re-runs the strategy in-process) and journal the figures.",
)
@click.option(
    "--daily-reports/--no-daily-reports",
    default=True,
    help="Write a daily report (RUN_DIR/reports/daily-DATE.*) at each session close.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar of a replay (the local venue) on stderr [default: when stderr is a "
    "terminal].",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML run file, the one `run backtest --config` reads; flags given win.",
)
@risk_options
@alert_options
@runs_dir_option
@json_option
@click.pass_context
def run_paper_cmd(ctx: click.Context, **values: Any) -> None:
    """Paper trade STRATEGY on live bars: Alpaca paper, or the local venue (--venue local)."""
    from parity.config import parse_date, parse_symbols
    from parity.reports.text import metrics_table
    from parity.runners.paper import PaperConfig, resume_paper, run_paper, validate_paper
    from parity.strategies.params import parse_param_pairs
    from parity.timeframe import parse_timeframe

    if values["resume_ref"]:
        from parity.cli.risk import find_run_dir

        run_dir = find_run_dir(values["resume_ref"], values["runs_dir"])
        urls = alerts_from_flags(values).urls  # thresholds come from the journal
        result = resume_paper(run_dir, adopt=values["adopt"], notify=say, alert_urls=urls)
        _print_run(result, values["as_json"], metrics_table, result.stopped_by)
        return
    if values["continue_ref"]:
        _continue_run(ctx, values, metrics_table)
        return
    fields: dict[str, Any] = dict(
        strategy=values["strategy"],
        params=parse_param_pairs(values["params"]),
        symbols=parse_symbols(values["symbols"]),
        timeframe=parse_timeframe(values["timeframe"]),
        venue=values["venue"],
        data=values["data"],
        start=parse_date(values["start"], "--from"),
        end=parse_date(values["end"], "--to"),
        speed=_parse_speed(values["speed"]),
        until=_parse_until(values["until"]),
        cash=values["cash"],
        commission=values["commission"],
        slippage=values["slippage"],
        latency_ms=values["latency_ms"],
        volume_share=values["volume_share"],
        backfill=values["backfill"],
        poll_seconds=values["poll_seconds"],
        existing=values["existing"],
        flatten_on_exit=values["flatten_on_exit"],
        dry_run=values["dry_run"],
        runs_dir=values["runs_dir"],
        risk=limits_from_flags(values),
        run_id=values["run_id"],
        divergence_check=values["divergence_check"],
        alerts=alerts_from_flags(values),
        daily_reports=values["daily_reports"],
        calendar=values["calendar"],
        session=values["session"],
        ambiguous=values["ambiguous"],
        finer=values["finer"],
        **_paper_options(values),
    )
    if values["config_file"]:
        fields.update(_paper_run_file(ctx, values, fields))
    config = PaperConfig(**fields)
    if values["validate_only"]:
        report = validate_paper(config, say)
        if values["as_json"]:
            click.echo(json.dumps(report, default=str))
        else:
            click.echo("validation passed: nothing was traded")
        return
    progress = _Progress(values["progress"], label="replay")
    try:
        result = run_paper(
            config, notify=say, progress=progress.factory if progress.enabled else None
        )
    finally:
        progress.close()
    _print_run(result, values["as_json"], metrics_table, result.stopped_by)


def _paper_options(values: dict[str, Any]) -> dict[str, Any]:
    """A paper run's option flags: the backtest's assumptions (`--option-*`, `--half-spread`,
    ...: what `compare`'s model twin assumes) and the local venue's own terms
    (`--venue-option-*`)."""
    from parity.errors import ConfigError

    mults = iv_mults(values)
    if len(mults) > 1:
        raise ConfigError("--iv-mult takes one value for a paper run, e.g. --iv-mult 1.1")
    out: dict[str, Any] = {}
    assumed = overrides_from_flags(values, mults[0])
    if assumed:
        out["options"] = assumed
    terms = venue_option_terms(values, "venue-option").describe()
    if terms:
        out["venue_options"] = terms
    return out


def _continue_run(ctx: click.Context, values: dict[str, Any], metrics_table: Any) -> None:
    """`run paper --continue RUN`: the strategy and venue named must be the run's."""
    from parity.cli.risk import find_run_dir
    from parity.config import parse_date
    from parity.runners.paper_continue import DayChanges, continue_paper
    from parity.strategies.params import parse_param_pairs

    def given(name: str) -> Any:
        source = ctx.get_parameter_source(name)
        return None if source in (ParameterSource.DEFAULT, None) else values[name]

    run_dir = find_run_dir(values["continue_ref"], values["runs_dir"])
    changes = DayChanges(
        params=parse_param_pairs(values["params"]),
        end=parse_date(values["end"], "--to"),
        until=_parse_until(values["until"]),
        strategy=given("strategy"),
        venue=given("venue"),
        options_setup=_paper_options(values),
    )
    urls = alerts_from_flags(values).urls
    result = continue_paper(run_dir, changes, notify=say, alert_urls=urls)
    _print_run(result, values["as_json"], metrics_table, result.stopped_by)


# PaperConfig field -> the `run paper` option that sets it (when they are named differently)
_PAPER_OPTIONS = {"latency_ms": "latency_ms", "volume_share": "volume_share"}


def _paper_run_file(
    ctx: click.Context, values: dict[str, Any], fields: dict[str, Any]
) -> dict[str, Any]:
    """The `--config` run file's values for the fields no flag set (params merged, flags
    winning), and its risk limits under the flags'."""
    from parity.config import read_run_file
    from parity.runners.paper_config import paper_file_values

    file_values = read_run_file(values["config_file"])
    taken: dict[str, Any] = {}
    for field, value in paper_file_values(file_values, say).items():
        if field == "params":
            taken["params"] = {**value, **fields["params"]}
            continue
        source = ctx.get_parameter_source(_PAPER_OPTIONS.get(field, field))
        if source in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None):
            taken[field] = value
    taken["risk"] = limits_from_flags(values, file_values.get("risk"))
    return taken


def _print_run(result: Any, as_json: bool, metrics_table: Any, ended: str = "") -> None:
    """The metrics table and where the run is, or one JSON object with `--json`."""
    if as_json:
        payload = {
            "run_id": result.run_id,
            "run_dir": str(result.run_dir),
            "metrics": result.metrics,
        }
        click.echo(json.dumps(payload))
        return
    from parity.reports.run_header import next_steps, run_header
    from parity.runstore import RunStore

    run_dir = Path(result.run_dir)
    manifest = RunStore(run_dir.parent).get(str(run_dir)).manifest
    click.echo("\n".join(run_header(manifest, result.metrics)))
    click.echo(metrics_table(result.metrics, getattr(result, "currency", None)))
    for line in getattr(result, "summary", ()):
        click.echo(line)
    click.echo(f"run {result.run_id}{f' ({ended})' if ended else ''} written to {result.run_dir}")
    click.echo("\n".join(next_steps(manifest, result.run_id, run_dir.parent)))
