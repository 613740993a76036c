"""`VenueServer`: the venue's aiohttp application on one loopback port, run with its replay in
a background thread that owns its own asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from types import TracebackType
from typing import Any

from aiohttp import web

from parity.errors import BrokerError
from parity.venue.config import VenueConfig
from parity.venue.rest import add_routes, auth_middleware, errors_middleware, faults_middleware
from parity.venue.state import VenueState
from parity.venue.streams import STATE, data_stream, trading_stream

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def build_app(state: VenueState) -> web.Application:
    """The aiohttp application serving REST and both websockets for `state`."""
    app = web.Application(middlewares=[errors_middleware, faults_middleware, auth_middleware])
    app[STATE] = state
    app.router.add_get("/stream", trading_stream)
    for feed in ("iex", "sip", "test", "delayed_sip"):
        app.router.add_get(f"/v2/{feed}", data_stream)
    add_routes(app)
    return app


class VenueServer:
    """The local Alpaca-compatible venue on `host:port` (port 0 = any free port).

    `start()` returns once the server listens; `stop()` closes every socket and joins the thread.
    Use it as a context manager in tests.
    """

    def __init__(self, config: VenueConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._state: VenueState | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._shutdown: asyncio.Event | None = None
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start serving in a background thread; returns when the port is listening."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="parity-venue", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise BrokerError(f"the parity venue did not start within {START_TIMEOUT:.0f}s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
            raise BrokerError(
                f"the parity venue could not start on {self.host}:{self._port}: {self._error}"
            ) from self._error

    def stop(self) -> None:
        """Stop serving (idempotent): close websockets and the listener, join the thread."""
        if self._stopped or self._thread is None:
            self._stopped = True
            return
        self._stopped = True
        loop, shutdown = self._loop, self._shutdown
        if loop is not None and shutdown is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(shutdown.set)
        self._thread.join(STOP_TIMEOUT)

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

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._shutdown = asyncio.Event()
        state = VenueState(self.config)
        self._state = state
        runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._port, shutdown_timeout=1.0)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self._port = sockets[0].getsockname()[1]
            replay = asyncio.create_task(state.replay())
            self._ready.set()
            await self._shutdown.wait()
            state.stopping = True
            replay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await replay
            await state.close_data(reason="venue stopping")
            await state.close_trading(reason="venue stopping")
        finally:
            await runner.cleanup()

    # ------------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        """The listening port (known after `start()`)."""
        return self._port

    @property
    def base_url(self) -> str:
        """REST `url_override` for `TradingClient` and `StockHistoricalDataClient`."""
        return f"http://{self.host}:{self._port}"

    @property
    def trading_stream_url(self) -> str:
        """`url_override` for `TradingStream`."""
        return f"ws://{self.host}:{self._port}/stream"

    @property
    def data_stream_url(self) -> str:
        """`url_override` for `StockDataStream` (IEX path)."""
        return f"ws://{self.host}:{self._port}/v2/iex"

    # ------------------------------------------------------------------ state
    @property
    def finished(self) -> bool:
        """Every bar has been published."""
        return self._state is not None and self._state.finished

    def _call(self, func: Any) -> Any:
        loop, state = self._loop, self._state
        if state is None:
            raise BrokerError("the parity venue has not been started")
        if loop is None or loop.is_closed() or not loop.is_running():
            return func(state)

        async def run() -> Any:
            return func(state)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(STOP_TIMEOUT)

    def snapshot(self) -> dict[str, Any]:
        """Account (cash, equity, buying_power as floats), positions, every top-level order as
        the REST JSON (legs nested), fills, replay status and remaining faults."""
        result: dict[str, Any] = self._call(lambda state: state.snapshot())
        return result

    def status(self) -> dict[str, Any]:
        """The `/parity/v1/status` body."""
        result: dict[str, Any] = self._call(lambda state: state.status())
        return result
