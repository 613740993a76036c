"""`LocalVenueSession`: the local venue (`parity.venue`), started in-process, replaying the run's
bars; the run talks to it through the Alpaca client over loopback, in lock-step (`Replay`)."""

from __future__ import annotations

from parity.venue.persist import VenueStore
from parity.venue.server import VenueServer
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.alpaca.session import AlpacaSession, Replay
from parity.venues.clock import exchange_now
from parity.venues.local.config import venue_config
from parity.venues.protocol import Notify, SessionConfig


def local_client(server: VenueServer, timezone: str = "America/New_York") -> AlpacaStore:
    """An Alpaca client on `server`'s URLs (quick retries: the venue is on this machine), its
    times in `timezone` (the zone of the bars the venue replays)."""
    return AlpacaStore(
        AlpacaCredentials("parity-local", "parity-local"),
        AlpacaEndpoints(
            trading_url=server.base_url,
            data_url=server.base_url,
            trading_stream_url=server.trading_stream_url,
            data_stream_url=server.data_stream_url,
        ),
        retry_wait=0.05,
        reconnect_backoff=0.2,
        timezone=timezone,
    )


class LocalVenueSession(AlpacaSession):
    """An Alpaca session on a venue it starts and stops itself, paced by the venue's replay.
    With `saved` (the run's `venue.sqlite`) the venue saves every state change there and
    continues the state it holds, so that `--resume` finds it where the crash left it."""

    venue = "local"

    def __init__(
        self, config: SessionConfig, notify: Notify, saved: VenueStore | None = None
    ) -> None:
        settings = venue_config(config)
        self.server = VenueServer(settings, store=saved)
        self.server.start()
        loaded = settings.data
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
        store = local_client(self.server, loaded.calendar.timezone)
        clock = exchange_now(config)
        super().__init__(store, config.until, pace=Replay(store, config.until, clock), clock=clock)
        self.warnings = list(loaded.warnings)

    def progress(self) -> tuple[int, int] | None:
        """The replay's steps published and in all, as the venue counts them."""
        status = self.server.status()
        return int(status["step"]), int(status["steps"])

    def close(self) -> None:
        self.store.stop(join=False)  # the venue closing its sockets ends the streams at once
        self.server.stop()
        self.store.join()
