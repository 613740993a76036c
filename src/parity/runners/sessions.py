"""Paper sessions: one class per kind of venue, each knowing how to build its broker and feeds.

- `AlpacaSession`: Alpaca's paper API (keys and URL overrides from the environment).
- `LocalVenueSession`: the local Alpaca-compatible venue, started in-process, replaying bars.
- `PollingSession`: a polling feed (Yahoo) with the in-process simulated broker, for markets the
  Alpaca stream does not cover.

The runner picks one; nothing below it branches on the kind.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import backtrader as bt

from parity.brokers.core import BrokerCore
from parity.brokers.sim import build_sim_broker
from parity.errors import BrokerError, ConfigError, ParityError
from parity.feeds.live import AlpacaLiveFeed
from parity.feeds.lockstep import Lockstep, LockstepMark
from parity.stores.alpaca import AlpacaCredentials, AlpacaEndpoints, AlpacaStore
from parity.stores.types import StreamBar

if TYPE_CHECKING:
    from parity.venue.persist import VenueStore

Notify = Callable[[str], None]
OnBar = Callable[[StreamBar], None]
Finished = Callable[[], bool]


def stale_seconds(config: Any) -> float:
    """Seconds without a bar after which a live feed is stale: `stale_bars` bar lengths."""
    alerts = getattr(config, "alerts", None)
    bars = alerts.stale_bars if alerts is not None else 3
    return float(bars * config.timeframe.seconds)


def new_york_now() -> dt.datetime:
    """Naive America/New_York wall-clock time (the convention of `--until` and bar labels)."""
    return dt.datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)


class AlpacaSession:
    """Orders and bars through an `AlpacaStore` (Alpaca's paper API or any compatible venue)."""

    venue = "alpaca-paper"

    def __init__(self, store: AlpacaStore, until: dt.datetime | None = None) -> None:
        self.store = store
        self.until = until
        self.warnings: list[str] = []
        self._broker: Any = None
        self._parity_venue = False  # a parity venue (e.g. `parity venue serve`) behind the URLs
        self._replay_done = False
        self.notify: Notify = lambda _m: None
        self._market = (False, -1e9)  # (is open, when it was asked)
        self.lockstep: Lockstep | None = None

    @classmethod
    def from_env(cls, until: dt.datetime | None) -> AlpacaSession:
        return cls(AlpacaStore(AlpacaCredentials.from_env(), AlpacaEndpoints.from_env()), until)

    @property
    def wall_clock(self) -> bool:
        """Bars follow the wall clock (Alpaca), not a parity venue's replay."""
        return not self._parity_venue

    def finished(self) -> bool:
        if self._parity_venue and not self._replay_done:
            self._replay_done = bool((self.store.venue_status() or {}).get("finished"))
        return self._replay_done or (self.until is not None and new_york_now() >= self.until)

    # -------------------------------------------------------------- checks
    def check(self, config: Any, notify: Notify) -> dict[str, Any]:
        """Account status, buying power, clock and every symbol; raises on a problem."""
        store = self.store
        self.notify = notify
        account = store.account()
        clock = store.clock()
        self._parity_venue = self._parity_venue or store.venue_status() is not None
        if self._parity_venue:
            self.lockstep = Lockstep(store.venue_ack, store.venue_status)
            notify("the endpoints are a parity venue: acknowledging bars, ending with its replay")
        notify(
            f"account {account.status}: cash {account.cash:,.2f}, buying power "
            f"{account.buying_power:,.2f} {account.currency}"
        )
        notify(
            f"clock {clock.timestamp:%Y-%m-%d %H:%M} New York, market "
            f"{'open' if clock.is_open else 'closed'}"
            + (f", next open {clock.next_open:%Y-%m-%d %H:%M}" if clock.next_open else "")
        )
        if account.blocked or account.status.upper() not in ("ACTIVE", "PAPER_ONLY"):
            raise BrokerError(
                f"account status is {account.status} (blocked={account.blocked}); it cannot trade"
            )
        assets = {}
        for symbol in config.symbols:
            asset = store.asset(symbol)
            if asset is None:
                raise ConfigError(f"symbol {symbol} is unknown to the venue; check --symbols")
            if not asset.tradable:
                raise ConfigError(f"symbol {symbol} is not tradable ({asset.status}); remove it")
            notify(
                f"symbol {symbol}: {asset.exchange}, tradable, "
                f"{'shortable' if asset.shortable else 'not shortable'}"
            )
            assets[symbol] = asset.__dict__
        if config.cash and config.cash > account.buying_power:
            raise BrokerError(
                f"--cash {config.cash:,.2f} exceeds buying power "
                f"{account.buying_power:,.2f}; lower --cash"
            )
        return {"account": account.__dict__, "clock": clock.__dict__, "assets": assets}

    # -------------------------------------------------------------- parts
    def broker(self, config: Any, core: BrokerCore, notify: Notify) -> Any:
        """The run's broker on `core` (its ids, review and journal)."""
        if config.dry_run:
            cash = config.cash or self.store.account().cash
            return build_sim_broker(cash=cash, costs=config.costs, review=core.review)
        # no commission of the run's own: a fill's fee is the one the venue reports
        broker = self.store.getbroker(core, cash=config.cash)
        self._existing_positions(broker, config, notify)
        self._broker = broker
        return broker

    def feed(
        self,
        symbol: str,
        config: Any,
        on_bar: OnBar,
        finished: Finished,
        on_state: Callable[[str, str], None] | None = None,
        *,
        live_after: dt.datetime | None = None,
        first_bar: int = 0,
    ) -> bt.DataBase:
        """The live feed of `symbol`; a resumed run gives its resume point (`live_after`,
        `first_bar`: see `AlpacaLiveFeed`)."""
        # a lock-step parity venue never goes quiet on its own; elsewhere no bar for the alert
        # config's `stale_bars` bar lengths while the market is open means the stream is stale
        stale = 0.0 if self._parity_venue else stale_seconds(config)
        return AlpacaLiveFeed(  # type: ignore[call-arg]
            symbol=symbol,
            store=self.store,
            bar_timeframe=config.timeframe,
            backfill=config.backfill,
            lockstep=self.lockstep,
            is_finished=finished,
            on_bar=on_bar,
            on_state=on_state or (lambda sym, state: self.notify(f"{sym} feed: {state}")),
            stale_after=stale,
            market_open=self.market_open,
            now=None if self._parity_venue else new_york_now,
            live_after=live_after,
            first_bar=first_bar,
        )

    def watch_streams(self, on_state: Callable[[str, str, str], None]) -> None:
        """`on_state(stream, state, reason)` on every stream disconnect and reconnect."""
        self.store.watch_streams(on_state)

    def market_open(self) -> bool:
        """The venue's clock, asked at most once a minute."""
        is_open, asked = self._market
        if time.monotonic() - asked > 60:
            try:
                is_open = self.store.clock().is_open
            except ParityError:
                is_open = True  # cannot tell: report staleness rather than hide it
            self._market = (is_open, time.monotonic())
        return is_open

    def analyzers(self) -> list[tuple[type, dict[str, Any]]]:
        """Analyzers this session needs beside the run's own (the lock-step mark)."""
        return [(LockstepMark, {"lockstep": self.lockstep})] if self.lockstep else []

    def start(self, config: Any, feeds: list[Any]) -> None:
        """Warm-up from history first, then open the streams (which starts a venue's replay)."""
        for feed in feeds:
            feed.backfill()
        if self.lockstep is not None:
            # joining a lock-step replay already under way (a restart): the step it waits on was
            # read with the warm-up; acknowledging it lets the replay go on
            now = (self.store.venue_status() or {}).get("time")
            if now:
                self.lockstep.arrived(dt.datetime.fromisoformat(now).replace(tzinfo=None))
        self.store.start_streams_for(config.symbols, trading=not config.dry_run)

    def _existing_positions(self, broker: Any, config: Any, notify: Notify) -> None:
        held = self.store.positions()
        ours = {s: p for s, p in held.items() if s in config.symbols and p.qty}
        for symbol, position in held.items():
            if symbol not in ours:
                notify(f"account also holds {position.qty:g} {symbol}: not this run's, left alone")
        if not ours:
            return
        listing = ", ".join(f"{p.qty:g} {s}" for s, p in ours.items())
        if config.existing == "refuse":
            raise BrokerError(
                f"the account already holds {listing}; pass --existing adopt (the "
                "strategy starts with them) or --existing flatten (close them first)"
            )
        if config.existing == "adopt":
            notify(f"adopting existing positions: {listing}")
            broker.adopt(ours)
            return
        notify(f"flattening existing positions: {listing}")
        for symbol in ours:
            self.store.close_position(symbol)

    # -------------------------------------------------------------- end
    def shutdown(self, config: Any, notify: Notify) -> None:
        """Cancel this run's open orders; close its positions with `flatten_on_exit`."""
        if self._broker is None:
            return
        cancelled = self._broker.cancel_all()
        if cancelled:
            notify(f"cancelled {cancelled} open order(s)")
        if config.flatten_on_exit:
            for symbol in config.symbols:
                self.store.close_position(symbol)
            notify("flatten on exit: closing positions")

    def close(self) -> None:
        self.store.stop()


class LocalVenueSession(AlpacaSession):
    """The local venue, started in-process, replaying `config.data` (lock-step with speed None).
    With `saved` (the run's `venue.sqlite`) the venue saves every state change there and
    continues the state it holds, so that `--resume` finds it where the crash left it."""

    venue = "local"

    def __init__(self, config: Any, notify: Notify, saved: VenueStore | None = None) -> None:
        from parity.feeds.loader import load_bars
        from parity.venue.config import VenueConfig
        from parity.venue.server import VenueServer

        loaded = load_bars(config.data, config.symbols, start=config.start, end=config.end)
        if config.timeframe.seconds > loaded.series[0].timeframe.seconds:
            # the venue replays the run's bars: market data, fills and the strategy see the same
            # (resting orders match on the run's bars, as in the backtest)
            loaded = load_bars(
                config.data, config.symbols, timeframe=config.timeframe,
                start=config.start, end=config.end,
            )  # fmt: skip
        extra: dict[str, Any] = {"faults": config.faults} if config.faults is not None else {}
        if config.replay_start:
            extra["start"] = config.replay_start
        self.server = VenueServer(
            VenueConfig(
                data=loaded,
                speed=config.speed,
                costs=config.costs,
                latency_ms=config.latency_ms,
                volume_share=config.volume_share,
                cash=config.cash or 100_000.0,
                **extra,
            ),
            store=saved,
        )
        self.server.start()
        notify(
            f"local venue on {self.server.base_url} replaying {config.data} "
            f"({sum(len(s) for s in loaded.series)} bars)"
        )
        if self.server.restored and saved is not None:
            status = self.server.status()
            notify(
                f"local venue restored from {saved.path}: step {status['step']} of "
                f"{status['steps']} ({status['time']})"
            )
        store = AlpacaStore(
            AlpacaCredentials("parity-local", "parity-local"),
            AlpacaEndpoints(
                trading_url=self.server.base_url,
                data_url=self.server.base_url,
                trading_stream_url=self.server.trading_stream_url,
                data_stream_url=self.server.data_stream_url,
            ),
            retry_wait=0.05,
            reconnect_backoff=0.2,
        )
        super().__init__(store, config.until)
        self.warnings = list(loaded.warnings)
        self._parity_venue = True

    def close(self) -> None:
        self.store.stop(join=False)  # the venue closing its sockets ends the streams at once
        self.server.stop()
        self.store.join()


class PollingSession:
    """Bars polled from a source (Yahoo by default), fills from the in-process simulated broker."""

    venue = "sim"
    wall_clock = True

    def __init__(
        self,
        fetch: Callable[[str], list[StreamBar]],
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
    def yahoo(cls, config: Any) -> PollingSession:
        from parity.feeds.yahoo import recent_yahoo_bars

        timeframe = config.timeframe
        return cls(
            lambda symbol: recent_yahoo_bars(symbol, timeframe),
            poll_seconds=config.poll_seconds,
            until=config.until,
        )

    def finished(self) -> bool:
        return self.until is not None and self.now() >= self.until

    def check(self, config: Any, notify: Notify) -> dict[str, Any]:
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

    def broker(self, config: Any, core: BrokerCore, notify: Notify) -> Any:
        self.notify = notify
        return build_sim_broker(
            cash=config.cash or 100_000.0, costs=config.costs, review=core.review
        )

    def feed(
        self,
        symbol: str,
        config: Any,
        on_bar: OnBar,
        finished: Finished,
        on_state: Callable[[str, str], None] | None = None,
        *,
        live_after: dt.datetime | None = None,
        first_bar: int = 0,
    ) -> bt.DataBase:
        """The polling feed of `symbol`. The resume point is not applied here yet: a resumed
        polling run re-reads its warm-up as before."""
        from parity.feeds.polling import PollingFeed

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
        )

    def analyzers(self) -> list[tuple[type, dict[str, Any]]]:
        return []

    def watch_streams(self, on_state: Callable[[str, str, str], None]) -> None:
        """Polling has no stream to drop."""

    def start(self, config: Any, feeds: list[Any]) -> None:
        """Polling starts with the first bar request."""

    def shutdown(self, config: Any, notify: Notify) -> None:
        """The simulated broker's orders end with the run."""

    def close(self) -> None:
        """Nothing to release."""
