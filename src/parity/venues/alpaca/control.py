"""A kept-alive HTTP connection for a parity venue's control endpoints (`/parity/v1/...`)."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Any

from parity.venues.alpaca.config import AlpacaCredentials


class ControlClient:
    """A kept-alive plain HTTP connection for the venue's lock-step acks (one per bar: requests'
    per-call overhead was most of a rehearsal's time per bar)."""

    def __init__(self, base_url: str | None, credentials: AlpacaCredentials) -> None:
        self._base = urllib.parse.urlsplit(base_url) if base_url else None
        self._conn: http.client.HTTPConnection | None = None
        self._headers = {
            "APCA-API-KEY-ID": credentials.key_id,
            "APCA-API-SECRET-KEY": credentials.secret_key,
            "Content-Type": "application/json",
        }
        self._lock = threading.Lock()

    def request(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        assert self._base is not None
        data = json.dumps(body).encode() if body is not None else None
        with self._lock:
            for attempt in (1, 2):  # a kept-alive socket the server closed: reconnect once
                if self._conn is None:
                    host, port = self._base.hostname or "127.0.0.1", self._base.port or 80
                    self._conn = http.client.HTTPConnection(host, port, timeout=30)
                try:
                    self._conn.request(method, path, body=data, headers=self._headers)
                    response = self._conn.getresponse()
                    raw = response.read()
                except (http.client.HTTPException, OSError):
                    self.close()
                    if attempt == 2:
                        raise OSError(f"venue control {path} failed") from None
                    continue
                payload = json.loads(raw) if raw else None
                return response.status, payload
        raise OSError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
