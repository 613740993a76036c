"""`parity venue serve`: run the local Alpaca-compatible paper venue."""

from __future__ import annotations

import shlex
import signal
import threading
from types import FrameType
from typing import Any

import click

from parity.cli._base import ParityGroup, cash_option, cli, cost_options
from parity.cli.venue_options import venue_option_flags, venue_option_terms


@cli.group(cls=ParityGroup)
def venue() -> None:
    """The local Alpaca-compatible paper venue (offline rehearsal)."""


def paste_lines(server: Any, key: str, secret: str, symbols: str, timeframe: str) -> list[str]:
    """The `export APCA_...` lines `parity run paper --venue alpaca` (and `--resume`) read,
    ready to paste into another shell, and the command to run there."""
    q = shlex.quote
    variables = {
        "APCA_API_KEY_ID": key,
        "APCA_API_SECRET_KEY": secret,
        "APCA_API_BASE_URL": server.base_url,
        "APCA_API_DATA_URL": server.base_url,
        "APCA_API_STREAM_URL": server.trading_stream_url,
        "APCA_DATA_STREAM_URL": server.data_stream_url,
    }
    return [
        "parity run paper --venue alpaca (and --resume RUN) in another shell: paste",
        *(f"  export {name}={q(value)}" for name, value in variables.items()),
        f"  parity run paper sma_cross --venue alpaca --symbols {q(symbols)} "
        f"--timeframe {timeframe}",
    ]


def _speed(text: str) -> float | None:
    from parity.errors import ConfigError

    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"--speed {text!r} is not understood; use max or a number like 60"
        ) from None
    if not value > 0:
        raise ConfigError(f"--speed {text} must be > 0 (or max)")
    return value


@venue.command("serve")
@click.option("--data", default="sample:minute", help="Bar source (as for `run backtest`).")
@click.option("--symbols", default="IBM", help="Comma-separated symbols to replay.")
@click.option("--timeframe", default=None, help="Resample the data first (default: native).")
@click.option("--host", default="127.0.0.1", help="Interface to listen on.")
@click.option("--port", type=int, default=8765, help="Port (0 = any free port).")
@click.option(
    "--speed",
    default="max",
    help="max = lock-step on the client's /parity/v1/ack; N = N times real time.",
)
@cash_option
@cost_options
@click.option("--latency", "latency_ms", type=int, default=0, help="Order latency in ms.")
@venue_option_flags("option")
@click.option(
    "--volume-share", type=float, default=1.0, help="Max share of a bar's volume per fill."
)
@click.option("--from", "start_date", default=None, help="First date of data (YYYY-MM-DD).")
@click.option("--to", "end_date", default=None, help="Last date of data (YYYY-MM-DD).")
@click.option(
    "--start", default=None, help="ISO New York time of the first streamed bar (earlier = history)."
)
@click.option("--key-id", default=None, help="Require this API key id (default: any key).")
@click.option("--secret-key", default=None, help="Require this secret (with --key-id).")
@click.option("--ack-timeout", type=float, default=10.0, help="Lock-step: seconds to wait per ack.")
@click.option("--exit-when-done", is_flag=True, help="Stop once every bar has been published.")
def serve(
    data: str,
    symbols: str,
    timeframe: str | None,
    host: str,
    port: int,
    speed: str,
    cash: float,
    commission: str,
    slippage: str,
    latency_ms: int,
    volume_share: float,
    start_date: str | None,
    end_date: str | None,
    start: str | None,
    key_id: str | None,
    secret_key: str | None,
    ack_timeout: float,
    exit_when_done: bool,
    **option_terms: Any,
) -> None:
    """Replay bars through a local Alpaca-compatible server that alpaca-py talks to unchanged."""
    from parity.config import parse_date, parse_symbols
    from parity.costs import cost_model
    from parity.errors import ConfigError
    from parity.feeds.loader import load_bars
    from parity.timeframe import parse_timeframe
    from parity.venue import VenueConfig, VenueServer

    terms = venue_option_terms(option_terms, "option")
    if (key_id is None) != (secret_key is None):
        raise ConfigError("give both --key-id and --secret-key, or neither")
    loaded = load_bars(
        data,
        parse_symbols(symbols),
        timeframe=parse_timeframe(timeframe) if timeframe else None,
        start=parse_date(start_date, "--from"),
        end=parse_date(end_date, "--to"),
    )
    config = VenueConfig(
        data=loaded,
        speed=_speed(speed),
        costs=cost_model(commission, slippage),
        latency_ms=latency_ms,
        volume_share=volume_share,
        cash=cash,
        start=start,
        keys=(key_id, secret_key) if key_id is not None and secret_key is not None else None,
        ack_timeout=ack_timeout,
        option_chain=terms.chain(),
        option_costs=terms.costs(),
        option_fee_report=terms.fee_report or "per_fill",
    )
    server = VenueServer(config, host=host, port=port)
    server.start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    key, secret = config.keys or ("KEY", "SECRET")
    status = server.status()
    click.echo(
        f"parity venue on {server.base_url}: {status['steps']} steps of "
        f"{','.join(s.symbol for s in loaded.series)} from {loaded.source} "
        f"({'lock-step' if config.speed is None else f'{config.speed:g}x real time'})"
    )
    click.echo(f"  REST (trading + market data): {server.base_url}")
    click.echo(f"  trading stream:               {server.trading_stream_url}")
    click.echo(f"  market-data stream:           {server.data_stream_url}")
    click.echo(f"  lock-step ack:                POST {server.base_url}/parity/v1/ack")
    click.echo("alpaca-py:")
    click.echo(
        f'  TradingClient("{key}", "{secret}", paper=True, url_override="{server.base_url}")'
    )
    click.echo(
        f'  StockHistoricalDataClient("{key}", "{secret}", url_override="{server.base_url}")'
    )
    click.echo(
        f'  TradingStream("{key}", "{secret}", paper=True, '
        f'url_override="{server.trading_stream_url}")'
    )
    click.echo(f'  StockDataStream("{key}", "{secret}", url_override="{server.data_stream_url}")')
    symbols_text = ",".join(s.symbol for s in loaded.series)
    bar = parse_timeframe(timeframe).name if timeframe else "1Min"
    for line in paste_lines(server, key, secret, symbols_text, bar):
        click.echo(line)
    click.echo("Ctrl+C stops.", err=True)
    try:
        while not stop.is_set():
            if exit_when_done and server.finished:
                break
            stop.wait(0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    click.echo("parity venue stopped", err=True)
