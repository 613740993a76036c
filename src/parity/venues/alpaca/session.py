"""`AlpacaSession`: orders and bars through an `AlpacaStore` (Alpaca's paper API, or any venue
speaking its protocol).

What differs between a market and a parity venue's replay behind the same URLs is its `Pace`:
`WallClock` (bars follow the clock, a quiet stream is stale, `--until` ends the run) or `Replay`
(bars are acknowledged in lock-step, the replay's end ends the run). An Alpaca session finds
out which at `check`; the local venue's session is given `Replay`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

import backtrader as bt

from parity.brokers.alpaca import AlpacaBroker
from parity.brokers.core import BrokerCore
from parity.brokers.sim import build_sim_broker
from parity.errors import BrokerError, ConfigError, ParityError
from parity.feeds.lockstep import Lockstep, LockstepMark
from parity.options.contracts import parse_occ
from parity.options.setup import OptionsSetup
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.alpaca.feed import AlpacaLiveFeed
from parity.venues.alpaca.option_desk import venue_desk
from parity.venues.clock import bar_filter, new_york_now, run_exchange, stale_seconds
from parity.venues.protocol import (
    FeedState,
    Finished,
    Notify,
    OnBar,
    SessionConfig,
    StreamState,
    VenueAccount,
)


def _zone_name(store: AlpacaStore) -> str:
    """How the run's clock zone is named to the user (`New York`, `UTC`)."""
    key = str(store.zone)
    return "New York" if key == "America/New_York" else key


class WallClock:
    """A market: bars follow the wall clock; the run ends at `until`."""

    lockstep: Lockstep | None = None
    wall_clock = True

    def __init__(
        self, until: dt.datetime | None, clock: Callable[[], dt.datetime] = new_york_now
    ) -> None:
        self.until = until
        self.clock = clock  # the exchange's wall clock (naive, its zone)

    def finished(self) -> bool:
        return self.until is not None and self.clock() >= self.until

    def stale_after(self, config: SessionConfig) -> float:
        # no bar for the alert config's `stale_bars` bar lengths while the market is open
        return stale_seconds(config)

    def now(self) -> Callable[[], dt.datetime] | None:
        return self.clock

    def joined(self) -> None:
        """Nothing to acknowledge."""


class Replay:
    """A parity venue's replay: bars acknowledged in lock-step; the run ends with the replay
    (or at `until`, New York time)."""

    wall_clock = False

    def __init__(
        self,
        store: AlpacaStore,
        until: dt.datetime | None,
        clock: Callable[[], dt.datetime] = new_york_now,
    ) -> None:
        self.store = store
        self.until = until
        self.clock = clock  # `until` is on the exchange's wall clock
        self.lockstep: Lockstep | None = Lockstep(store.venue_ack, store.venue_status)
        self._done = False

    def finished(self) -> bool:
        if not self._done:
            self._done = bool((self.store.venue_status() or {}).get("finished"))
        return self._done or (self.until is not None and self.clock() >= self.until)

    def stale_after(self, config: SessionConfig) -> float:
        return 0.0  # a lock-step replay never goes quiet on its own

    def now(self) -> Callable[[], dt.datetime] | None:
        return None  # the replay's bars, not the wall clock, say when a bucket is complete

    def joined(self) -> None:
        """Joining a replay already under way (a restart): the step it waits on was read with
        the warm-up; acknowledging it lets the replay go on."""
        now = (self.store.venue_status() or {}).get("time")
        if now and self.lockstep is not None:
            self.lockstep.arrived(dt.datetime.fromisoformat(now).replace(tzinfo=None))


Pace = WallClock | Replay


