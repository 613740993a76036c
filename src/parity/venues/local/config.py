"""The local venue's configuration from a paper run's: the bars it replays (`--data`, `--from`,
`--to`, at the run's timeframe when coarser than the data), its pace, fill model and cash."""

from __future__ import annotations

from typing import Any, cast

from parity.defaults import DEFAULT_CASH
from parity.engine.ambiguity import check_rule
from parity.feeds.finer import load_finer
from parity.feeds.loader import load_bars
from parity.instruments.calendars import Session
from parity.venue.config import VenueConfig, VenueOptionTerms
from parity.venues.protocol import SessionConfig

LOCAL_CASH = DEFAULT_CASH  # the local venue's account when the run gives no --cash


def venue_config(config: SessionConfig) -> VenueConfig:
    """What `VenueServer` replays for the run `config`."""
    # on the run's calendar (its zone labels the bars and sets the venue's clock) and in its
    # session: a regular-session run's venue replays no pre- or post-market bar
    session = cast(Session, config.session or "regular")
    loaded = load_bars(
        config.data, config.symbols, start=config.start, end=config.end,
        calendar=config.calendar, session=session,
    )  # fmt: skip
    if config.timeframe.seconds > loaded.series[0].timeframe.seconds:
        # the venue replays the run's bars: market data, fills and the strategy see the same
        # (resting orders match on the run's bars, as in the backtest)
        loaded = load_bars(
            config.data, config.symbols, timeframe=config.timeframe,
            start=config.start, end=config.end, calendar=config.calendar, session=session,
        )  # fmt: skip
    extra: dict[str, Any] = {"faults": config.faults} if config.faults is not None else {}
    ambiguous = check_rule(config.ambiguous)
    if ambiguous == "finer-data" and config.finer:
        extra["finer"] = load_finer(
            config.finer, list(config.symbols), than=loaded.series[0].timeframe,
            start=config.start, end=config.end, calendar=config.calendar,
        )  # fmt: skip
    if config.venue_options:
        terms = VenueOptionTerms.from_mapping(config.venue_options)
        extra["option_chain"], extra["option_costs"] = terms.chain(), terms.costs()
        extra["option_fee_report"] = terms.fee_report or "per_fill"
    if config.replay_start:
        extra["start"] = config.replay_start
    return VenueConfig(
        data=loaded,
        speed=config.speed,
        costs=config.costs,
        latency_ms=config.latency_ms,
        volume_share=config.volume_share,
        cash=config.cash or LOCAL_CASH,
        ambiguous=ambiguous,
        **extra,
    )
