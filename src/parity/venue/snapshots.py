"""Market data derived from the replayed bars, never past the venue's clock: latest bar, trade
and quote, historical trades and quotes, and snapshots (`/v2/stocks/...`, multi-symbol and
per-symbol forms).

Trades and quotes are derived from the bars as `parity.venue.ticks` describes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from parity.engine.fills import Bar
from parity.venue.clock import rfc3339
from parity.venue.orders import VenueError, invalid
from parity.venue.state import VenueState
from parity.venue.streams import STATE
from parity.venue.ticks import bar_end, quote_fields, trade_fields


def _symbols(request: web.Request) -> list[str]:
    if "symbol" in request.match_info:
        return [request.match_info["symbol"].upper()]
    symbols = [s.strip().upper() for s in request.query.get("symbols", "").split(",")]
    symbols = [s for s in symbols if s]
    if not symbols:
        raise invalid("symbols is required")
    return symbols


def trade_json(state: VenueState, symbol: str, bar: dict[str, Any]) -> dict[str, Any]:
    """The trade a REST bar stands for."""
    label = state.calendar.parse_naive(bar["t"])
    row = Bar(bar["o"], bar["h"], bar["l"], bar["c"], bar["v"])
    time = rfc3339(bar_end(state.data, label))
    return {"t": time, **trade_fields(state.data, symbol, label, row)}


def quote_json(state: VenueState, bar: dict[str, Any]) -> dict[str, Any]:
    """The quote around a REST bar's close."""
    label = state.calendar.parse_naive(bar["t"])
    time = rfc3339(bar_end(state.data, label))
    return {"t": time, **quote_fields(state.config.costs, float(bar["c"]))}


def _latest_bars(state: VenueState, symbols: list[str]) -> dict[str, dict[str, Any]]:
    return state.data.latest(symbols, before=state.calendar.naive(state.now))


def _one_or_many(request: web.Request, key: str, values: dict[str, Any]) -> web.Response:
    """`{"<key>s": {sym: obj}}`, or `{"symbol": sym, "<key>": obj}` for the per-symbol form."""
    if "symbol" in request.match_info:
        symbol = request.match_info["symbol"].upper()
        if symbol not in values:
            raise VenueError(404, 40410000, f"no {key} for {symbol} before the venue's clock")
        return web.json_response({"symbol": symbol, key: values[symbol]})
    return web.json_response({f"{key}s": values})


