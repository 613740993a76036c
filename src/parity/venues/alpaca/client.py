"""`AlpacaStore`: the REST clients and the two websocket streams of alpaca-py, behind plain values.

With `rest.py` (REST calls and retries) and `wire.py` (conversions), the only modules in parity
that import alpaca-py. The same code talks to Alpaca's paper API and to
the local venue: only the URLs differ (alpaca-py reads no environment variables, so keys and URL
overrides are passed in explicitly).

Shape kept from alpaca-backtrader-api so its users can move over: `store = AlpacaStore(...)`,
`store.getbroker()`, `store.getdata(dataname=SYMBOL, ...)`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from parity.errors import ConfigError
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.alpaca.control import ControlClient
from parity.venues.alpaca.rest import AlpacaRest
from parity.venues.alpaca.wire import NY, UTC, _enum, _f, _local, _pair, snapshot
from parity.venues.protocol import StreamState
from parity.venues.types import (
    StreamBar,
    TradeEvent,
    VenueUnavailable,
)
from parity.venues.watch import StreamWatch

__all__ = ["NY", "UTC", "AlpacaStore", "_pair", "snapshot"]

log = logging.getLogger("parity.alpaca")


class AlpacaStore(AlpacaRest):
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
        super().__init__(
            credentials,
            endpoints,
            retries=retries,
            submit_rounds=submit_rounds,
            retry_wait=retry_wait,
            timezone=timezone,
        )
        self.reconnect_backoff = reconnect_backoff
        self._data_stream: Any = None
        self._trading_stream: Any = None
        self._threads: list[threading.Thread] = []
        self._bar_handlers: dict[str, list[Callable[[StreamBar], None]]] = {}
        self._trade_handlers: list[Callable[[TradeEvent], None]] = []
        self._control = ControlClient(self.endpoints.trading_url, credentials)
        self._watch = StreamWatch(on_stream_state)

    def watch_streams(self, on_stream_state: StreamState | None) -> None:
        """Set the callback told of stream disconnects and reconnects (before `start_streams`)."""
        self._watch.on_state = on_stream_state

    # ------------------------------------------------------------------ lifecycle
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
