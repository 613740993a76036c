"""REST handlers: Alpaca's trading API (`/v2/account`, orders, positions, ...), market data
(`/v2/stocks/...`) and the venue's own control endpoints (`/parity/v1/...`)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiohttp import web

from parity.venue import crypto
from parity.venue.absent import add_absent_routes
from parity.venue.activities import add_activity_routes
from parity.venue.assets import asset_class
from parity.venue.configurations import add_configuration_routes
from parity.venue.faults import REST_ERROR_BODIES, plan_from_json
from parity.venue.models import (
    account_json,
    asset_json,
    calendar_json,
    clock_json,
    order_json,
    position_json,
)
from parity.venue.option_rest import add_option_routes
from parity.venue.orders import Order, VenueError, asset_id, invalid
from parity.venue.portfolio import add_portfolio_routes
from parity.venue.snapshots import add_snapshot_routes
from parity.venue.state import VenueState
from parity.venue.streams import STATE, keys_ok
from parity.venue.watchlists import add_watchlist_routes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CRYPTO_STREAM = "/v1beta3/crypto/us"  # alpaca-py's CryptoDataStream (CryptoFeed.US)
STREAM_PATHS = frozenset(
    {"/stream", "/v2/iex", "/v2/sip", "/v2/test", "/v2/delayed_sip", CRYPTO_STREAM}
    | {"/v1beta1/indicative", "/v1beta1/opra"}  # the option data stream
)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    return _json({"code": code, "message": message, **extra}, status=status)


def _flag(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("true", "1", "yes")


# --------------------------------------------------------------------------- middlewares
@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as Alpaca's JSON error body."""
    try:
        return await handler(request)
    except VenueError as exc:
        return _json(exc.body(), status=exc.status)
    except web.HTTPNotFound:
        return _error(404, 40410000, f"endpoint not found: {request.method} {request.path}")
    except web.HTTPMethodNotAllowed:
        return _error(405, 40510000, f"method not allowed: {request.method} {request.path}")


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Injected REST errors (count-based), for every REST path except `/parity/*`."""
    if request.path.startswith("/parity/") or request.path in STREAM_PATHS:
        return await handler(request)
    fault = request.app[STATE].faults.next_rest_error()
    if fault is None:
        return await handler(request)
    status, carried_out = fault
    if carried_out:  # the request takes effect (or is refused); either way its answer is lost
        with contextlib.suppress(VenueError):
            await handler(request)
    code, message = REST_ERROR_BODIES[status]
    return _error(status, code, message)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`APCA-API-KEY-ID`/`APCA-API-SECRET-KEY` (or HTTP Basic) on every `/v2` REST path, and on
    the venue's `/parity/` control paths when keys are configured (`--key-id`). A control POST
    must be JSON: a cross-origin page can send a `text/plain` or form POST without asking, never
    a JSON one, so refusing the others (415) keeps a web page from driving the venue."""
    if request.path in STREAM_PATHS:
        return await handler(request)
    control = request.path.startswith("/parity/")
    if control and request.method == "POST" and request.content_type != "application/json":
        return _error(415, 41510000, "control requests must be application/json")
    if control and request.app[STATE].config.keys is None:
        return await handler(request)
    key = request.headers.get("APCA-API-KEY-ID")
    secret = request.headers.get("APCA-API-SECRET-KEY")
    auth = request.headers.get("Authorization", "")
    if key is None and auth.lower().startswith("basic "):
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, binascii.Error):
            key = None
    if not keys_ok(request.app[STATE], key, secret):
        return _error(401, 40110000, "request is not authorized")
    return await handler(request)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json() if request.can_read_body else {}
    except (ValueError, UnicodeDecodeError):
        raise VenueError(400, 40010000, "request body format is invalid") from None
    if not isinstance(body, dict):
        raise VenueError(400, 40010000, "request body format is invalid")
    return body


