"""The `parity` click group, its error mapping and the options shared by several commands."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from parity import __version__
from parity.errors import ParityError

CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


class _Failure(click.ClickException):
    """A one-line error with parity's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        # one line, whatever the exception text held; a JSON line with --log-json
        from parity.logs import console_is_json

        text = " ".join(self.format_message().split())
        if console_is_json():
            import logging

            logging.getLogger("parity.cli").error(text, extra={"exit_code": self.exit_code})
        else:
            click.echo(f"error: {text}", err=True)


class ParityGroup(click.Group):
    """Maps `ParityError` to its exit code and one line; other errors to exit 1 (`--debug` shows
    the traceback of either)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # a closed pipe (`parity ... | head`): click ends quietly
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
@click.option(
    "--log-json",
    is_flag=True,
    envvar="PARITY_LOG_JSON",
    help="Log JSON lines (console, --log-file and a paper run's log) instead of human lines.",
)
@click.option(
    "--log-level",
    default="info",
    envvar="PARITY_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    help="Least severe level logged.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="PARITY_LOG_FILE",
    help="Also log to this file, rotated at 10 MB (5 kept).",
)
@click.version_option(__version__, prog_name="parity")
@click.pass_context
def cli(
    ctx: click.Context, debug: bool, log_json: bool, log_level: str, log_file: Path | None
) -> None:
    """parity: run one Backtrader strategy as a backtest and as paper trading, and compare."""
    from parity.logs import configure_logging

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure_logging(as_json=log_json, level="debug" if debug else log_level, file=log_file)


def runs_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--runs-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default="runs",
        envvar="PARITY_RUNS_DIR",
        help="Directory holding run directories (env PARITY_RUNS_DIR).",
    )(func)


def cost_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--commission` and `--slippage`, declared once with the same defaults for every command
    that simulates fills (backtest, paper, the local venue, training)."""
    from parity.defaults import DEFAULT_COMMISSION, DEFAULT_SLIPPAGE

    func = click.option(
        "--slippage",
        default=DEFAULT_SLIPPAGE,
        help="Simulated fills: 0, 5bps, 0.05% or 0.01/share, against you.",
    )(func)
    return click.option(
        "--commission",
        default=DEFAULT_COMMISSION,
        help="Simulated fills: 0, 0.005/share, 0.1%, 10bps; add ,min=1 for a minimum per order.",
    )(func)


def fill_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--latency` and `--volume-share`, declared once: the same fill model prices a backtest's
    fills and the local venue's."""
    func = click.option(
        "--volume-share",
        type=click.FloatRange(0, 1, min_open=True),
        default=1.0,
        help="Simulated fills: max share of a bar's volume one fill takes; the rest fills on "
        "later bars.",
    )(func)
    return click.option(
        "--latency",
        "latency_ms",
        type=click.IntRange(min=0),
        default=0,
        help="Simulated fills: ms after its decision bar's end before an order can fill.",
    )(func)


def ambiguity_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--ambiguous` and `--finer`: which exit fills on a bar reaching both exits of a bracket,
    the same rule for a backtest and the local venue."""
    func = click.option(
        "--finer",
        default=None,
        metavar="SOURCE",
        help="Bars finer than the run's (e.g. a directory of hourly SYMBOL.csv) that "
        "--ambiguous finer-data reads.",
    )(func)
    return click.option(
        "--ambiguous",
        type=click.Choice(["stop-first", "target-first", "finer-data"]),
        default=None,
        help="A bar reaching a bracket's take-profit and stop-loss: the stop fills, the target "
        "fills, or the finer bars (--finer) decide [default: the exit placed first, as "
        "Backtrader: a buy_bracket's and the plan strategy's stop-loss].",
    )(func)


def cash_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--cash`, the starting cash of a simulated account."""
    from parity.defaults import DEFAULT_CASH

    return click.option("--cash", type=float, default=DEFAULT_CASH, help="Starting cash.")(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(func)


def say(text: str) -> None:
    """An operator message of a long-running command, through the `parity.run` logger (so it
    reaches the console, `--log-file` and the run's log in the chosen format). A message that
    starts with `warning: ` is logged at WARNING, one that starts with `debug: ` (routine: a
    feed going live, each daily report written) as routine: kept in the log files, shown on
    the console with `--log-level debug`."""
    import logging

    from parity.logs import ROUTINE

    log = logging.getLogger("parity.run")
    if text.startswith("warning: "):
        log.warning(text.removeprefix("warning: "))
    elif text.startswith("debug: "):
        log.info(text.removeprefix("debug: "), extra=ROUTINE)
    else:
        log.info(text)


def calendar_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--calendar` and `--session`, the same for a backtest and a paper run."""
    command = click.option(
        "--session",
        type=click.Choice(["regular", "extended"]),
        default=None,
        help="Intraday bars traded: regular (inside the calendar's session) or extended (every "
        "bar of the data, pre- and post-market too) [default: the strategy's `session`, else "
        "regular].",
    )(command)
    return click.option(
        "--calendar",
        default=None,
        help="Exchange calendar (XNYS, XNSE, 24/7, ...) [default: the symbols' own: XNYS for US "
        "listings, XNSE for .NS, 24/7 for crypto pairs].",
    )(command)


def backtest_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """What a backtest runs on, declared once for every command that backtests (`run backtest`,
    `optimize`, `walk-forward`): the data options, cash, costs, fills, calendar and session,
    prices, fixed strategy params, the run file and `--no-preload`."""
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option(
            "--data",
            default="sample",
            help="sample, sample:minute, yahoo, a CSV/parquet file, a directory of SYMBOL.csv, "
            "or a path template with {symbol}.",
        ),
        click.option(
            "--symbols", default=None, help="Comma-separated symbols [default: IBM for sample]"
        ),
        click.option(
            "--timeframe",
            default=None,
            help="1Day, 1Hour, 15Min, 5Min or 1Min [default: the "
            "data's own]; coarser than the data resamples it.",
        ),
        click.option("--from", "start", default=None, help="First date, YYYY-MM-DD (inclusive)."),
        click.option("--to", "end", default=None, help="Last date, YYYY-MM-DD (inclusive)."),
        cash_option,
        cost_options,
        click.option(
            "--fill",
            type=click.Choice(["open", "close"]),
            default="open",
            help="Market orders fill at the next bar's open or the decision bar's close.",
        ),
        click.option(
            "--allow-short/--no-short", default=False, help="Allow sells that open shorts."
        ),
        fill_options,
        ambiguity_options,
        calendar_options,
        click.option(
            "--adjusted/--raw",
            default=None,
            help="Prices adjusted for splits and dividends (from adj_close), or raw prices "
            "[default: adjusted for splits where the data says where they are].",
        ),
        click.option(
            "--param",
            "-p",
            "params",
            multiple=True,
            metavar="NAME=VALUE",
            help="Strategy parameter, repeatable (see `parity strategies`).",
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="YAML run file; flags given on the command line win.",
        ),
        click.option(
            "--no-preload",
            is_flag=True,
            help="Feed bars one at a time as live mode does (slower; same results).",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func