async def get_latest_bar(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _one_or_many(request, "bar", _latest_bars(state, _symbols(request)))


async def get_latest_trades(request: web.Request) -> web.Response:
    state = request.app[STATE]
    bars = _latest_bars(state, _symbols(request))
    trades = {s: trade_json(state, s, b) for s, b in bars.items()}
    return _one_or_many(request, "trade", trades)


async def get_latest_quotes(request: web.Request) -> web.Response:
    state = request.app[STATE]
    bars = _latest_bars(state, _symbols(request))
    return _one_or_many(request, "quote", {s: quote_json(state, b) for s, b in bars.items()})


def _history(
    request: web.Request, symbols: list[str]
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    state = request.app[STATE]
    query = request.query
    seconds = state.data.bar_seconds
    timeframe = "1Day" if seconds >= 86400 else f"{seconds // 60}Min"
    limit = query.get("limit")
    try:
        return state.data.history(
            symbols,
            timeframe,
            before=state.calendar.naive(state.now),
            start=query.get("start"),
            end=query.get("end"),
            limit=int(limit) if limit else None,
            page_token=query.get("page_token"),
            descending=query.get("sort") == "desc",
        )
    except ValueError as exc:
        raise invalid(f"invalid request: {exc}") from None


async def get_trades(request: web.Request) -> web.Response:
    state = request.app[STATE]
    symbols = _symbols(request)
    bars, token = _history(request, symbols)
    trades = {s: [trade_json(state, s, b) for b in rows] for s, rows in bars.items()}
    if "symbol" in request.match_info:
        return web.json_response(
            {"trades": trades.get(symbols[0], []), "symbol": symbols[0], "next_page_token": token}
        )
    return web.json_response({"trades": trades, "next_page_token": token})


async def get_quotes(request: web.Request) -> web.Response:
    state = request.app[STATE]
    symbols = _symbols(request)
    bars, token = _history(request, symbols)
    quotes = {s: [quote_json(state, b) for b in rows] for s, rows in bars.items()}
    if "symbol" in request.match_info:
        return web.json_response(
            {"quotes": quotes.get(symbols[0], []), "symbol": symbols[0], "next_page_token": token}
        )
    return web.json_response({"quotes": quotes, "next_page_token": token})


def snapshot_json(state: VenueState, symbol: str) -> dict[str, Any] | None:
    """latestTrade, latestQuote, minuteBar (only when the venue replays minute bars), dailyBar
    (today's bars so far) and prevDailyBar."""
    before = state.calendar.naive(state.now)
    bar = state.data.latest([symbol], before=before).get(symbol)
    if bar is None:
        return None
    days, _ = state.data.history(
        [symbol],
        "1Day",
        before=before,
        start=None,
        end=None,
        limit=2,
        page_token=None,
        descending=True,
    )
    daily = days.get(symbol, [])
    return {
        "latestTrade": trade_json(state, symbol, bar),
        "latestQuote": quote_json(state, bar),
        "minuteBar": bar if state.data.bar_seconds == 60 else None,
        "dailyBar": daily[0] if daily else None,
        "prevDailyBar": daily[1] if len(daily) > 1 else None,
    }


async def get_snapshots(request: web.Request) -> web.Response:
    state = request.app[STATE]
    out = {s: snapshot_json(state, s) for s in _symbols(request)}
    if "symbol" in request.match_info:
        symbol = request.match_info["symbol"].upper()
        if out[symbol] is None:
            raise VenueError(404, 40410000, f"no data for {symbol} before the venue's clock")
        return web.json_response({"symbol": symbol, **(out[symbol] or {})})
    return web.json_response({s: v for s, v in out.items() if v is not None})


async def get_crypto_snapshots(request: web.Request) -> web.Response:
    """`/v1beta3/crypto/us/snapshots`: the same snapshots, under a `snapshots` key."""
    state = request.app[STATE]
    out = {s: snapshot_json(state, s) for s in _symbols(request)}
    return web.json_response({"snapshots": {s: v for s, v in out.items() if v is not None}})


def add_snapshot_routes(app: web.Application) -> None:
    """Register latest bar/trade/quote, trades, quotes and snapshot routes (static paths first,
    so `/v2/stocks/trades/latest` is never read as a symbol)."""
    r = app.router
    r.add_get("/v2/stocks/trades/latest", get_latest_trades)
    r.add_get("/v2/stocks/quotes/latest", get_latest_quotes)
    r.add_get("/v2/stocks/trades", get_trades)
    r.add_get("/v2/stocks/quotes", get_quotes)
    r.add_get("/v2/stocks/snapshots", get_snapshots)
    r.add_get("/v2/stocks/{symbol}/bars/latest", get_latest_bar)
    r.add_get("/v2/stocks/{symbol}/trades/latest", get_latest_trades)
    r.add_get("/v2/stocks/{symbol}/quotes/latest", get_latest_quotes)
    r.add_get("/v2/stocks/{symbol}/trades", get_trades)
    r.add_get("/v2/stocks/{symbol}/quotes", get_quotes)
    r.add_get("/v2/stocks/{symbol}/snapshot", get_snapshots)
    # crypto pairs as alpaca-py's CryptoHistoricalDataClient asks (multi-symbol forms only)
    crypto = "/v1beta3/crypto/us"
    r.add_get(f"{crypto}/latest/trades", get_latest_trades)
    r.add_get(f"{crypto}/latest/quotes", get_latest_quotes)
    r.add_get(f"{crypto}/trades", get_trades)
    r.add_get(f"{crypto}/quotes", get_quotes)
    r.add_get(f"{crypto}/snapshots", get_crypto_snapshots)
