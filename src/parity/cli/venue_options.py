"""The local venue's own option quotes and fills, as flags: `parity venue serve --option-spread
0.05 --option-slippage 0.5% --option-commission 0.65 --option-reg-fees` and the same with a
`--venue-` prefix on `parity run paper --venue local` (where the unprefixed `--option-*` flags
are the backtest's assumptions, as on `run backtest`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from parity.venue.config import VenueOptionTerms


def venue_option_flags(prefix: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--{prefix}-spread/-tick/-slippage/-commission/-reg-fees`, stored as `{prefix}_*`."""
    key = prefix.replace("-", "_")
    venue = "the local venue's" if prefix.startswith("venue") else "the venue's"

    def add(func: Callable[..., Any]) -> Callable[..., Any]:
        flags = [
            click.option(
                f"--{prefix}-spread",
                f"{key}_spread",
                default=None,
                help=f"Half of {venue} option bid/ask, a fraction of the mid: 0.05 or 5% "
                "[default: the model chain's 0.03].",
            ),
            click.option(
                f"--{prefix}-tick",
                f"{key}_tick",
                default=None,
                help=f"Tick {venue} option quotes round outward to [default: 0.01].",
            ),
            click.option(
                f"--{prefix}-slippage",
                f"{key}_slippage",
                default=None,
                help=f"{venue.capitalize()} option fills past the ask/bid, a fraction of premium: "
                "0.5% or 50bps [default: 0].",
            ),
            click.option(
                f"--{prefix}-commission",
                f"{key}_commission",
                default=None,
                help=f"{venue.capitalize()} option commission per contract, e.g. 0.65/contract "
                "[default: the venue's cost model per contract].",
            ),
            click.option(
                f"--{prefix}-reg-fees",
                f"{key}_reg_fees",
                is_flag=True,
                default=None,
                help=f"{venue.capitalize()} option fills pay regulatory fees (ORF, OCC, TAF).",
            ),
            click.option(
                f"--{prefix}-fee-report",
                f"{key}_fee_report",
                default=None,
                help=f"How {venue} FEE activities report regulatory fees: per_fill (a row per "
                "fill naming its order) or daily (Alpaca's: a row per fee type after each "
                "close, the day's total rounded up to the cent, naming no order) "
                "[default: per_fill].",
            ),
        ]
        for flag in reversed(flags):
            func = flag(func)
        return func

    return add


def venue_option_terms(values: Mapping[str, Any], prefix: str) -> VenueOptionTerms:
    """The terms the flags of `venue_option_flags(prefix)` give (one-line errors)."""
    key = prefix.replace("-", "_")
    return VenueOptionTerms.parse(
        spread=values.get(f"{key}_spread"),
        tick=values.get(f"{key}_tick"),
        slippage=values.get(f"{key}_slippage"),
        commission=values.get(f"{key}_commission"),
        regulatory_fees=values.get(f"{key}_reg_fees") or None,
        fee_report=values.get(f"{key}_fee_report"),
        flag=f"--{prefix}",
    )
