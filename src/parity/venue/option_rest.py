"""Option REST routes of the local venue: contracts on the trading API
(`/v2/options/contracts[/{symbol_or_id}]`) and chain snapshots and latest quotes on the data
API (`/v1beta1/options/snapshots/{underlying}`, `/v1beta1/options/snapshots`,
`/v1beta1/options/quotes/latest`), in the shapes `alpaca-options-protocol.md` describes, from
the venue's model chains at its clock."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import Any

from aiohttp import web

from parity.options.chain import Quote
from parity.venue.clock import rfc3339
from parity.venue.options import contract_json, is_option_symbol
from parity.venue.orders import VenueError
from parity.venue.state import VenueState
from parity.venue.streams import STATE

CONTRACTS_LIMIT, CONTRACTS_MAX = 100, 10_000
SNAPSHOTS_LIMIT, SNAPSHOTS_MAX = 100, 1_000


def _state(request: web.Request) -> tuple[VenueState, dt.datetime]:
    state: VenueState = request.app[STATE]
    return state, state.calendar.naive(state.now)


def _bad(name: str, value: str, example: str) -> VenueError:
    return VenueError(422, 42210000, f"invalid {name}: {value!r} (e.g. {example})")


def _date(query: Any, name: str) -> dt.date | None:
    text = query.get(name)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _bad(name, text, "2024-01-19") from None


def _number(query: Any, name: str) -> float | None:
    text = query.get(name)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise _bad(name, text, "470") from None


def _limit(query: Any, default: int, most: int) -> int:
    text = query.get("limit")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad("limit", text, str(default)) from None
    if not 1 <= value <= most:
        raise VenueError(422, 42210000, f"limit must be between 1 and {most}")
    return value


def _page(items: list[Any], query: Any, size: int) -> tuple[list[Any], str | None]:
    token = query.get("page_token")
    offset = 0
    if token:
        try:
            offset = int(base64.b64decode(token.encode(), validate=True).decode())
        except (ValueError, binascii.Error):
            raise VenueError(400, 40010000, f"invalid page_token: {token!r}") from None
    end = offset + size
    following = base64.b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[offset:end], following


def _filters(query: Any, today: dt.date) -> list[Callable[[Quote], bool]]:
    """The contract filters Alpaca's contracts and chain endpoints share."""
    checks: list[Callable[[Quote], bool]] = []
    on, gte, lte = (_date(query, f"expiration_date{s}") for s in ("", "_gte", "_lte"))
    low, high = _number(query, "strike_price_gte"), _number(query, "strike_price_lte")
    right, root = query.get("type"), query.get("root_symbol")
    if right and right not in ("call", "put"):
        raise _bad("type", right, "put")
    if on is not None:
        checks.append(lambda q: q.contract.expiry == on)
    if gte is not None:
        checks.append(lambda q: q.contract.expiry >= gte)
    if lte is not None:
        checks.append(lambda q: q.contract.expiry <= lte)
    if low is not None:
        checks.append(lambda q: q.contract.strike >= low - 1e-9)
    if high is not None:
        checks.append(lambda q: q.contract.strike <= high + 1e-9)
    if right:
        checks.append(lambda q: q.contract.right == right)
    if root:
        checks.append(lambda q: q.contract.underlying == root.upper())
    return checks


async def get_option_contracts(request: web.Request) -> web.Response:
    state, now = _state(request)
    query = request.query
    underlyings = [s.strip().upper() for s in query.get("underlying_symbols", "").split(",")]
    underlyings = [s for s in underlyings if s]
    checks = _filters(query, now.date())
    if not query.get("expiration_date") and not query.get("expiration_date_lte"):
        # Alpaca's default: contracts expiring by the coming weekend
        weekend = now.date() + dt.timedelta(days=6 - now.date().weekday())
        checks.append(lambda q: q.contract.expiry <= weekend)
    style = query.get("style")
    if style and style not in ("american", "european"):
        raise _bad("style", style, "american")
    if style:
        checks.append(lambda q: q.contract.style == style)
    status = query.get("status") or "active"
    if status not in ("active", "inactive"):
        raise _bad("status", status, "active")
    listed = [] if status == "inactive" else state.options.listed(now, underlyings or None)
    found = [q for q in listed if all(check(q) for check in checks)]
    page, token = _page(found, query, _limit(query, CONTRACTS_LIMIT, CONTRACTS_MAX))
    return web.json_response(
        {"option_contracts": [contract_json(q.contract) for q in page], "next_page_token": token}
    )


