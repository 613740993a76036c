"""`AlpacaStore`: the REST clients and the two websocket streams of alpaca-py, behind plain values.

The only module in parity that imports alpaca-py. The same code talks to Alpaca's paper API and to
the local venue: only the URLs differ (alpaca-py reads no environment variables, so keys and URL
overrides are passed in explicitly).

Shape kept from alpaca-backtrader-api so its users can move over: `store = AlpacaStore(...)`,
`store.getbroker()`, `store.getdata(dataname=SYMBOL, ...)`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests

from parity.errors import ConfigError
from parity.instruments import instrument_for
from parity.instruments.calendars import calendar_for
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.protocol import StreamState
from parity.venues.types import (
    AccountInfo,
    AssetInfo,
    ClockInfo,
    OrderRejected,
    OrderRequest,
    OrderSnapshot,
    PositionInfo,
    StreamBar,
    SubmissionUnknown,
    TradeEvent,
    VenueUnavailable,
)
from parity.venues.watch import StreamWatch

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
log = logging.getLogger("parity.alpaca")
T = TypeVar("T")


def _f(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _local(value: dt.datetime | None, zone: ZoneInfo = NY) -> dt.datetime | None:
    """An aware (or naive UTC) time as naive wall-clock time in `zone` (the run's bar labels:
    New York for US listings, UTC for crypto pairs)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).replace(tzinfo=None)


# the quote currencies of Alpaca's crypto pairs, to read a position's `BTCUSD` as `BTC/USD`
# (Alpaca drops the slash there only; no library maps one form to the other)
CRYPTO_QUOTES = ("USDT", "USDC", "USD", "BTC")


def _pair(symbol: str, asset_class: str) -> str:
    """`BTC/USD` for a crypto position reported as `BTCUSD`; other symbols unchanged."""
    if asset_class != "crypto" or "/" in symbol:
        return symbol
    quote = next((q for q in CRYPTO_QUOTES if symbol.endswith(q) and len(symbol) > len(q)), None)
    return f"{symbol[: -len(quote)]}/{quote}" if quote else symbol


