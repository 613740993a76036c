"""Alpaca endpoints for things a replay of stock bars has none of: option exercise (the venue
does not exercise before expiry) and corporate-action announcements. They answer what Alpaca
answers for an account and a market without them (an empty list, or a 404), so a program that
asks gets a true answer."""

from __future__ import annotations

from aiohttp import web

from parity.venue.orders import VenueError


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
    """Register the exercise and corporate-action routes."""
    r = app.router
    r.add_post("/v2/positions/{symbol}/exercise", post_exercise)
    r.add_get("/v2/corporate_actions/announcements", get_announcements)
    r.add_get("/v2/corporate_actions/announcements/{announcement_id}", get_announcement)
