"""The two websockets: `/stream` (trade_updates, JSON, Alpaca's authenticate/listen handshake)
and `/v2/iex`, `/v2/sip` (market data, msgpack when the client asks for it, JSON otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import msgpack
from aiohttp import WSMsgType, web

from parity.venue.state import DataConn, TradingConn, VenueState

STATE: web.AppKey[VenueState] = web.AppKey("parity_venue_state", VenueState)
CHANNELS = (
    "trades",
    "quotes",
    "bars",
    "updatedBars",
    "dailyBars",
    "statuses",
    "lulds",
    "corrections",
    "cancelErrors",
)
MAX_MESSAGE = 8 * 1024 * 1024


def keys_ok(state: VenueState, key: Any, secret: Any) -> bool:
    """Configured keys must match exactly; without configured keys any non-empty key passes."""
    expected = state.config.keys
    if expected is None:
        return bool(key)
    return (key, secret) == expected


def _decode(msg: Any) -> dict[str, Any] | None:
    try:
        if msg.type == WSMsgType.BINARY:
            try:
                value = msgpack.unpackb(msg.data, raw=False)
            except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
                value = json.loads(msg.data)
        elif msg.type == WSMsgType.TEXT:
            value = json.loads(msg.data)
        else:
            return None
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


async def trading_stream(request: web.Request) -> web.WebSocketResponse:
    """`/stream`: authenticate, listen to trade_updates, then receive one JSON object per frame."""
    state = request.app[STATE]
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    conn = TradingConn(ws)
    writer = asyncio.create_task(_writer(conn))
    authed = False
    try:
        async for msg in ws:
            data = _decode(msg)
            if data is None:
                continue
            action = data.get("action")
            if action in ("authenticate", "auth"):
                inner = data.get("data")
                payload: dict[str, Any] = inner if isinstance(inner, dict) else data
                key = payload.get("key_id", payload.get("key"))
                secret = payload.get("secret_key", payload.get("secret"))
                authed = keys_ok(state, key, secret)
                status = "authorized" if authed else "unauthorized"
                await _send_json(
                    ws,
                    {
                        "stream": "authorization",
                        "data": {"action": "authenticate", "status": status},
                    },
                )
                if not authed:
                    await ws.close(code=1008, message=b"unauthorized")
                    break
            elif action == "listen":
                if not authed:
                    await _send_json(
                        ws,
                        {
                            "stream": "authorization",
                            "data": {"action": "listen", "status": "unauthorized"},
                        },
                    )
                    continue
                streams = list((data.get("data") or {}).get("streams") or [])
                await _send_json(ws, {"stream": "listening", "data": {"streams": streams}})
                if "trade_updates" in streams:
                    state.trading_conns.add(conn)
                else:
                    state.trading_conns.discard(conn)
            else:
                await _send_json(
                    ws, {"stream": "listening", "data": {"error": f"invalid action {action!r}"}}
                )
    finally:
        state.trading_conns.discard(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


async def _send_json(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    await ws.send_bytes(json.dumps(message).encode())


async def _writer(conn: TradingConn) -> None:
    """Send queued trade updates in order (binary frames of JSON, as the paper server does)."""
    while True:
        payload = await conn.queue.get()
        try:
            if not conn.ws.closed:
                await conn.ws.send_bytes(payload)
        except (ConnectionError, RuntimeError):
            pass
        finally:
            conn.queue.task_done()


def _subscription(conn: DataConn) -> dict[str, Any]:
    message: dict[str, Any] = {"T": "subscription"}
    for channel in CHANNELS:
        message[channel] = sorted(conn.subs.get(channel, set()))
    return message


async def data_stream(request: web.Request) -> web.WebSocketResponse:
    """`/v2/iex`, `/v2/sip`: connected → auth → subscribe/unsubscribe; bars arrive on replay."""
    state = request.app[STATE]
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    binary = "msgpack" in request.headers.get("Content-Type", "").lower()
    conn = DataConn(ws, binary)
    await conn.send([{"T": "success", "msg": "connected"}])
    authed = False
    try:
        async for msg in ws:
            data = _decode(msg)
            if data is None:
                continue
            action = data.get("action")
            if action == "auth":
                if authed:
                    await conn.send([{"T": "error", "code": 403, "msg": "already authenticated"}])
                elif keys_ok(state, data.get("key"), data.get("secret")):
                    authed = True
                    state.data_conns.add(conn)
                    await conn.send([{"T": "success", "msg": "authenticated"}])
                else:
                    await conn.send([{"T": "error", "code": 402, "msg": "auth failed"}])
                    await ws.close(code=1008, message=b"auth failed")
                    break
            elif not authed:
                await conn.send([{"T": "error", "code": 401, "msg": "not authenticated"}])
            elif action in ("subscribe", "unsubscribe"):
                _apply(state, conn, data, subscribe=action == "subscribe")
                await conn.send([_subscription(conn)])
            else:
                await conn.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
    finally:
        state.data_conns.discard(conn)
    return ws


def _apply(state: VenueState, conn: DataConn, data: dict[str, Any], *, subscribe: bool) -> None:
    for channel in CHANNELS:
        symbols = data.get(channel)
        if not isinstance(symbols, list):
            continue
        current = conn.subs.setdefault(channel, set())
        names = {str(s).upper() if s != "*" else "*" for s in symbols}
        if subscribe:
            current |= names
        else:
            current -= names
    if subscribe and conn.subs.get("bars"):
        state.subscriber.set()
