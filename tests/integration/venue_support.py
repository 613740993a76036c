"""What the integration tests that run `parity run paper` as a real process against a local venue
share: the `parity` command line, a slowed-down sma_cross (so a kill lands inside a bar), a
lock-step venue on the bundled minutes of IBM, the environment that points alpaca-py at a venue,
and a free loopback port."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from parity.feeds.loader import load_bars
from parity.venue.config import VenueConfig
from parity.venue.server import VenueServer

PARITY = [sys.executable, "-c", "from parity.cli import main; main()"]

_SLOW = '''
import time

from parity.strategies.sma_cross import SmaCross


class SlowSmaCross(SmaCross):
    """sma_cross taking {ms} ms a bar: {why}."""

    def next(self):
        time.sleep({seconds!r})
        super().next()
'''


def write_slow_strategy(directory: Path, ms: int, why: str) -> Path:
    """`directory/slow.py` holding `SlowSmaCross`: sma_cross sleeping `ms` milliseconds a bar."""
    path = directory / "slow.py"
    path.write_text(_SLOW.format(ms=ms, why=why, seconds=ms / 1000))
    return path


def lockstep_venue(
    start: dt.date, end: dt.date | None = None, *, ack_timeout: float = 3600.0
) -> VenueServer:
    """A started venue replaying IBM's bundled minutes from `start` to `end` (default: `start`),
    waiting up to `ack_timeout` seconds for the client to acknowledge each bar."""
    data = load_bars("sample:minute", ["IBM"], start=start, end=end or start)
    venue = VenueServer(VenueConfig(data=data, ack_timeout=ack_timeout))
    venue.start()
    return venue


def venue_urls(venue: VenueServer) -> dict[str, str]:
    """The alpaca-py endpoint variables for `venue`."""
    return {
        "APCA_API_BASE_URL": venue.base_url,
        "APCA_API_DATA_URL": venue.base_url,
        "APCA_API_STREAM_URL": venue.trading_stream_url,
        "APCA_DATA_STREAM_URL": venue.data_stream_url,
    }


def port_urls(port: int) -> dict[str, str]:
    """The alpaca-py endpoint variables for a venue that is (or will be) served on `port`."""
    return {
        "APCA_API_BASE_URL": f"http://127.0.0.1:{port}",
        "APCA_API_DATA_URL": f"http://127.0.0.1:{port}",
        "APCA_API_STREAM_URL": f"ws://127.0.0.1:{port}/stream",
        "APCA_DATA_STREAM_URL": f"ws://127.0.0.1:{port}/v2/iex",
    }


def client_env(urls: dict[str, str], key: str, secret: str | None = None) -> dict[str, str]:
    """This process's environment plus the keys and endpoints a `parity` child process uses."""
    keys = {"APCA_API_KEY_ID": key, "APCA_API_SECRET_KEY": secret or key}
    return {**os.environ, **keys, **urls}


def venue_env(venue: VenueServer, key: str, secret: str | None = None) -> dict[str, str]:
    """The environment of a `parity` child process trading on `venue`."""
    return client_env(venue_urls(venue), key, secret)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_artifacts(run_dir: Path) -> dict[str, pd.DataFrame]:
    """A paper run's trades, fills and equity as compared across crash and uninterrupted runs
    (client order ids are numbered per decision sent, so fills leave them out)."""
    fills = pd.read_csv(run_dir / "fills.csv")
    return {
        "trades": pd.read_csv(run_dir / "trades.csv"),
        "fills": fills.drop(columns=["order_id", "client_order_id"]),
        "equity": pd.read_csv(run_dir / "equity.csv"),
    }


def snapshot_account(snapshot: dict[str, Any]) -> tuple[float, dict[str, float]]:
    """A venue snapshot's cash (to the cent) and non-zero positions."""
    held = {s: float(p["qty"]) for s, p in snapshot["positions"].items() if float(p["qty"])}
    return round(float(snapshot["account"]["cash"]), 2), held
