"""Alpaca endpoints for things a replay of stock bars has none of: option contracts, option
exercise and corporate-action announcements. They answer what Alpaca answers for an account and
a market without them (an empty list, or a 404), so a program that asks gets a true answer."""

from __future__ import annotations

from aiohttp import web

from parity.venue.orders import VenueError


async def get_option_contracts(request: web.Request) -> web.Response:
    return web.json_response({"option_contracts": [], "next_page_token": None})


async def get_option_contract(request: web.Request) -> web.Response:
    raise VenueError(404, 40410000, "option contract not found: the venue replays stocks only")


async def post_exercise(request: web.Request) -> web.Response:
    raise VenueError(404, 40410000, "position does not exist")


async def get_announcements(request: web.Request) -> web.Response:
    query = request.query
    if not query.get("ca_types") or not query.get("since") or not query.get("until"):
        raise VenueError(422, 40010001, "ca_types, since and until are required")
    return web.json_response([])


async def get_announcement(request: web.Request) -> web.Response:
    raise VenueError(404, 40410000, "corporate action announcement not found")


def add_absent_routes(app: web.Application) -> None:
    """Register the option and corporate-action routes."""
    r = app.router
    r.add_get("/v2/options/contracts", get_option_contracts)
    r.add_get("/v2/options/contracts/{symbol_or_id}", get_option_contract)
    r.add_post("/v2/positions/{symbol}/exercise", post_exercise)
    r.add_get("/v2/corporate_actions/announcements", get_announcements)
    r.add_get("/v2/corporate_actions/announcements/{announcement_id}", get_announcement)
