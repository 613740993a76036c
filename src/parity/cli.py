"""`parity`: the command line. Thin: parse, build the config, call a runner, print, map errors.

Heavy modules (backtrader, pandas, quantstats) are imported inside the commands so that
`parity --help` stays fast.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from parity import __version__
from parity.errors import ParityError

CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


class _Failure(click.ClickException):
    """A one-line error with parity's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        # one line, whatever the exception text held
        click.echo(f"error: {' '.join(self.format_message().split())}", err=True)


class ParityGroup(click.Group):
    """Maps `ParityError` to its exit code and one line; other errors to exit 1 (`--debug` shows
    the traceback of either)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ParityError as exc:
            if (ctx.obj or {}).get("debug"):
                traceback.print_exc()
            raise _Failure(str(exc), exc.exit_code) from exc
        except KeyboardInterrupt:
            raise _Failure("interrupted", 130) from None
        except Exception as exc:
            if (ctx.obj or {}).get("debug"):
                traceback.print_exc()
            raise _Failure(
                f"internal error {type(exc).__name__}: {exc} (rerun with --debug for a traceback)",
                1,
            ) from exc


@click.group(cls=ParityGroup, context_settings=CONTEXT)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(__version__, prog_name="parity")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """parity: run one Backtrader strategy as a backtest and as paper trading, and compare."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def runs_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--runs-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default="runs",
        envvar="PARITY_RUNS_DIR",
        help="Directory holding run directories (env PARITY_RUNS_DIR).",
    )(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(func)


# ---------------------------------------------------------------------------------------- run


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


# --------------------------------------------------------------------------------------- runs


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
                        "mode": r.manifest.get("mode"),
                        "strategy": r.manifest.get("strategy", {}).get("name"),
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
                str(man.get("mode", "?")),
                str(man.get("strategy", {}).get("name", "?")),
                ",".join(man.get("symbols", [])),
                str(man.get("timeframe", "")),
                f"{str(man.get('start', ''))[:10]}..{str(man.get('end', ''))[:10]}",
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
    from parity.reports.text import metrics_table
    from parity.runstore import RunStore

    record = RunStore(runs_dir).get(run_ref)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_id": record.run_id,
                    "run_dir": str(record.path),
                    "manifest": record.manifest,
                    "metrics": record.metrics,
                }
            )
        )
        return
    man = record.manifest
    strategy = man.get("strategy", {})
    lines = [
        f"run       {record.run_id}",
        f"dir       {record.path}",
        f"mode      {man.get('mode')} ({man.get('venue')})",
        f"strategy  {strategy.get('name')} {json.dumps(man.get('params', {}))}",
        f"data      {man.get('data', {}).get('source')} {','.join(man.get('symbols', []))} "
        f"{man.get('timeframe')} {str(man.get('start'))[:10]}..{str(man.get('end'))[:10]}",
        f"costs     commission {man.get('commission')}, slippage {man.get('slippage')}, "
        f"fill at {man.get('fill_at')}, cash {man.get('cash'):,.2f}",
    ]
    click.echo("\n".join(lines))
    click.echo(metrics_table(record.metrics))
    files = sorted(p.name for p in record.path.iterdir() if p.is_file())
    click.echo(f"files     {', '.join(files)}")


# ------------------------------------------------------------------------------------- report


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


# --------------------------------------------------------------------------------- strategies


def _type_name(kind: Any) -> str:
    import typing

    if typing.get_origin(kind) is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(kind))
    return getattr(kind, "__name__", str(kind))


@cli.command("strategies")
def strategies_cmd() -> None:
    """List the bundled strategies and their parameters with defaults."""
    import dataclasses

    from parity.strategies.params import param_types
    from parity.strategies.registry import BUNDLED

    for name, cls in BUNDLED.items():
        defaults = {f.name: f.default for f in dataclasses.fields(cls.Params)}
        types = param_types(cls)
        params = ", ".join(f"{k}={defaults[k]} ({_type_name(types[k])})" for k in defaults)
        click.echo(f"{name:<14} {(cls.__doc__ or '').strip().splitlines()[0]}")
        click.echo(f"{'':<14} {params}")
    click.echo("user strategies: path/to/file.py:ClassName (a backtrader.Strategy subclass)")


# -------------------------------------------------------------------------------------- train


