"""`/v2/watchlists`: named, ordered lists of the venue's symbols, kept in memory (create, list,
get, rename/replace, add, remove a symbol, delete) as alpaca-py's `TradingClient` calls them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from parity.venue.clock import rfc3339
from parity.venue.models import ACCOUNT_ID, asset_json
from parity.venue.orders import VenueError, asset_id, invalid
from parity.venue.state import VenueState
from parity.venue.streams import STATE


@dataclass
class Watchlist:
    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    symbols: list[str] = field(default_factory=list)

    def json(self, *, assets: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "account_id": ACCOUNT_ID,
            "name": self.name,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        }
        if assets:
            body["assets"] = [asset_json(s) for s in self.symbols]
        return body


class Watchlists:
    """The account's watchlists by id (one per app; the app is frozen, this object is not)."""

    def __init__(self) -> None:
        self.by_id: dict[str, Watchlist] = {}


WATCHLISTS: web.AppKey[Watchlists] = web.AppKey("parity_watchlists", Watchlists)


def _symbol(state: VenueState, ref: Any) -> str:
    for symbol in state.data.symbols:
        if str(ref).upper() == symbol or ref == asset_id(symbol):
            return symbol
    raise VenueError(404, 40410000, f"asset not found: {ref!r}")


def _find(request: web.Request) -> Watchlist:
    found = request.app[WATCHLISTS].by_id.get(request.match_info["watchlist_id"])
    if found is None:
        raise VenueError(404, 40410000, "watchlist not found")
    return found


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise VenueError(400, 40010000, "request body format is invalid") from None
    if not isinstance(body, dict):
        raise VenueError(400, 40010000, "request body format is invalid")
    return body


def _check_name(request: web.Request, name: Any, current: Watchlist | None = None) -> str:
    if not isinstance(name, str) or not name or len(name) > 64:
        raise invalid("name must be a string of 1 to 64 characters")
    for other in request.app[WATCHLISTS].by_id.values():
        if other.name == name and other is not current:
            raise invalid(f"watchlist name {name!r} already exists")
    return name


def _symbols(state: VenueState, symbols: Any) -> list[str]:
    if not isinstance(symbols, list):
        raise invalid("symbols must be a list of symbols")
    return list(dict.fromkeys(_symbol(state, s) for s in symbols))


async def get_watchlists(request: web.Request) -> web.Response:
    lists = request.app[WATCHLISTS].by_id.values()
    return web.json_response([w.json(assets=False) for w in lists])


async def post_watchlist(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _body(request)
    name = _check_name(request, body.get("name"))
    symbols = _symbols(state, body.get("symbols") or [])
    now = state.now
    watchlist = Watchlist(str(uuid.uuid4()), name, now, now, symbols)
    request.app[WATCHLISTS].by_id[watchlist.id] = watchlist
    return web.json_response(watchlist.json())


async def get_watchlist(request: web.Request) -> web.Response:
    return web.json_response(_find(request).json())


async def put_watchlist(request: web.Request) -> web.Response:
    state = request.app[STATE]
    watchlist = _find(request)
    body = await _body(request)
    if body.get("name") is not None:
        watchlist.name = _check_name(request, body["name"], watchlist)
    if body.get("symbols") is not None:
        watchlist.symbols = _symbols(state, body["symbols"])
    watchlist.updated_at = state.now
    return web.json_response(watchlist.json())


async def post_watchlist_asset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    watchlist = _find(request)
    symbol = _symbol(state, (await _body(request)).get("symbol"))
    if symbol not in watchlist.symbols:
        watchlist.symbols.append(symbol)
    watchlist.updated_at = state.now
    return web.json_response(watchlist.json())


async def delete_watchlist_asset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    watchlist = _find(request)
    symbol = _symbol(state, request.match_info["symbol"])
    if symbol not in watchlist.symbols:
        raise VenueError(404, 40410000, f"{symbol} is not in watchlist {watchlist.name!r}")
    watchlist.symbols.remove(symbol)
    watchlist.updated_at = state.now
    return web.json_response(watchlist.json())


async def delete_watchlist(request: web.Request) -> web.Response:
    watchlist = _find(request)
    del request.app[WATCHLISTS].by_id[watchlist.id]
    return web.Response(status=204)


def add_watchlist_routes(app: web.Application) -> None:
    """Register the watchlist routes (and the store they share)."""
    app[WATCHLISTS] = Watchlists()
    r = app.router
    r.add_get("/v2/watchlists", get_watchlists)
    r.add_post("/v2/watchlists", post_watchlist)
    r.add_get("/v2/watchlists/{watchlist_id}", get_watchlist)
    r.add_put("/v2/watchlists/{watchlist_id}", put_watchlist)
    r.add_post("/v2/watchlists/{watchlist_id}", post_watchlist_asset)
    r.add_delete("/v2/watchlists/{watchlist_id}", delete_watchlist)
    r.add_delete("/v2/watchlists/{watchlist_id}/{symbol}", delete_watchlist_asset)