def _enum(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def snapshot(order: Any, zone: ZoneInfo = NY) -> OrderSnapshot:
    """alpaca-py `Order` → `OrderSnapshot` (times as naive wall-clock times in `zone`)."""
    return OrderSnapshot(
        id=str(order.id),
        client_order_id=order.client_order_id,
        symbol=order.symbol or "",
        side=_enum(order.side),
        type=_enum(order.type or order.order_type),
        status=_enum(order.status),
        qty=float(order.qty or 0),
        filled_qty=float(order.filled_qty or 0),
        filled_avg_price=_f(order.filled_avg_price),
        limit_price=_f(order.limit_price),
        stop_price=_f(order.stop_price),
        order_class=_enum(order.order_class) or "simple",
        legs=tuple(snapshot(leg, zone) for leg in (order.legs or ())),
        replaces=str(order.replaces) if order.replaces else None,
        updated_at=_local(order.updated_at, zone),
        filled_at=_local(order.filled_at, zone),
    )


class AlpacaStore:
    """REST + streams. Construct cheaply; `start()` connects; callbacks run on stream threads."""

    def __init__(
        self,
        credentials: AlpacaCredentials,
        endpoints: AlpacaEndpoints | None = None,
        *,
        retries: int = 4,
        submit_rounds: int = 3,
        retry_wait: float = 1.0,
        reconnect_backoff: float | None = None,
        on_stream_state: StreamState | None = None,
        timezone: str = "America/New_York",
    ) -> None:
        """`on_stream_state(stream, state, reason)` hears every disconnect and reconnect of the
        "data" and "trading" streams (from a watch thread). Times are naive in `timezone`, the
        run's exchange's (bars of an NSE replay are labelled 09:15, not New York's 22:45)."""
        self.credentials = credentials
        self.zone = ZoneInfo(timezone)
        self.endpoints = endpoints or AlpacaEndpoints()
        self.retries = retries
        self.submit_rounds = submit_rounds
        self.retry_wait = retry_wait
        self.reconnect_backoff = reconnect_backoff
        self._trading: Any = None
        self._data: Any = None
        self._data_stream: Any = None
        self._trading_stream: Any = None
        self._threads: list[threading.Thread] = []
        self._bar_handlers: dict[str, list[Callable[[StreamBar], None]]] = {}
        self._trade_handlers: list[Callable[[TradeEvent], None]] = []
        self._control = _ControlClient(self.endpoints.trading_url, credentials)
        self._watch = StreamWatch(on_stream_state)
        self._crypto_data: Any = None
        self.crypto = False  # the run trades crypto pairs: alpaca-py's crypto data clients
        self._pairs: dict[str, str] = {}  # a crypto position's symbol (BTCUSD) -> its pair

    def set_market(self, symbols: tuple[str, ...] | list[str], timezone: str | None = None) -> None:
        """Trade `symbols`: crypto pairs take alpaca-py's crypto data clients
        (`CryptoHistoricalDataClient`, `CryptoDataStream`), and times are naive in `timezone`
        (the run's exchange's), else in the symbols' calendar's zone (UTC for crypto). Pairs and
        shares in one run are an error (they trade on different calendars)."""
        instruments = [instrument_for(symbol) for symbol in symbols]
        coins = {i.asset_class == "crypto" for i in instruments}
        if len(coins) > 1:
            raise ConfigError(
                f"symbols {', '.join(symbols)} mix crypto pairs and shares; run them separately"
            )
        self.crypto = coins == {True}
        if timezone is None and instruments:
            timezone = calendar_for(instruments[0]).timezone
        if timezone is not None:
            self.zone = ZoneInfo(timezone)
        self._pairs = {i.symbol.replace("/", ""): i.symbol for i in instruments if "/" in i.symbol}

    def watch_streams(self, on_stream_state: StreamState | None) -> None:
        """Set the callback told of stream disconnects and reconnects (before `start_streams`)."""
        self._watch.on_state = on_stream_state

    # ------------------------------------------------------------------ lifecycle

    def connect(self) -> None:
        """Build the REST clients (no network yet)."""
        if self._trading is not None:
            return
        from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
        from alpaca.trading.client import TradingClient

        key, secret = self.credentials.key_id, self.credentials.secret_key
        self._trading = TradingClient(
            key, secret, paper=True, url_override=self.endpoints.trading_url
        )
        self._data = StockHistoricalDataClient(key, secret, url_override=self.endpoints.data_url)
        self._crypto_data = CryptoHistoricalDataClient(
            key, secret, url_override=self.endpoints.data_url
        )
        for client in (self._trading, self._data, self._crypto_data):
            client._retry_wait = self.retry_wait  # alpaca-py's own 429/504 retry pause

    def start_streams(self) -> None:
        """Open the data stream (for subscribed symbols) and the trading stream, on threads."""
        self.connect()
        key, secret = self.credentials.key_id, self.credentials.secret_key
        for name in ("alpaca.data.live.websocket", "alpaca.trading.stream"):
            # before the threads connect: a previous store's stop silenced them (see `stop`)
            logging.getLogger(name).setLevel(logging.NOTSET)
        if self._bar_handlers and self._data_stream is None:
            stream = self._market_stream(key, secret)
            self._tune(stream)
            stream.subscribe_bars(self._on_bar, *self._bar_handlers)
            self._data_stream = stream
            self._watch.add("data", stream, self._spawn("alpaca-data", stream.run))
        if self._trade_handlers and self._trading_stream is None:
            from alpaca.trading.stream import TradingStream

            tstream = TradingStream(
                key, secret, paper=True, url_override=self.endpoints.trading_stream_url or ""
            )
            self._tune(tstream)
            tstream.subscribe_trade_updates(self._on_trade_update)
            self._trading_stream = tstream
            self._watch.add("trading", tstream, self._spawn("alpaca-trading", tstream.run))
        if self._threads:
            self._watch.start()

    def start_streams_for(self, symbols: tuple[str, ...], *, trading: bool = True) -> None:
        """Open the streams once the feeds and the broker have subscribed."""
        missing = [s for s in symbols if s not in self._bar_handlers]
        if missing:
            raise ConfigError(f"no feed subscribed for {', '.join(missing)}")
        if not trading:
            self._trade_handlers.clear()
        self.start_streams()

    def _market_stream(self, key: str, secret: str) -> Any:
        """alpaca-py's data stream for the run: `CryptoDataStream` (US feed) for pairs, else
        `StockDataStream` on the configured feed."""
        if self.crypto:
            from alpaca.data.enums import CryptoFeed
            from alpaca.data.live import CryptoDataStream

            return CryptoDataStream(
                key, secret, feed=CryptoFeed.US, url_override=self.endpoints.crypto_stream_url
            )
        from alpaca.data.enums import DataFeed
        from alpaca.data.live import StockDataStream

        feed = DataFeed.SIP if self.endpoints.feed == "sip" else DataFeed.IEX
        return StockDataStream(key, secret, feed=feed, url_override=self.endpoints.data_stream_url)

    def _tune(self, stream: Any) -> None:
        if self.reconnect_backoff is not None:
            stream._reconnect_min_backoff = self.reconnect_backoff
            stream._reconnect_max_backoff = max(self.reconnect_backoff * 8, 1.0)

    def _spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def stop(self, *, join: bool = True) -> None:
        """Ask both streams to stop. alpaca-py notices within ~5 s, at once if the server closes
        the sockets: so stop a local venue after this and before `join()`."""
        self._watch.stop()  # a requested stop is not a disconnect
        for name in ("alpaca.data.live.websocket", "alpaca.trading.stream"):
            logging.getLogger(name).setLevel(logging.ERROR)  # the goodbye is not a warning
        for stream in (self._data_stream, self._trading_stream):
            if stream is None:
                continue
            try:
                stream.stop()
                loop = getattr(stream, "_loop", None)
                if loop is not None and loop.is_running():
                    # close our end now: alpaca-py otherwise notices the stop only when its
                    # 5 s receive timeout expires
                    asyncio.run_coroutine_threadsafe(stream.close(), loop)
            except Exception as exc:  # a stream that never connected has no loop to stop
                log.debug("stream stop: %s", exc)
        self._control.close()
        if join:
            self.join()

    def join(self) -> None:
        """Wait for the stream threads to end."""
        for thread in self._threads:
            thread.join(timeout=6)
        self._threads.clear()

    # ------------------------------------------------------------------ subscriptions

    def subscribe_bars(self, symbol: str, handler: Callable[[StreamBar], None]) -> None:
        self._bar_handlers.setdefault(symbol, []).append(handler)

    def subscribe_trade_updates(self, handler: Callable[[TradeEvent], None]) -> None:
        self._trade_handlers.append(handler)

    async def _on_bar(self, bar: Any) -> None:
        value = StreamBar(
            symbol=bar.symbol,
            start=_local(bar.timestamp, self.zone) or dt.datetime.min,
            open=float(bar.open),
            high=float(bar.high),
            low=float(bar.low),
            close=float(bar.close),
            volume=float(bar.volume),
            received_at=time.time(),
        )
        for handler in self._bar_handlers.get(value.symbol, ()):
            handler(value)

    async def _on_trade_update(self, update: Any) -> None:
        event = TradeEvent(
            event=_enum(update.event),
            order=snapshot(update.order, self.zone),
            timestamp=_local(update.timestamp, self.zone) or dt.datetime.min,
            price=_f(update.price),
            qty=_f(update.qty),
        )
        for handler in self._trade_handlers:
            handler(event)

    # ------------------------------------------------------------------ REST with retries

    def _call(self, what: str, func: Callable[[], T]) -> T:
        """`func()` with retries on 429/5xx and connection errors; 401/403/404/422 raise at once.
        (A retried order submission that already reached the venue is found by its client id
        in `submit_order`.)"""
        from alpaca.common.exceptions import APIError

        attempt = 0
        while True:
            attempt += 1
            try:
                return func()
            except APIError as exc:
                status = exc.status_code or 0
                message = _api_message(exc)
                if status in (403, 404, 422):
                    raise OrderRejected(
                        f"{what}: {message}", status=status, code=_api_code(exc)
                    ) from None
                if status in (401, 402):
                    raise ConfigError(
                        f"{what}: the venue refused the keys ({message}); check "
                        "APCA_API_KEY_ID/APCA_API_SECRET_KEY"
                    ) from None
                if attempt > self.retries or not (status >= 500 or status == 429):
                    raise VenueUnavailable(f"{what} failed: HTTP {status} {message}") from None
                log.warning(
                    "%s: HTTP %s %s, retry %d/%d",
                    what, status, message, attempt, self.retries,
                    extra={"call": what, "status": status, "reason": message, "attempt": attempt},
                )  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt > self.retries:
                    raise VenueUnavailable(
                        f"{what}: venue unreachable ({type(exc).__name__}); is it running?"
                    ) from None
                log.warning(
                    "%s: %s (%s), retry %d/%d",
                    what, type(exc).__name__, exc, attempt, self.retries,
                    extra={"call": what, "reason": type(exc).__name__, "attempt": attempt},
                )  # fmt: skip
            time.sleep(self.retry_wait * min(2 ** (attempt - 1), 8))

    def account(self) -> AccountInfo:
        self.connect()
        acct = self._call("get account", self._trading.get_account)
        return AccountInfo(
            status=_enum(acct.status),
            cash=float(acct.cash or 0),
            equity=float(acct.equity or 0),
            buying_power=float(acct.buying_power or 0),
            currency=acct.currency or "USD",
            blocked=bool(acct.trading_blocked or acct.account_blocked),
        )

    def clock(self) -> ClockInfo:
        self.connect()
        clock = self._call("get clock", self._trading.get_clock)
        return ClockInfo(
            timestamp=_local(clock.timestamp, self.zone) or dt.datetime.min,
            is_open=bool(clock.is_open),
            next_open=_local(clock.next_open, self.zone),
            next_close=_local(clock.next_close, self.zone),
        )

    def asset(self, symbol: str) -> AssetInfo | None:
        self.connect()
        try:
            asset = self._call(f"get asset {symbol}", lambda: self._trading.get_asset(symbol))
        except OrderRejected as exc:
            if exc.status == 404:
                return None
            raise
        return AssetInfo(
            symbol=asset.symbol,
            tradable=bool(asset.tradable),
            shortable=bool(asset.shortable),
            status=_enum(asset.status),
            exchange=_enum(asset.exchange),
        )

    def positions(self) -> dict[str, PositionInfo]:
        self.connect()
        rows = self._call("get positions", self._trading.get_all_positions)
        out = {}
        for p in rows:  # Alpaca reports a crypto position as BTCUSD: keyed by its pair
            symbol = self._pairs.get(p.symbol) or _pair(p.symbol, _enum(p.asset_class))
            out[symbol] = PositionInfo(symbol, float(p.qty), float(p.avg_entry_price))
        return out

    def open_orders(self) -> list[OrderSnapshot]:
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        self.connect()
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500, nested=True)
        rows = self._call("list orders", lambda: self._trading.get_orders(request))
        return [snapshot(o, self.zone) for o in rows]

    def order(self, order_id: str) -> OrderSnapshot:
        self.connect()
        found = self._call("get order", lambda: self._trading.get_order_by_id(order_id))
        return snapshot(found, self.zone)

    def order_by_client_id(self, client_order_id: str) -> OrderSnapshot | None:
        self.connect()
        try:
            found = self._call(
                "get order by client id",
                lambda: self._trading.get_order_by_client_id(client_order_id),
            )
        except OrderRejected as exc:
            if exc.status == 404:
                return None
            raise
        return snapshot(found, self.zone)

    def order_fees(self, order_id: str) -> list[float]:
        """The fees the venue charged on one order, oldest first: its `FEE` account activities
        that name the order (the local venue charges its commission so, one per fill). Alpaca
        charges no commission on US equities and its regulatory fees are daily activities that
        name no order: an Alpaca equity order's fee is 0, as the account reports it. The newest
        page (100) is read: a fill's fee is among the newest when the fill is applied."""
        self.connect()
        query = {"direction": "desc", "page_size": 100}
        rows = self._call(
            "get fee activities",
            lambda: self._trading.get("/account/activities/FEE", query),
        )
        return [
            -float(row.get("net_amount") or 0.0)
            for row in reversed(rows if isinstance(rows, list) else [])
            if order_id in str(row.get("description") or "")
        ]

    def submit_order(self, request: OrderRequest) -> OrderSnapshot:
        """Submit, never twice. A retried request that the venue already took is found by its
        client id; after a burst of errors that outlasts the retries the order is looked up by
        its client id and sent again only when the venue does not have it (`submit_rounds`
        times at most). Raises `SubmissionUnknown` when even the look-up is not answered."""
        self.connect()
        alpaca_request = _order_request(request)
        cid = request.client_order_id
        failure = VenueUnavailable(f"submit {cid}: not sent")
        for round_ in range(1, self.submit_rounds + 1):
            try:
                placed = self._call(
                    f"submit {cid}", lambda: self._trading.submit_order(alpaca_request)
                )
                return snapshot(placed, self.zone)
            except OrderRejected as exc:
                if exc.status != 422 or "unique" not in str(exc):
                    raise
                failure = VenueUnavailable(f"submit {cid}: the venue already has it")
            except VenueUnavailable as exc:
                failure = exc
            try:
                existing = self.order_by_client_id(cid)
            except VenueUnavailable as exc:
                raise SubmissionUnknown(
                    f"{failure}; looking {cid} up failed too ({exc}): it may or may not be "
                    "at the venue"
                ) from None
            if existing is not None:
                log.warning(
                    "submit %s: the venue had taken it (its answer was lost)", cid,
                    extra={"client_order_id": cid, "round": round_},
                )  # fmt: skip
                return existing
            log.warning(
                "submit %s: the venue does not have it after %s; sending it again (%d/%d)",
                cid, failure, round_, self.submit_rounds,
                extra={"client_order_id": cid, "round": round_},
            )  # fmt: skip
        raise VenueUnavailable(
            f"{failure}; the venue does not have {cid} after {self.submit_rounds} submissions"
        )

    def rejection_reason(self, order_id: str) -> str | None:
        """The venue's message for a rejected order, when it gives one: Alpaca's order object
        has no such field (alpaca-py drops unknown ones); a parity venue sends `reject_reason`."""
        self.connect()
        raw = self._call("get order", lambda: self._trading.get(f"/orders/{order_id}"))
        reason = raw.get("reject_reason") if isinstance(raw, dict) else None
        return str(reason) if reason else None

    def cancel_order(self, order_id: str) -> None:
        self.connect()
        try:
            self._call("cancel order", lambda: self._trading.cancel_order_by_id(order_id))
        except OrderRejected as exc:
            if exc.status not in (404, 422):  # already gone or already final
                raise

    def close_position(self, symbol: str) -> OrderSnapshot | None:
        self.connect()
        held = symbol.replace("/", "") if self.crypto else symbol  # Alpaca's position symbol
        try:
            return snapshot(
                self._call(f"close {symbol}", lambda: self._trading.close_position(held)),
                self.zone,
            )
        except OrderRejected as exc:
            if exc.status == 404:
                return None
            raise

    def history_bars(
        self, symbol: str, start: dt.datetime, end: dt.datetime | None = None
    ) -> list[StreamBar]:
        """1-minute bars with start in [start, end) (naive times in the run's zone: New York,
        or UTC for crypto, whose bars come from `CryptoHistoricalDataClient.get_crypto_bars`)."""
        from alpaca.data.timeframe import TimeFrame

        self.connect()
        window = {
            "symbol_or_symbols": symbol,
            "timeframe": TimeFrame.Minute,
            "start": start.replace(tzinfo=self.zone).astimezone(UTC),
            "end": end.replace(tzinfo=self.zone).astimezone(UTC) if end else None,
        }
        result = self._call(f"history {symbol}", lambda: self._bars(window))
        rows = result.data.get(symbol, []) if hasattr(result, "data") else []
        now = time.time()
        bars = [
            StreamBar(
                symbol=symbol,
                start=_local(b.timestamp, self.zone) or dt.datetime.min,
                open=float(b.open),
                high=float(b.high),
                low=float(b.low),
                close=float(b.close),
                volume=float(b.volume),
                received_at=now,
                source="history",
            )
            for b in rows
        ]
        return [b for b in bars if end is None or b.start < end]

    def _bars(self, window: dict[str, Any]) -> Any:
        if self.crypto:
            from alpaca.data.enums import CryptoFeed
            from alpaca.data.requests import CryptoBarsRequest

            return self._crypto_data.get_crypto_bars(CryptoBarsRequest(**window), CryptoFeed.US)
        from alpaca.data.enums import DataFeed
        from alpaca.data.requests import StockBarsRequest

        feed = DataFeed.SIP if self.endpoints.feed == "sip" else DataFeed.IEX
        return self._data.get_stock_bars(StockBarsRequest(**window, feed=feed))

    # ------------------------------------------------------------------ local venue control

    def venue_ack(self, through: dt.datetime) -> dict[str, Any] | None:
        """Tell a parity venue the client is done with every bar up to `through` (lock-step)."""
        return self._venue("POST", "ack", {"through": through.isoformat()})

    def venue_oco_first(self, client_order_id: str) -> dict[str, Any] | None:
        """Tell a parity venue the `oco` order about to be sent as `client_order_id` had its
        stop leg placed first (Alpaca resolves a tie by time; a bar replay needs the order)."""
        return self._venue("POST", "oco_first", {"client_order_id": client_order_id})

    def venue_status(self) -> dict[str, Any] | None:
        return self._venue("GET", "status", None)

    def _venue(self, method: str, what: str, body: dict[str, Any] | None) -> dict[str, Any] | None:
        if not self.endpoints.trading_url:
            return None
        for attempt in range(1, self.retries + 2):
            try:
                status, payload = self._control.request(method, f"/parity/v1/{what}", body)
            except OSError:
                if attempt > self.retries:
                    raise VenueUnavailable(
                        f"venue {what}: unreachable at {self.endpoints.trading_url}"
                    ) from None
                time.sleep(self.retry_wait)
                continue
            if status == 404:
                return None  # not a parity venue
            if status < 400:
                return payload
            if attempt > self.retries:
                raise VenueUnavailable(f"venue {what}: HTTP {status}")
            time.sleep(self.retry_wait)
        return None

    # ------------------------------------------------------------------ backtrader-api shape

    def getbroker(self, core: Any = None, **kwargs: Any) -> Any:
        """An `AlpacaBroker` on this store (alpaca-backtrader-api compatible entry point);
        `core`: the run's `BrokerCore`."""
        from parity.brokers.alpaca import AlpacaBroker

        return AlpacaBroker(self, core, **kwargs)

    def getdata(self, **kwargs: Any) -> Any:
        """An `AlpacaLiveFeed` on this store; `dataname=SYMBOL` as in alpaca-backtrader-api."""
        from parity.venues.alpaca.feed import AlpacaLiveFeed

        if "dataname" in kwargs:
            kwargs["symbol"] = kwargs.pop("dataname")
        return AlpacaLiveFeed(store=self, **kwargs)  # type: ignore[call-arg]