async def get_option_contract(request: web.Request) -> web.Response:
    state, now = _state(request)
    return web.json_response(
        contract_json(state.options.contract(request.match_info["symbol_or_id"], now))
    )


def quote_wire(state: VenueState, quote: Quote) -> dict[str, Any]:
    """A model quote on the wire (no sizes in a model: 0; exchange `N` for the venue); prices
    as the chain rounds them (to its tick, at most 6 decimals)."""
    return {
        "t": rfc3339(state.calendar.aware(quote.time)),
        "bx": "N",
        "bp": round(quote.bid, 6),
        "bs": int(quote.bid_size or 0),
        "ax": "N",
        "ap": round(quote.ask, 6),
        "as": int(quote.ask_size or 0),
        "c": " ",
    }


def snapshot_wire(state: VenueState, quote: Quote) -> dict[str, Any]:
    greeks = {k: round(getattr(quote, k), 6) for k in ("delta", "gamma", "rho", "theta", "vega")}
    return {
        "latestQuote": quote_wire(state, quote),
        "latestTrade": None,  # a model chain quotes; nothing traded
        "greeks": greeks,
        "impliedVolatility": round(quote.iv, 6),
    }


async def get_option_chain(request: web.Request) -> web.Response:
    state, now = _state(request)
    underlying = request.match_info["underlying_symbol"].upper()
    checks = _filters(request.query, now.date())
    found = [q for q in state.options.listed(now, [underlying]) if all(c(q) for c in checks)]
    page, token = _page(found, request.query, _limit(request.query, SNAPSHOTS_LIMIT, SNAPSHOTS_MAX))
    return web.json_response(
        {"snapshots": {q.symbol: snapshot_wire(state, q) for q in page}, "next_page_token": token}
    )


def _symbols(request: web.Request) -> list[str]:
    symbols = [s.strip().upper() for s in request.query.get("symbols", "").split(",")]
    symbols = [s for s in symbols if s]
    if not symbols:
        raise VenueError(400, 40010001, "symbols is required")
    for symbol in symbols:
        if not is_option_symbol(symbol):
            raise VenueError(400, 40010001, f"invalid symbol: {symbol!r} is not an OCC symbol")
    return symbols


async def get_option_snapshots(request: web.Request) -> web.Response:
    state, now = _state(request)
    quotes = [state.options.quote(s, now) for s in _symbols(request)]
    body = {q.symbol: snapshot_wire(state, q) for q in quotes if q is not None}
    return web.json_response({"snapshots": body, "next_page_token": None})


async def get_option_latest_quotes(request: web.Request) -> web.Response:
    state, now = _state(request)
    quotes = [state.options.quote(s, now) for s in _symbols(request)]
    return web.json_response({"quotes": {q.symbol: quote_wire(state, q) for q in quotes if q}})


def add_option_routes(app: web.Application) -> None:
    """Register the option routes (trading and data APIs share the venue's port)."""
    r = app.router
    r.add_get("/v2/options/contracts", get_option_contracts)
    r.add_get("/v2/options/contracts/{symbol_or_id}", get_option_contract)
    r.add_get("/v1beta1/options/snapshots/{underlying_symbol}", get_option_chain)
    r.add_get("/v1beta1/options/snapshots", get_option_snapshots)
    r.add_get("/v1beta1/options/quotes/latest", get_option_latest_quotes)
