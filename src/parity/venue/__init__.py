"""The local Alpaca-compatible paper venue: one aiohttp server on 127.0.0.1 serving the trading
REST API, the market-data REST API, the trading websocket (`/stream`, JSON trade_updates) and the
market-data websocket (`/v2/iex`, `/v2/sip`, msgpack bars), replaying recorded bars under a
simulated market clock. alpaca-py 0.44 talks to it unchanged through `url_override`.

Public API: `VenueConfig`, `FaultPlan`, `VenueServer`.
"""

from __future__ import annotations

from parity.venue.config import FaultPlan, VenueConfig
from parity.venue.server import VenueServer

__all__ = ["FaultPlan", "VenueConfig", "VenueServer"]
