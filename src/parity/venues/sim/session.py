"""`PollingSession`: bars polled from a source (Yahoo by default), fills from the in-process
simulated broker, for markets the Alpaca stream does not cover."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import backtrader as bt

from parity.brokers.core import BrokerCore
from parity.brokers.sim import build_sim_broker
from parity.errors import ConfigError
from parity.venues.clock import bar_filter, exchange_now, new_york_now, run_exchange
from parity.venues.protocol import (
    FeedState,
    Finished,
    Notify,
    OnBar,
    SessionConfig,
    StreamState,
    VenueAccount,
)
from parity.venues.sim.config import SIM_CASH, Fetch, yahoo_fetch
from parity.venues.sim.feed import PollingFeed


class PollingSession:
    """Bars polled from a source (Yahoo by default), fills from the in-process simulated broker."""

    venue = "sim"
    wall_clock = True

    def __init__(
        self,
        fetch: Fetch,
        *,
        poll_seconds: float,
        until: dt.datetime | None = None,
        now: Callable[[], dt.datetime] = new_york_now,
    ) -> None:
        self.fetch = fetch
        self.poll_seconds = poll_seconds
        self.until = until
        self.now = now
        self.warnings: list[str] = []
        self.notify: Notify = lambda _m: None

    @classmethod
    def yahoo(
        cls, config: SessionConfig, now: Callable[[], dt.datetime] | None = None
    ) -> PollingSession:
        """Yahoo's bars labelled in the run's exchange zone, on that exchange's wall clock
        (`now`, naive exchange time: tests pass a simulated one)."""
        zone = run_exchange(config).timezone
        return cls(
            yahoo_fetch(config.timeframe, zone),
            poll_seconds=config.poll_seconds,
            until=config.until,
            now=now or exchange_now(config),
        )

    def finished(self) -> bool:
        return self.until is not None and self.now() >= self.until

    def check(self, config: SessionConfig, notify: Notify) -> dict[str, Any]:
        found: dict[str, dict[str, Any]] = {}
        for symbol in config.symbols:
            bars = self.fetch(symbol)  # raises DataError if the source cannot be reached
            if not bars:
                notify(f"warning: symbol {symbol}: no recent bars yet (market closed? check it)")
                found[symbol] = {"bars": 0, "last": None}
                continue
            last = bars[-1].start
            notify(f"symbol {symbol}: {len(bars)} recent bars, last {last:%Y-%m-%d %H:%M}")
            found[symbol] = {"bars": len(bars), "last": last.isoformat()}
        notify(f"polling every {self.poll_seconds:g} s; fills from the simulated broker")
        return {"symbols": found}

    def broker(
        self, config: SessionConfig, core: BrokerCore, notify: Notify, *, options: Any = None
    ) -> bt.BrokerBase:
        if options is not None:
            raise ConfigError(
                "a polling feed has no option chain: run an option strategy on --venue local "
                "or --venue alpaca"
            )
        self.notify = notify
        return build_sim_broker(
            cash=config.cash or SIM_CASH, costs=config.costs, review=core.review
        )

    def feed(
        self,
        symbol: str,
        config: SessionConfig,
        on_bar: OnBar,
        finished: Finished,
        on_state: FeedState | None = None,
        *,
        live_after: dt.datetime | None = None,
        first_bar: int = 0,
    ) -> bt.DataBase:
        """The polling feed of `symbol`; a resumed or continued run's bars after `live_after`
        in the first poll are live (its numbering, `first_bar`, is the recorder's)."""
        return PollingFeed(  # type: ignore[call-arg]
            symbol=symbol,
            fetch=self.fetch,
            bar_timeframe=config.timeframe,
            poll_seconds=self.poll_seconds,
            backfill=config.backfill,
            now=self.now,
            is_finished=finished,
            on_bar=on_bar,
            on_error=lambda text: self.notify(text),
            sleep=min(0.2, self.poll_seconds),
            in_session=bar_filter(config),
            live_after=live_after,
            first_bar=first_bar,
        )

    def venue_account(self) -> VenueAccount | None:
        """None: fills are simulated in-process, the journal is the whole truth."""
        return None

    def market_open(self) -> bool:
        """A polled source has no clock: the bars say when the market trades."""
        return True

    def progress(self) -> tuple[int, int] | None:
        """Polling a market has no end to count towards."""
        return None

    def analyzers(self) -> list[tuple[type[bt.Analyzer], dict[str, Any]]]:
        return []

    def watch_streams(self, on_state: StreamState) -> None:
        """Polling has no stream to drop."""

    def start(self, config: SessionConfig, feeds: Sequence[bt.DataBase]) -> None:
        """Polling starts with the first bar request."""

    def shutdown(self, config: SessionConfig, notify: Notify) -> None:
        """The simulated broker's orders end with the run."""

    def close(self) -> None:
        """Nothing to release."""