def _order_id(request: web.Request) -> str:
    raw = request.match_info["order_id"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise invalid("order_id is missing") from None


def _state(request: web.Request) -> VenueState:
    return request.app[STATE]


# --------------------------------------------------------------------------- account & market
async def get_account(request: web.Request) -> web.Response:
    return _json(account_json(_state(request).engine))


async def get_clock(request: web.Request) -> web.Response:
    state = _state(request)
    return _json(clock_json(state.calendar, state.now))


async def get_calendar(request: web.Request) -> web.Response:
    state = _state(request)
    query = request.query
    try:
        start = date.fromisoformat(query["start"][:10]) if query.get("start") else None
        end = date.fromisoformat(query["end"][:10]) if query.get("end") else None
    except ValueError:
        raise invalid("start and end must be YYYY-MM-DD dates") from None
    days = state.calendar.session_dates(start, end)
    return _json([calendar_json(d, state.calendar) for d in days])


def _find_symbol(state: VenueState, ref: str) -> str:
    for symbol in state.data.symbols:
        if ref.upper() == symbol or ref == asset_id(symbol):
            return symbol
    raise VenueError(404, 40410000, "asset not found")


async def get_assets(request: web.Request) -> web.Response:
    state = _state(request)
    status = request.query.get("status")
    if status not in (None, "", "active"):
        return _json([])
    wanted = request.query.get("asset_class")  # `us_equity` or `crypto` (GetAssetsRequest)
    symbols = [s for s in state.data.symbols if not wanted or asset_class(s) == wanted]
    return _json([asset_json(s) for s in symbols])


async def get_asset(request: web.Request) -> web.Response:
    state = _state(request)
    return _json(asset_json(_find_symbol(state, request.match_info["symbol"])))


# --------------------------------------------------------------------------- orders
async def post_order(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _body(request)
    order = state.engine.submit(body)
    status = order.status
    data = order_json(order)
    if status == "new":
        data["status"] = "accepted"  # the REST answer shows the pre-ack state, as Alpaca does
    state.flush_events()
    return _json(data)


def _list_filter(request: web.Request, order: Order) -> bool:
    query = request.query
    status = query.get("status", "open")
    if status == "open" and not order.is_open:
        return False
    if status == "closed" and order.is_open:
        return False
    symbols = query.get("symbols")
    if symbols and order.symbol not in {s.strip().upper() for s in symbols.split(",")}:
        return False
    side = query.get("side")
    if side and order.side != side:
        return False
    after, until = query.get("after"), query.get("until")
    parse = _state(request).calendar.parse
    if after and order.created_at <= parse(after):
        return False
    return not (until and order.created_at >= parse(until))


async def get_orders(request: web.Request) -> web.Response:
    state = _state(request)
    nested = _flag(request.query.get("nested"))
    try:
        limit = int(request.query.get("limit", 50))
    except ValueError:
        raise invalid("limit must be an integer") from None
    orders = [
        o
        for o in state.engine.orders.values()
        if (not nested or o.parent_id is None) and _list_filter(request, o)
    ]
    if request.query.get("direction", "desc") != "asc":
        orders.reverse()
    return _json([order_json(o) for o in orders[: max(limit, 0)]])


async def delete_orders(request: web.Request) -> web.Response:
    state = _state(request)
    canceled = state.engine.cancel_all()
    state.flush_events()
    return _json([{"id": o.id, "status": 200, "body": order_json(o)} for o in canceled], 207)


async def get_order(request: web.Request) -> web.Response:
    return _json(order_json(_state(request).engine.get(_order_id(request))))


async def get_order_by_client_id(request: web.Request) -> web.Response:
    cid = request.query.get("client_order_id", "")
    return _json(order_json(_state(request).engine.get_by_client_id(cid)))


async def patch_order(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _body(request)
    order = state.engine.replace(_order_id(request), body)
    data = order_json(order)
    data["status"] = "accepted"
    state.flush_events()
    return _json(data)


async def delete_order(request: web.Request) -> web.Response:
    state = _state(request)
    state.engine.cancel(_order_id(request))
    state.flush_events()
    return web.Response(status=204)


# --------------------------------------------------------------------------- positions
async def get_positions(request: web.Request) -> web.Response:
    engine = _state(request).engine
    return _json([position_json(engine, s) for s in sorted(engine.positions)])


async def get_position(request: web.Request) -> web.Response:
    state = _state(request)
    symbol = _position_symbol(state, request.match_info["symbol"])
    if symbol is None:
        raise VenueError(404, 40410000, "position does not exist")
    return _json(position_json(state.engine, symbol))


def _position_symbol(state: VenueState, ref: str) -> str | None:
    """The held symbol `ref` names: the symbol, its asset id, or a pair without its slash."""
    held = list(state.engine.positions)
    by_id = next((s for s in held if ref == asset_id(s)), None)
    return by_id or crypto.symbol_for_position(ref, held)


def _float_query(request: web.Request, key: str) -> float | None:
    value = request.query.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        raise invalid(f"{key} is not a number: {value!r}") from None


async def delete_position(request: web.Request) -> web.Response:
    state = _state(request)
    ref = request.match_info["symbol"]
    symbol = _position_symbol(state, ref) or ref
    order = state.engine.close_position(
        symbol, qty=_float_query(request, "qty"), percentage=_float_query(request, "percentage")
    )
    state.flush_events()
    return _json(order_json(order))


async def delete_positions(request: web.Request) -> web.Response:
    state = _state(request)
    results = state.engine.close_all(cancel_orders=_flag(request.query.get("cancel_orders")))
    state.flush_events()
    out = []
    for symbol, result in results:
        if isinstance(result, VenueError):
            out.append({"symbol": symbol, "status": result.status, "body": result.body()})
        else:
            out.append(
                {"symbol": symbol, "status": 200, "order_id": result.id, "body": order_json(result)}
            )
    return _json(out, 207)


# --------------------------------------------------------------------------- market data
def _limit(request: web.Request) -> int | None:
    value = request.query.get("limit")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid("limit must be an integer") from None


async def get_bars(request: web.Request) -> web.Response:
    state = _state(request)
    query = request.query
    symbols = [s.strip().upper() for s in query.get("symbols", "").split(",") if s.strip()]
    if not symbols:
        raise invalid("symbols is required")
    bars, token = _history(state, request, symbols)
    return _json({"bars": bars, "next_page_token": token, "currency": "USD"})


async def get_symbol_bars(request: web.Request) -> web.Response:
    state = _state(request)
    symbol = request.match_info["symbol"].upper()
    bars, token = _history(state, request, [symbol])
    return _json({"bars": bars.get(symbol, []), "symbol": symbol, "next_page_token": token})


def _history(
    state: VenueState, request: web.Request, symbols: list[str]
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    query = request.query
    try:
        return state.data.history(
            symbols,
            query.get("timeframe", "1Min"),
            before=state.calendar.naive(state.now),
            start=query.get("start"),
            end=query.get("end"),
            limit=_limit(request),
            page_token=query.get("page_token"),
            descending=query.get("sort") == "desc",
        )
    except ValueError as exc:
        raise invalid(f"invalid request: {exc}") from None


async def get_latest_bars(request: web.Request) -> web.Response:
    state = _state(request)
    symbols = [s.strip().upper() for s in request.query.get("symbols", "").split(",") if s]
    return _json({"bars": state.data.latest(symbols, before=state.calendar.naive(state.now))})


# --------------------------------------------------------------------------- parity control
async def post_ack(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _body(request)
    through = body.get("through")
    if not isinstance(through, str):
        raise invalid('ack needs {"through": "<ISO naive exchange-time bar time>"}')
    try:
        moment = state.calendar.parse_naive(through)
    except ValueError:
        raise invalid(f"through {through!r} is not an ISO time") from None
    return _json(state.ack(moment))


async def get_status(request: web.Request) -> web.Response:
    return _json(_state(request).status())


async def get_snapshot(request: web.Request) -> web.Response:
    return _json(_state(request).snapshot())


async def post_oco_first(request: web.Request) -> web.Response:
    """`POST /parity/v1/oco_first {"client_order_id": ...}`: the `oco` order about to be sent
    with that client id had its stop leg placed first, so it is matched first. Alpaca's one
    request for the pair cannot say which was placed first; a bar-by-bar venue must know when
    both legs trigger on one bar (Backtrader fills the order placed first)."""
    state = _state(request)
    body = await _body(request)
    cid = body.get("client_order_id")
    if not isinstance(cid, str) or not cid:
        raise invalid('oco_first needs {"client_order_id": "<the oco order\'s client id>"}')
    state.engine.leg_first_ids.add(cid)
    return _json({"client_order_id": cid, "first": "stop_loss"})


async def post_faults(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _body(request)
    try:
        plan = plan_from_json(body)
    except (ValueError, TypeError) as exc:
        raise invalid(str(exc)) from None
    state.faults.add(plan)
    return _json(state.faults.describe())


def add_routes(app: web.Application) -> None:
    """Register every REST route."""
    r = app.router
    add_option_routes(app)  # option contracts, chain snapshots and quotes
    r.add_get("/v2/account", get_account)
    r.add_get("/v2/clock", get_clock)
    r.add_get("/v2/calendar", get_calendar)
    r.add_get("/v2/assets", get_assets)
    r.add_get("/v2/assets/{symbol:.+}", get_asset)  # a pair's slash is not escaped
    r.add_get("/v2/orders", get_orders)
    r.add_post("/v2/orders", post_order)
    r.add_delete("/v2/orders", delete_orders)
    r.add_get("/v2/orders:by_client_order_id", get_order_by_client_id)
    r.add_get("/v2/orders/{order_id}", get_order)
    r.add_patch("/v2/orders/{order_id}", patch_order)
    r.add_delete("/v2/orders/{order_id}", delete_order)
    r.add_get("/v2/positions", get_positions)
    r.add_delete("/v2/positions", delete_positions)
    r.add_get("/v2/positions/{symbol:.+}", get_position)
    r.add_delete("/v2/positions/{symbol:.+}", delete_position)
    r.add_get("/v2/stocks/bars", get_bars)
    r.add_get("/v2/stocks/bars/latest", get_latest_bars)
    r.add_get("/v2/stocks/{symbol}/bars", get_symbol_bars)
    # crypto market data as alpaca-py's CryptoHistoricalDataClient asks for it (same bodies)
    r.add_get(f"{CRYPTO_STREAM}/bars", get_bars)
    r.add_get(f"{CRYPTO_STREAM}/latest/bars", get_latest_bars)
    add_configuration_routes(app)
    add_portfolio_routes(app)
    add_activity_routes(app)
    add_snapshot_routes(app)
    add_watchlist_routes(app)
    add_absent_routes(app)
    r.add_post("/parity/v1/ack", post_ack)
    r.add_get("/parity/v1/status", get_status)
    r.add_get("/parity/v1/snapshot", get_snapshot)
    r.add_post("/parity/v1/faults", post_faults)
    r.add_post("/parity/v1/oco_first", post_oco_first)