@cli.group(cls=ParityGroup)
def train() -> None:
    """Train a policy for the `policy` strategy: `ppo` (stable-baselines3, CPU)."""


@train.command("ppo")
@click.option("--data", default="sample", help="Data source, as for `parity run backtest`.")
@click.option("--symbols", default=None, help="One symbol [default: IBM for sample].")
@click.option("--from", "start", default=None, help="First date, YYYY-MM-DD (inclusive).")
@click.option("--to", "end", default=None, help="Last date, YYYY-MM-DD (inclusive).")
@click.option("--timesteps", type=click.IntRange(min=1), default=100_000, help="PPO timesteps.")
@click.option("--seed", type=int, default=0, help="Seed; the same seed gives the same weights.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Checkpoint directory [default: ./models/ppo-SYMBOL-wWINDOW-sSEED].",
)
@click.option("--window", type=int, default=20, help="Bars of price differences in the state.")
@click.option(
    "--features",
    default="returns,volume,rsi,macd,bollinger,atr,trend",
    help="Feature groups in the state.",
)
@click.option("--trade-size", type=int, default=10, help="Shares per BUY/SELL.")
@click.option("--max-position", type=int, default=40, help="Position cap in shares.")
@click.option("--cash", type=float, default=100_000.0, help="Starting cash.")
@click.option("--commission", default="0", help="0, 0.005/share, 0.1%, 10bps; ,min=1.")
@click.option("--slippage", default="5bps", help="0, 5bps, 0.05% or 0.01/share, against you.")
@click.option(
    "--reward",
    type=click.Choice(["pnl", "risk_adjusted"]),
    default="pnl",
    help="Equity change, or equity change minus a volatility penalty.",
)
@click.option("--validation", type=float, default=0.2, help="Held-out tail fraction.")
@click.option("--force", is_flag=True, help="Overwrite an existing checkpoint directory.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr [default: when stderr is a terminal].",
)
@json_option
def train_ppo_cmd(**values: Any) -> None:
    """Train a PPO agent on one symbol and write a checkpoint for `run backtest policy`."""
    from parity.config import parse_date, parse_symbols
    from parity.costs import cost_model
    from parity.models.env import TradingSetup
    from parity.models.features import FeatureSpec
    from parity.models.train import TrainConfig, train_ppo

    spec = FeatureSpec.from_dict({"window": values["window"], "features": values["features"]})
    setup = TradingSetup(
        costs=cost_model(values["commission"], values["slippage"]),
        cash=values["cash"],
        trade_size=values["trade_size"],
        max_position=values["max_position"],
        reward=values["reward"],
    )
    config = TrainConfig(
        data=values["data"],
        symbols=parse_symbols(values["symbols"]),
        start=parse_date(values["start"], "--from"),
        end=parse_date(values["end"], "--to"),
        timesteps=values["timesteps"],
        seed=values["seed"],
        out=values["out"],
        spec=spec,
        setup=setup,
        validation=values["validation"],
        force=values["force"],
    )
    enabled = sys.stderr.isatty() if values["progress"] is None else values["progress"]
    bar: Any = None
    if enabled:
        bar = click.progressbar(length=config.timesteps, label="train ppo", file=sys.stderr)
        bar.__enter__()
    done = [0]

    def update(steps: int) -> None:
        bar.update(min(steps, config.timesteps) - done[0])
        done[0] = min(steps, config.timesteps)

    try:
        result = train_ppo(config, progress=update if bar is not None else None)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if values["as_json"]:
        payload = {
            "checkpoint": str(result.checkpoint),
            "seconds": result.seconds,
            "validation": result.metadata["validation"],
        }
        click.echo(json.dumps(payload))
        return
    held_out = result.metadata["validation"].get("held_out") or {}
    click.echo(f"checkpoint {result.checkpoint} written in {result.seconds:.1f}s")
    if held_out:
        click.echo(
            f"held-out {held_out['first'][:10]}..{held_out['last'][:10]}: "
            f"return {held_out['total_return']:.2%} (buy-and-hold "
            f"{held_out['buy_and_hold_return']:.2%}), trades {held_out['trades']}"
        )
    click.echo(f"backtest it: parity run backtest policy --param checkpoint={result.checkpoint}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="parity")


if __name__ == "__main__":
    main()