class AlpacaSession:
    """Orders and bars through an `AlpacaStore`; `pace` None: found out at `check` (a parity
    venue answers its status endpoint, Alpaca does not)."""

    venue = "alpaca-paper"

    def __init__(
        self,
        store: AlpacaStore,
        until: dt.datetime | None = None,
        pace: Pace | None = None,
        clock: Callable[[], dt.datetime] = new_york_now,
    ) -> None:
        self.store = store
        self.until = until
        self.clock = clock  # the exchange's wall clock (`venues.clock.exchange_now`)
        self.pace: Pace = pace or WallClock(until, clock)
        self._found_out = pace is not None
        self.warnings: list[str] = []
        self._broker: AlpacaBroker | None = None
        self.notify: Notify = lambda _m: None
        self._market = (False, -1e9)  # (is open, when it was asked)

    @classmethod
    def from_env(cls, until: dt.datetime | None) -> AlpacaSession:
        return cls(AlpacaStore(AlpacaCredentials.from_env(), AlpacaEndpoints.from_env()), until)

    @property
    def wall_clock(self) -> bool:
        """Bars follow the wall clock (Alpaca), not a parity venue's replay."""
        return self.pace.wall_clock

    @property
    def lockstep(self) -> Lockstep | None:
        return self.pace.lockstep

    def finished(self) -> bool:
        return self.pace.finished()

    # -------------------------------------------------------------- checks
    def check(self, config: SessionConfig, notify: Notify) -> dict[str, Any]:
        """Account status, buying power, clock and every symbol; raises on a problem."""
        store = self.store
        self.notify = notify
        self._set_market(config)
        account = store.account()
        clock = store.clock()
        if not self._found_out:
            self._found_out = True
            if store.venue_status() is not None:  # `parity venue serve` behind the URLs
                self.pace = Replay(store, self.until, self.clock)
        if not self.pace.wall_clock:
            notify("the endpoints are a parity venue: acknowledging bars, ending with its replay")
        notify(
            f"account {account.status}: cash {account.cash:,.2f}, buying power "
            f"{account.buying_power:,.2f} {account.currency}"
        )
        notify(
            f"clock {clock.timestamp:%Y-%m-%d %H:%M} {_zone_name(store)}, market "
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
    def broker(
        self,
        config: SessionConfig,
        core: BrokerCore,
        notify: Notify,
        *,
        options: OptionsSetup | None = None,
    ) -> bt.BrokerBase:
        """`options`: the desk's setup of a strategy that trades options (its chain, orders,
        fills and settlements are the venue's; its costs and rules the backtest's checks)."""
        if config.dry_run and options is not None:
            raise ConfigError(
                "--dry-run sends no orders, and an option strategy's orders are the venue's: "
                "run it without --dry-run (against --venue local to rehearse)"
            )
        if config.dry_run:
            cash = config.cash or self.store.account().cash
            return build_sim_broker(cash=cash, costs=config.costs, review=core.review)
        lockstep = self.lockstep  # when a lock-step venue's next bar is: `valid=` ends on time
        next_bar = lockstep.next_step if lockstep is not None else None
        # no commission of the run's own: a fill's fee is the one the venue reports
        desk = None if options is None else venue_desk(self.store, options, config)
        broker = AlpacaBroker(  # type: ignore[call-arg]
            self.store, core, desk, cash=config.cash, next_bar=next_bar
        )
        self._existing_positions(broker, config, notify)
        self._broker = broker
        return broker

    def venue_account(self) -> VenueAccount | None:
        return self.store

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
        """The live feed of `symbol`; a resumed run gives its resume point (`live_after`,
        `first_bar`: see `AlpacaLiveFeed`)."""
        self._set_market(config)
        return AlpacaLiveFeed(  # type: ignore[call-arg]
            symbol=symbol,
            store=self.store,
            bar_timeframe=config.timeframe,
            backfill=config.backfill,
            lockstep=self.pace.lockstep,
            is_finished=finished,
            on_bar=on_bar,
            on_state=on_state or (lambda sym, state: self.notify(f"{sym} feed: {state}")),
            stale_after=self.pace.stale_after(config),
            market_open=self.market_open,
            now=self.pace.now(),
            in_session=bar_filter(config),
            live_after=live_after,
            first_bar=first_bar,
        )

    def _set_market(self, config: SessionConfig) -> None:
        """The run's symbols and exchange set the client's data clients (crypto or stocks) and
        the zone of its times."""
        self.store.set_market(config.symbols, run_exchange(config).timezone)

    def watch_streams(self, on_state: StreamState) -> None:
        """`on_state(stream, state, reason)` on every stream disconnect and reconnect."""
        self.store.watch_streams(on_state)

    def progress(self) -> tuple[int, int] | None:
        """Alpaca's market has no end to count towards (the local venue's replay has)."""
        return None

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

    def analyzers(self) -> list[tuple[type[bt.Analyzer], dict[str, Any]]]:
        """Analyzers this session needs beside the run's own (the lock-step mark)."""
        lockstep = self.pace.lockstep
        return [(LockstepMark, {"lockstep": lockstep})] if lockstep is not None else []

    def start(self, config: SessionConfig, feeds: Sequence[bt.DataBase]) -> None:
        """Warm-up from history first, then open the streams (which starts a venue's replay)."""
        for feed in feeds:
            feed.backfill()
        self.pace.joined()
        self.store.start_streams_for(config.symbols, trading=not config.dry_run)

    def _existing_positions(
        self, broker: AlpacaBroker, config: SessionConfig, notify: Notify
    ) -> None:
        held = self.store.positions()
        ours = {s: p for s, p in held.items() if s in config.symbols and p.qty}
        for symbol, position in held.items():
            if symbol in ours:
                continue
            occ = parse_occ(symbol) if broker.options is not None else None
            if occ is not None and occ.underlying in config.symbols:
                # the desk's business: a resumed or continued run rebuilds its own contracts
                # from the journal's option book; any others it leaves alone
                notify(
                    f"account holds {position.qty:g} {symbol}, an option on {occ.underlying}: "
                    "the run's own if its journaled option book holds it, else left alone"
                )
                continue
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
    def shutdown(self, config: SessionConfig, notify: Notify) -> None:
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
