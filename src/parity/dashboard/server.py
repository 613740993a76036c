"""`DashboardServer`: the dashboard's aiohttp application on one port, served by a background
thread that owns its own asyncio loop (a `ThreadedSite`, as the local venue)."""

from __future__ import annotations

import errno
from types import TracebackType

from aiohttp import web

from parity.aiosite import START_TIMEOUT, SiteTimeout, ThreadedSite
from parity.dashboard.app import build_app
from parity.dashboard.catalog import Catalog
from parity.dashboard.hosts import HostCheck
from parity.dashboard.twin import TwinWorker
from parity.errors import ConfigError


class DashboardServer:
    """The dashboard on `host:port` (port 0 = any free port). `start()` returns once the port
    listens (a port in use is a one-line `ConfigError`); `stop()` closes it and joins. Only
    requests for this server's own names are answered (`HostCheck`)."""

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
        self._site = ThreadedSite(self._app, name="parity-dashboard", host=host, port=port)
        self.hosts = HostCheck(host, lambda: self._site.port)

    @property
    def host(self) -> str:
        return self._site.host

    @property
    def port(self) -> int:
        return self._site.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def _app(self) -> web.Application:
        return build_app(self.catalog, self.worker, self.hosts)

    def start(self) -> None:
        try:
            self._site.start()
        except SiteTimeout:
            raise ConfigError(f"the dashboard did not start within {START_TIMEOUT:.0f}s") from None
        except Exception as error:
            if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {self.port} on {self.host} is in use; pass --port 0 for a free "
                    "port, or stop the program using it"
                ) from None
            raise ConfigError(
                f"the dashboard could not listen on {self.host}:{self.port} ({error}); "
                "check --host and --port"
            ) from error

    def stop(self) -> None:
        self._site.stop()

    def wait(self) -> None:
        """Block until the server stops (Ctrl+C raises KeyboardInterrupt here)."""
        self._site.wait()

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