class _ControlClient:
    """A kept-alive plain HTTP connection for the venue's lock-step acks (one per bar: requests'
    per-call overhead was most of a rehearsal's time per bar)."""

    def __init__(self, base_url: str | None, credentials: AlpacaCredentials) -> None:
        self._base = urllib.parse.urlsplit(base_url) if base_url else None
        self._conn: http.client.HTTPConnection | None = None
        self._headers = {
            "APCA-API-KEY-ID": credentials.key_id,
            "APCA-API-SECRET-KEY": credentials.secret_key,
            "Content-Type": "application/json",
        }
        self._lock = threading.Lock()

    def request(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        assert self._base is not None
        data = json.dumps(body).encode() if body is not None else None
        with self._lock:
            for attempt in (1, 2):  # a kept-alive socket the server closed: reconnect once
                if self._conn is None:
                    host, port = self._base.hostname or "127.0.0.1", self._base.port or 80
                    self._conn = http.client.HTTPConnection(host, port, timeout=30)
                try:
                    self._conn.request(method, path, body=data, headers=self._headers)
                    response = self._conn.getresponse()
                    raw = response.read()
                except (http.client.HTTPException, OSError):
                    self.close()
                    if attempt == 2:
                        raise OSError(f"venue control {path} failed") from None
                    continue
                payload = json.loads(raw) if raw else None
                return response.status, payload
        raise OSError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _api_message(exc: Any) -> str:
    try:
        return str(exc.message)
    except Exception:  # body was not JSON
        return " ".join(str(exc).split())[:200]


def _api_code(exc: Any) -> int | None:
    try:
        return int(exc.code)
    except Exception:  # body without a code
        return None


def _order_request(request: OrderRequest) -> Any:
    from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
    from alpaca.trading.requests import (
        LimitOrderRequest,
        MarketOrderRequest,
        StopLimitOrderRequest,
        StopLossRequest,
        StopOrderRequest,
        TakeProfitRequest,
        TrailingStopOrderRequest,
    )

    amount = {"notional": request.notional} if request.notional is not None else {}
    common: dict[str, Any] = {
        "symbol": request.symbol,
        **(amount or {"qty": request.qty}),
        "side": OrderSide(request.side),
        "time_in_force": TimeInForce(request.time_in_force),
        "client_order_id": request.client_order_id,
    }
    if request.order_class != "simple":
        common["order_class"] = OrderClass(request.order_class)
    if request.take_profit is not None:
        common["take_profit"] = TakeProfitRequest(limit_price=request.take_profit)
    if request.stop_loss is not None:
        common["stop_loss"] = StopLossRequest(
            stop_price=request.stop_loss, limit_price=request.stop_loss_limit
        )
    kinds: dict[str, Callable[[], Any]] = {
        "market": lambda: MarketOrderRequest(**common),
        "limit": lambda: LimitOrderRequest(limit_price=request.limit_price, **common),
        "stop": lambda: StopOrderRequest(stop_price=request.stop_price, **common),
        "stop_limit": lambda: StopLimitOrderRequest(
            stop_price=request.stop_price, limit_price=request.limit_price, **common
        ),
        "trailing_stop": lambda: TrailingStopOrderRequest(
            trail_price=request.trail_price, trail_percent=request.trail_percent, **common
        ),
    }
    if request.type not in kinds:
        raise OrderRejected(f"order type {request.type} is not supported", status=422)
    return kinds[request.type]()
