"""`ThreadedSite`: an aiohttp application served on `host:port` by a background thread that owns
its own asyncio loop. The local venue and the dashboard are both one of these, so the rest of
parity (synchronous Backtrader code) can start, call into and stop them like any object."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
Hook = Callable[[], Awaitable[None]]


class SiteTimeout(TimeoutError):
    """The site did not listen within `START_TIMEOUT` seconds."""


class ThreadedSite:
    """`app()` is called on the site's loop (so it may make loop-bound objects); `on_start`
    runs once the port listens, `on_stop` when `stop()` is asked, both on the loop. Port 0 picks
    a free port, known after `start()`."""

    def __init__(
        self,
        app: Callable[[], web.Application],
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        on_start: Hook | None = None,
        on_stop: Hook | None = None,
    ) -> None:
        self.app = app
        self.name = name
        self.host = host
        self.port = port
        self.on_start = on_start
        self.on_stop = on_stop
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._shutdown: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._stopped = False

    def start(self) -> None:
        """Serve; returns once the port listens. Raises `SiteTimeout`, or what stopped the
        site from listening (e.g. `OSError` for a port in use)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise SiteTimeout(f"{self.name} did not start within {START_TIMEOUT:.0f}s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT)
            self._thread = None
            raise self._error

    def stop(self) -> None:
        """Stop serving (idempotent): `on_stop`, close the listener, join the thread."""
        thread, self._thread = self._thread, None
        if self._stopped or thread is None:
            self._stopped = True
            return
        self._stopped = True
        loop, shutdown = self.loop, self._shutdown
        if loop is not None and shutdown is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(shutdown.set)
        thread.join(STOP_TIMEOUT)

    def wait(self) -> None:
        """Block until the site stops (Ctrl+C raises KeyboardInterrupt here)."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)

    def call(self, func: Callable[[], Any]) -> Any:
        """`func()` on the site's loop (when it runs), its result here."""
        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return func()

        async def run() -> Any:
            return func()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(STOP_TIMEOUT)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
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
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, shutdown_timeout=1.0)
            await site.start()
            sockets = getattr(site._server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
            if self.on_start is not None:
                await self.on_start()
            self._ready.set()
            await self._shutdown.wait()
            if self.on_stop is not None:
                await self.on_stop()
        finally:
            await runner.cleanup()
