"""`/v1beta1/indicative` and `/v1beta1/opra`: the option data stream `OptionDataStream` reads.
msgpack only (a JSON client gets Alpaca's 412 and is closed); `connected` → `auth` →
`subscribe`/`unsubscribe` on `trades` and `quotes` of OCC symbols (no `*` on quotes: 413). On
each replay step every subscribed contract's quote is sent: the quote an order meets at that
step (`VenueOptions.step_quote`), so a strategy watching the stream sees what it trades at. A
model chain quotes and never trades: `trades` subscriptions are acknowledged and stay quiet."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from parity.venue.options import is_option_symbol
from parity.venue.state import DataConn
from parity.venue.streams import STATE, _decode, keys_ok

CHANNELS = ("trades", "quotes")


def _subscription(conn: DataConn) -> dict[str, Any]:
    return {"T": "subscription", **{c: sorted(conn.subs.get(c, set())) for c in CHANNELS}}


def _error(code: int, message: str) -> list[dict[str, Any]]:
    return [{"T": "error", "code": code, "msg": message}]


async def option_stream(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    conn = DataConn(ws, binary=True)
    if "msgpack" not in request.headers.get("Content-Type", "").lower():
        await DataConn(ws, binary=False).send(
            _error(412, "option messages are only available in MsgPack format")
        )
        await ws.close(code=1008, message=b"msgpack only")
        return ws
    await conn.send([{"T": "success", "msg": "connected"}])
    authed = False
    try:
        async for msg in ws:
            data = _decode(msg)
            if data is None:
                continue
            action = data.get("action")
            if action == "auth":
                if keys_ok(state, data.get("key"), data.get("secret")):
                    authed = True
                    state.option_conns.add(conn)
                    await conn.send([{"T": "success", "msg": "authenticated"}])
                else:
                    await conn.send(_error(402, "auth failed"))
                    await ws.close(code=1008, message=b"auth failed")
                    break
            elif not authed:
                await conn.send(_error(401, "not authenticated"))
            elif action in ("subscribe", "unsubscribe"):
                refused = _apply(conn, data, subscribe=action == "subscribe")
                await conn.send(refused or [_subscription(conn)])
            else:
                await conn.send(_error(400, "invalid syntax"))
    finally:
        state.option_conns.discard(conn)
    return ws


def _apply(conn: DataConn, data: dict[str, Any], *, subscribe: bool) -> list[dict[str, Any]]:
    """Apply a (un)subscription; Alpaca's error for one it refuses (nothing applied)."""
    wanted: dict[str, set[str]] = {}
    for channel in CHANNELS:
        symbols = data.get(channel)
        if not isinstance(symbols, list):
            continue
        names = {str(s).upper() for s in symbols}
        if "*" in names and channel == "quotes" and subscribe:
            return _error(413, "star subscription is not allowed for option quotes")
        bad = sorted(n for n in names if n != "*" and not is_option_symbol(n))
        if bad:
            return _error(400, f"invalid syntax: {bad[0]!r} is not an OCC option symbol")
        wanted[channel] = names
    for channel, names in wanted.items():
        current = conn.subs.setdefault(channel, set())
        if subscribe:
            current |= names
        else:
            current -= names
    return []


def add_option_stream_routes(app: web.Application) -> None:
    for feed in ("indicative", "opra"):
        app.router.add_get(f"/v1beta1/{feed}", option_stream)
