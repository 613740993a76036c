"""Which `Host` headers the dashboard answers: the defence against DNS rebinding.

A page on `evil.example` whose name is re-pointed at 127.0.0.1 reaches the dashboard with
`Host: evil.example:8050`; only the names this server is known by are answered: `localhost`,
loopback addresses, the bound host, and (bound to every interface, e.g. `0.0.0.0`) any IP
address of the machine or its host name. An IP address in `Host` cannot be a rebinding.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (`127.0.0.1`, `::1`)."""
    name = host.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


def split_host(header: str) -> tuple[str, int | None] | None:
    """`Host` → (name, port or None); None when it cannot be parsed."""
    text = header.strip()
    if text.startswith("["):
        name, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        name, port = text.split(":")
    else:
        name, port = text, None
    if port is not None and not port.isdigit():
        return None
    return name.lower().rstrip("."), int(port) if port is not None else None


class HostCheck:
    """Whether a `Host` header names this server (bound to `host`, listening on `port()`)."""

    def __init__(self, host: str, port: Callable[[], int]) -> None:
        self.host = host.strip().lower().strip("[]")
        self.port = port

    def allows(self, header: str | None) -> bool:
        if not header:
            return True  # HTTP/1.0 without Host: no browser sends that
        parsed = split_host(header)
        if parsed is None:
            return False
        name, port = parsed
        if port is not None and port != self.port():
            return False
        if is_loopback(name) or name.strip("[]") == self.host:
            return True
        if self.host in WILDCARDS:
            return _ip(name) is not None or name == socket.gethostname().lower()
        return False

    def middleware(self) -> Middleware:
        """Refuse (403) a request whose `Host` is not one of this server's names."""

        @web.middleware
        async def host_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            header = request.headers.get("Host")
            if not self.allows(header):
                return web.Response(
                    status=403,
                    text=f"host {header!r} is not this dashboard's address; open it by the "
                    "address it listens on (e.g. http://127.0.0.1:PORT/)\n",
                )
            return await handler(request)

        return host_guard
