"""`VenueServer`: the venue's aiohttp application on one loopback port, run with its replay in
a background thread that owns its own asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any

from aiohttp import web

from parity.aiosite import START_TIMEOUT, SiteTimeout, ThreadedSite
from parity.errors import BrokerError, ParityError
from parity.venue.config import VenueConfig
from parity.venue.option_stream import add_option_stream_routes
from parity.venue.persist import SavedVenue, VenueStore
from parity.venue.rest import (
    CRYPTO_STREAM,
    add_routes,
    auth_middleware,
    errors_middleware,
    faults_middleware,
)
from parity.venue.state import VenueState
from parity.venue.streams import STATE, data_stream, trading_stream

log = logging.getLogger(__name__)


def build_app(state: VenueState) -> web.Application:
    """The aiohttp application serving REST and both websockets for `state`."""
    app = web.Application(middlewares=[errors_middleware, faults_middleware, auth_middleware])
    app[STATE] = state
    app.router.add_get("/stream", trading_stream)
    for feed in ("iex", "sip", "test", "delayed_sip"):
        app.router.add_get(f"/v2/{feed}", data_stream)
    app.router.add_get(CRYPTO_STREAM, data_stream)  # the same protocol, pairs for symbols
    add_option_stream_routes(app)
    add_routes(app)
    return app


class VenueServer:
    """The local Alpaca-compatible venue on `host:port` (port 0 = any free port).

    `start()` returns once the server listens; `stop()` closes every socket and joins the thread.
    Use it as a context manager in tests. With a `store` the venue saves every state change
    there, and `start()` continues the state it holds (if any) instead of starting afresh.
    """

    def __init__(
        self,
        config: VenueConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store: VenueStore | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.restored = False  # `start()` continued a saved state
        self._saved: SavedVenue | None = None
        self._state: VenueState | None = None
        self._replay: asyncio.Task[None] | None = None
        self._site = ThreadedSite(
            self._app,
            name="parity-venue",
            host=host,
            port=port,
            on_start=self._start_replay,
            on_stop=self._stop_replay,
        )

    @property
    def host(self) -> str:
        return self._site.host

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start serving in a background thread; returns when the port is listening."""
        self._saved = self.store.load() if self.store is not None else None
        try:
            self._site.start()
        except ParityError:
            raise
        except SiteTimeout:
            raise BrokerError(
                f"the parity venue did not start within {START_TIMEOUT:.0f}s"
            ) from None
        except Exception as exc:
            raise BrokerError(
                f"the parity venue could not start on {self.host}:{self._site.port}: {exc}"
            ) from exc

    def stop(self) -> None:
        """Stop serving (idempotent): close websockets and the listener, join the thread."""
        self._site.stop()
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> VenueServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _app(self) -> web.Application:
        self._state = VenueState(self.config, self.store)
        if self._saved is not None:
            self._state.restore(self._saved)
            self.restored = True
        return build_app(self._state)

    async def _start_replay(self) -> None:
        assert self._state is not None
        self._replay = asyncio.create_task(self._state.replay())

    async def _stop_replay(self) -> None:
        state, replay = self._state, self._replay
        assert state is not None
        if replay is not None:
            replay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await replay
        await state.close_data(reason="venue stopping")
        await state.close_trading(reason="venue stopping")

    # ------------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        """The listening port (known after `start()`)."""
        return self._site.port

    @property
    def base_url(self) -> str:
        """REST `url_override` for `TradingClient` and `StockHistoricalDataClient`."""
        return f"http://{self.host}:{self._site.port}"

    @property
    def trading_stream_url(self) -> str:
        """`url_override` for `TradingStream`."""
        return f"ws://{self.host}:{self._site.port}/stream"

    @property
    def data_stream_url(self) -> str:
        """`url_override` for `StockDataStream` (IEX path)."""
        return f"ws://{self.host}:{self._site.port}/v2/iex"

    @property
    def option_stream_url(self) -> str:
        """`url_override` for `OptionDataStream` (the indicative feed)."""
        return f"ws://{self.host}:{self._site.port}/v1beta1/indicative"

    @property
    def crypto_stream_url(self) -> str:
        """`url_override` for `CryptoDataStream`."""
        return f"ws://{self.host}:{self._site.port}{CRYPTO_STREAM}"

    # ------------------------------------------------------------------ state
    @property
    def finished(self) -> bool:
        """Every bar has been published."""
        return self._state is not None and self._state.finished

    def _call(self, func: Any) -> Any:
        state = self._state
        if state is None:
            raise BrokerError("the parity venue has not been started")
        return self._site.call(lambda: func(state))

    def snapshot(self) -> dict[str, Any]:
        """Account (cash, equity, buying_power as floats), positions, every top-level order as
        the REST JSON (legs nested), fills, replay status and remaining faults."""
        result: dict[str, Any] = self._call(lambda state: state.snapshot())
        return result

    def status(self) -> dict[str, Any]:
        """The `/parity/v1/status` body."""
        result: dict[str, Any] = self._call(lambda state: state.status())
        return result
