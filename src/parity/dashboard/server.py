"""`DashboardServer`: the dashboard's aiohttp application on one port, served by a background
thread that owns its own asyncio loop (as the local venue's `VenueServer`)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from types import TracebackType

from aiohttp import web

from parity.dashboard.app import build_app
from parity.dashboard.catalog import Catalog
from parity.dashboard.twin import TwinWorker
from parity.errors import ConfigError

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class DashboardServer:
    """The dashboard on `host:port` (port 0 = any free port). `start()` returns once the port
    listens (a port in use is a one-line `ConfigError`); `stop()` closes it and joins."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        worker: TwinWorker | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.catalog = catalog
        self.worker = worker
        self.host = host
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="parity-dashboard", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise ConfigError(f"the dashboard did not start within {START_TIMEOUT:.0f}s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
            error = self._error
            if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {self._port} on {self.host} is in use; pass --port 0 for a free "
                    "port, or stop the program using it"
                ) from None
            raise ConfigError(
                f"the dashboard could not listen on {self.host}:{self._port} ({error}); "
                "check --host and --port"
            ) from error

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, shutdown = self._loop, self._shutdown
        if loop is not None and shutdown is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(shutdown.set)
        thread.join(STOP_TIMEOUT)

    def wait(self) -> None:
        """Block until the server stops (Ctrl+C raises KeyboardInterrupt here)."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)

    def __enter__(self) -> DashboardServer:
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
        runner = web.AppRunner(
            build_app(self.catalog, self.worker), access_log=None, handle_signals=False
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._port, shutdown_timeout=1.0)
            await site.start()
            sockets = getattr(site._server, "sockets", None) or []
            if sockets:
                self._port = sockets[0].getsockname()[1]
            self._ready.set()
            await self._shutdown.wait()
        finally:
            await runner.cleanup()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}/"
