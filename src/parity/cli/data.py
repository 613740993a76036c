"""`parity data synthetic`: seeded bars on an exchange calendar, for examples and rehearsals of
markets whose vendor data parity does not ship (NSE 5-minute bars in IST, 24/7 crypto)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from parity.cli._base import ParityGroup, cli


@cli.group("data", cls=ParityGroup)
def data() -> None:
    """Bar files: `synthetic` writes seeded bars on an exchange's calendar."""


@data.command("synthetic")
@click.option("--symbol", required=True, help="The symbol the file is for, e.g. RELIANCE.NS.")
@click.option(
    "--calendar", default=None, help="Exchange calendar [default: the symbol's own: XNSE for .NS]."
)
@click.option("--timeframe", default="5Min", show_default=True, help="1Min, 5Min, ... or 1Day.")
@click.option("--from", "start", required=True, help="First date, YYYY-MM-DD (inclusive).")
@click.option("--to", "end", required=True, help="Last date, YYYY-MM-DD (inclusive).")
@click.option("--price", type=click.FloatRange(min=0.01), default=100.0, show_default=True)
@click.option(
    "--volatility",
    type=click.FloatRange(min=0.0, max=0.2),
    default=0.002,
    show_default=True,
    help="Standard deviation of one bar's log return.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same bars.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def synthetic_cmd(**values: Any) -> None:
    """Write seeded OHLCV bars for every session of the calendar, stamped with the exchange's
    UTC offset (`2024-01-01 09:15:00+05:30`), as a vendor export in its zone would be."""
    from parity.config import parse_date
    from parity.errors import ConfigError
    from parity.feeds.loader import run_calendar
    from parity.feeds.synthetic import session_bars, write_session_bars
    from parity.timeframe import parse_timeframe

    symbol = values["symbol"].strip().upper()
    calendar = run_calendar([symbol], values["calendar"])
    first, last = parse_date(values["start"], "--from"), parse_date(values["end"], "--to")
    if first is None or last is None or first > last:
        raise ConfigError(f"--from {values['start']} is after --to {values['end']}; swap them")
    timeframe = parse_timeframe(values["timeframe"])
    frame = session_bars(
        calendar, first, last, timeframe,
        seed=values["seed"], price=values["price"], volatility=values["volatility"],
    )  # fmt: skip
    if frame.empty:
        raise ConfigError(f"no {calendar.name} session from {first} to {last}; widen --from/--to")
    path = write_session_bars(frame, values["out"], calendar)
    click.echo(
        f"{len(frame):,} {timeframe.name} bars of {symbol} on {calendar.name} "
        f"({frame.index[0]:%Y-%m-%d %H:%M}..{frame.index[-1]:%Y-%m-%d %H:%M} "
        f"{calendar.timezone}) written to {path}"
    )
