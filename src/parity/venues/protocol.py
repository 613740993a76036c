"""What the runners ask of a venue: a `Venue` (a factory, chosen by name from `venues.registry`)
opens a `Session` for one run; the session builds the run's broker and feeds and ends them.

A new venue is a new folder under `venues/` with a `factory.py` implementing `Venue` and a
`session.py` implementing `Session`, registered in `venues/registry.py`. Nothing outside its
folder and the registry names it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # types only: the registry (and so the CLI) stays free of Backtrader
    import backtrader as bt

    from parity.alerts.config import AlertConfig
    from parity.brokers.core import BrokerCore
    from parity.costs import CostModel
    from parity.timeframe import Timeframe
    from parity.venue.config import FaultPlan
    from parity.venues.types import AccountInfo, OrderSnapshot, PositionInfo, StreamBar

Notify = Callable[[str], None]
OnBar = Callable[["StreamBar"], None]
Finished = Callable[[], bool]
FeedState = Callable[[str, str], None]  # (symbol, state)
StreamState = Callable[[str, str, str], None]  # (stream "data"|"trading", state, reason)


class SessionConfig(Protocol):
    """The fields of a paper run's configuration a session reads (`PaperConfig` has them all)."""

    @property
    def venue(self) -> str: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    @property
    def timeframe(self) -> Timeframe: ...
    @property
    def cash(self) -> float | None: ...
    @property
    def costs(self) -> CostModel: ...
    @property
    def dry_run(self) -> bool: ...
    @property
    def backfill(self) -> int: ...
    @property
    def existing(self) -> str: ...  # refuse | adopt | flatten
    @property
    def flatten_on_exit(self) -> bool: ...
    @property
    def until(self) -> dt.datetime | None: ...
    @property
    def alerts(self) -> AlertConfig: ...
    @property
    def poll_seconds(self) -> float: ...
    @property
    def data(self) -> str: ...
    @property
    def start(self) -> dt.date | None: ...
    @property
    def end(self) -> dt.date | None: ...
    @property
    def speed(self) -> float | None: ...
    @property
    def latency_ms(self) -> int: ...
    @property
    def volume_share(self) -> float: ...
    @property
    def faults(self) -> FaultPlan | None: ...
    @property
    def replay_start(self) -> str | None: ...
    @property
    def calendar(self) -> str | None: ...  # an exchange calendar name; None: the symbols' own
    @property
    def session(self) -> str | None: ...  # regular or extended intraday bars (None: regular)
    @property
    def ambiguous(self) -> str | None: ...  # both exits on one bar: the rule (None: placed first)
    @property
    def finer(self) -> str | None: ...  # finer bars for `ambiguous=finer-data`
    @property
    def venue_options(self) -> Mapping[str, Any] | None: ...  # the local venue's option terms


class VenueAccount(Protocol):
    """A venue's account, as `--resume` reconciles it and `parity flatten` empties it."""

    def account(self) -> AccountInfo: ...
    def positions(self) -> dict[str, PositionInfo]: ...
    def open_orders(self) -> list[OrderSnapshot]: ...
    def order_by_client_id(self, client_order_id: str) -> OrderSnapshot | None: ...
    def cancel_order(self, order_id: str) -> None: ...
    def close_position(self, symbol: str) -> OrderSnapshot | None: ...


class Session(Protocol):
    """One paper run's connection to its venue, in the order the runner calls it: `check`,
    `broker`, `feed` per symbol, `analyzers`, `watch_streams`, `start`; then `shutdown` and
    `close`. No I/O before `check`, except what the venue needs to exist (a local server)."""

    venue: str  # the label journaled with the run: alpaca-paper, local, sim
    warnings: list[str]  # data warnings to show with the run's results

    @property
    def wall_clock(self) -> bool:
        """Bars follow the wall clock (a market), not a replay."""
        ...

    def finished(self) -> bool:
        """The replay is over, or the run's `--until` has come."""
        ...

    def check(self, config: SessionConfig, notify: Notify) -> dict[str, Any]:
        """Account, clock and every symbol, without trading; raises on a problem."""
        ...

    def broker(
        self, config: SessionConfig, core: BrokerCore, notify: Notify, *, options: Any = None
    ) -> bt.BrokerBase:
        """The run's Backtrader broker on `core` (the run's order ids, review and journal);
        `options`: an `OptionsSetup` when the strategy trades options (the broker carries the
        venue's options desk as `broker.options`)."""
        ...

    def venue_account(self) -> VenueAccount | None:
        """The account a resume reconciles with, or None when fills are simulated in-process
        (then the journal is the whole truth)."""
        ...

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
        """The live feed of `symbol`; a resumed run gives its resume point."""
        ...

    def analyzers(self) -> list[tuple[type[bt.Analyzer], dict[str, Any]]]:
        """Analyzers the session needs beside the run's own."""
        ...

    def watch_streams(self, on_state: StreamState) -> None:
        """`on_state(stream, state, reason)` on every stream disconnect and reconnect."""
        ...

    def market_open(self) -> bool:
        """Whether the venue's market is open now (True when it cannot tell)."""
        ...

    def progress(self) -> tuple[int, int] | None:
        """Steps of a replay done and in all (a progress bar's); None for a market."""
        ...

    def start(self, config: SessionConfig, feeds: Sequence[bt.DataBase]) -> None:
        """Warm-up, then the live bars."""
        ...

    def shutdown(self, config: SessionConfig, notify: Notify) -> None:
        """Cancel the run's open orders (and flatten with `flatten_on_exit`)."""
        ...

    def close(self) -> None:
        """Release connections and servers."""
        ...


class Venue(Protocol):
    """A kind of venue, registered by `name` (the value of `--venue`)."""

    name: str  # alpaca, local, sim
    label: str  # what its sessions journal as the run's venue
    help: str  # one line for `--venue`'s help
    replays: bool  # bars replay a recorded data source (the twin can read the same one)

    def open(
        self,
        config: SessionConfig,
        notify: Notify,
        *,
        run_dir: Path | None = None,
        resume: bool = False,
    ) -> Session:
        """A session for one run; a venue that keeps state keeps it in `run_dir`."""
        ...

    def data_source(self, config: SessionConfig) -> str:
        """Where the run's bars come from, as the manifest records it."""
        ...

    def history_source(
        self, recorded: str, symbols: Sequence[str], start: dt.date, end: dt.date, directory: Path
    ) -> str:
        """A data source (for `load_bars`) with vendor history of a run's window: the recorded
        source when the venue replays one, else history fetched into `directory`."""
        ...

    def flatten_stopped(self, run_id: str, symbols: Sequence[str]) -> list[str] | None:
        """Cancel a stopped run's orders and close its positions at the venue (what was done,
        line by line); None when the venue ended with the run (nothing is open)."""
        ...
