"""`AlpacaRest`: alpaca-py's REST clients behind plain values, with retries (the REST half of
`AlpacaStore`)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests

from parity.errors import ConfigError
from parity.instruments import instrument_for
from parity.instruments.calendars import calendar_for
from parity.timeframe import MINUTE, Timeframe
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.alpaca.wire import (
    UTC,
    _api_code,
    _api_message,
    _enum,
    _local,
    _order_request,
    _pair,
    snapshot,
)
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
    VenueUnavailable,
)

log = logging.getLogger("parity.alpaca")
T = TypeVar("T")


class AlpacaRest:
    """REST calls on alpaca-py's clients (built by `connect()`, no I/O before)."""

    def __init__(
        self,
        credentials: AlpacaCredentials,
        endpoints: AlpacaEndpoints | None = None,
        *,
        retries: int = 4,
        submit_rounds: int = 3,
        retry_wait: float = 1.0,
        timezone: str = "America/New_York",
    ) -> None:
        self.credentials = credentials
        self.zone = ZoneInfo(timezone)
        self.endpoints = endpoints or AlpacaEndpoints()
        self.retries = retries
        self.submit_rounds = submit_rounds
        self.retry_wait = retry_wait
        self._trading: Any = None
        self._data: Any = None
        self._crypto_data: Any = None
        self._option_data: Any = None
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

    def connect(self) -> None:
        """Build the REST clients (no network yet)."""
        if self._trading is not None:
            return
        from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
        from alpaca.data.historical.option import OptionHistoricalDataClient
        from alpaca.trading.client import TradingClient

        key, secret = self.credentials.key_id, self.credentials.secret_key
        self._trading = TradingClient(
            key, secret, paper=True, url_override=self.endpoints.trading_url
        )
        self._data = StockHistoricalDataClient(key, secret, url_override=self.endpoints.data_url)
        self._crypto_data = CryptoHistoricalDataClient(
            key, secret, url_override=self.endpoints.data_url
        )
        self._option_data = OptionHistoricalDataClient(
            key, secret, url_override=self.endpoints.data_url
        )
        for client in (self._trading, self._data, self._crypto_data, self._option_data):
            client._retry_wait = self.retry_wait  # alpaca-py's own 429/504 retry pause

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
        return [amount for _name, amount, _symbol in self._fee_rows(order_id, rows)]

    def order_fee_rows(self, order_id: str) -> list[tuple[str, float, str]]:
        """`order_fees` with each fee's name (`activity_sub_type`: `ORF`, `OCC`, `TAF` for
        an option's regulatory fees; "" for a commission) and the symbol it was charged on (a
        combo's: its legs' contracts)."""
        self.connect()
        query = {"direction": "desc", "page_size": 100}
        rows = self._call(
            "get fee activities",
            lambda: self._trading.get("/account/activities/FEE", query),
        )
        return self._fee_rows(order_id, rows)

    @staticmethod
    def _fee_rows(order_id: str, rows: Any) -> list[tuple[str, float, str]]:
        return [
            (
                str(row.get("activity_sub_type") or ""),
                -float(row.get("net_amount") or 0.0),
                str(row.get("symbol") or ""),
            )
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
        self,
        symbol: str,
        start: dt.datetime,
        end: dt.datetime | None = None,
        timeframe: Timeframe = MINUTE,
    ) -> list[StreamBar]:
        """1-minute bars (or `timeframe`'s) with start in [start, end) (naive times in the run's
        zone: New York, or UTC for crypto, whose bars come from
        `CryptoHistoricalDataClient.get_crypto_bars`)."""
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

        self.connect()
        if timeframe.is_daily:
            frame = TimeFrame.Day
        elif timeframe.seconds % 3600 == 0:
            frame = TimeFrame(timeframe.seconds // 3600, TimeFrameUnit.Hour)
        else:
            frame = TimeFrame(max(timeframe.seconds // 60, 1), TimeFrameUnit.Minute)
        window = {
            "symbol_or_symbols": symbol,
            "timeframe": frame,
            "start": start.replace(tzinfo=self.zone).astimezone(UTC),
            "end": end.replace(tzinfo=self.zone).astimezone(UTC) if end else None,
        }
        # a venue whose bars are coarser refuses minutes: the live feed asks again at its
        # run's timeframe (`AlpacaLiveFeed._history`)
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
