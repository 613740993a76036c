"""Crypto on the local venue through alpaca-py 0.44.0's own crypto classes over loopback:
`CryptoHistoricalDataClient` (`/v1beta3/crypto/us/bars`, latest bar/trade/quote, trades, quotes,
snapshots; every call classified), `CryptoDataStream`
(`/v1beta3/crypto/us`), and `TradingClient` orders on `BTC/USD`: fractional quantities and
notional amounts in `gtc`/`ioc`, `day` refused with Alpaca's own error, positions reported as
`BTCUSD` with asset class `crypto`. The bars are hand-built on a Saturday (24/7), in UTC."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical import CryptoHistoricalDataClient
from alpaca.data.live import CryptoDataStream
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestBarRequest,
    CryptoLatestQuoteRequest,
    CryptoLatestTradeRequest,
    CryptoQuoteRequest,
    CryptoSnapshotRequest,
    CryptoTradesRequest,
)
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, OrderSide, TimeInForce
from alpaca.trading.requests import (
    GetAssetsRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopOrderRequest,
)

from parity.costs import cost_model
from parity.feeds.bars import BarSeries
from parity.feeds.loader import LoadedData
from parity.instruments.calendars import calendar_named
from parity.timeframe import MINUTE
from parity.venue import VenueConfig, VenueServer

KEYS = ("key", "secret")
AUTH = {"APCA-API-KEY-ID": KEYS[0], "APCA-API-SECRET-KEY": KEYS[1]}
WAIT = 5.0
T0 = datetime(2024, 1, 6, 3, 0)  # a Saturday, 03:00 UTC: no stock market is open
BARS = [  # open, high, low, close, volume (coins)
    (42_000.0, 42_100.0, 41_900.0, 42_050.0, 1.25),
    (42_050.0, 42_300.0, 42_000.0, 42_250.0, 0.75),
    (42_250.0, 42_400.0, 42_100.0, 42_150.0, 2.5),
    (42_150.0, 42_200.0, 41_800.0, 41_900.0, 0.5),
    (41_900.0, 42_000.0, 41_700.0, 41_950.0, 1.0),
]


def coin_data() -> LoadedData:
    index = pd.DatetimeIndex([T0 + timedelta(minutes=i) for i in range(len(BARS))])
    frame = pd.DataFrame(
        BARS, index=index.rename("datetime").as_unit("ns"), columns=[*"ohlc", "volume"]
    ).rename(columns={"o": "open", "h": "high", "l": "low", "c": "close"})
    series = BarSeries(symbol="BTC/USD", frame=frame, timeframe=MINUTE, origin="test")
    return LoadedData((series,), (), "test", calendar=calendar_named("24/7"))


@pytest.fixture
def venue() -> Iterator[VenueServer]:
    costs = cost_model("taker=0.25%,maker=0.15%", "0")
    config = VenueConfig(data=coin_data(), keys=KEYS, cash=100_000, costs=costs)
    with VenueServer(config) as server:
        yield server


@pytest.fixture
def trading(venue: VenueServer) -> TradingClient:
    client = TradingClient(*KEYS, paper=True, url_override=venue.base_url)
    client._retry_wait = 0
    return client


@contextlib.contextmanager
def crypto_bars(venue: VenueServer) -> Iterator[queue.Queue[Any]]:
    """alpaca-py's `CryptoDataStream` on the venue, its bars in a queue."""
    seen: queue.Queue[Any] = queue.Queue()
    stream = CryptoDataStream(*KEYS, url_override=venue.crypto_stream_url)

    async def on_bar(bar: Any) -> None:
        seen.put(bar)

    stream.subscribe_bars(on_bar, "BTC/USD")
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        with contextlib.suppress(Exception):
            stream.stop()
        venue.stop()  # closes the socket: the stream's thread ends at once
        thread.join(WAIT)


def step(venue: VenueServer, seen: queue.Queue[Any], last: Any) -> Any:
    """Acknowledge `last` (lock-step) and return the next bar."""
    ack(venue, last.timestamp.astimezone(UTC).replace(tzinfo=None))
    return seen.get(timeout=WAIT)


def ack(venue: VenueServer, label: datetime) -> None:
    """Lock-step: the client is done with the bar labelled `label` (naive UTC)."""
    url = f"{venue.base_url}/parity/v1/ack"
    requests.post(url, json={"through": label.isoformat()}, headers=AUTH, timeout=WAIT)


def test_crypto_assets_and_historical_bars(venue: VenueServer, trading: TradingClient) -> None:
    asset = trading.get_asset("BTC/USD")
    assert asset.asset_class == AssetClass.CRYPTO and asset.exchange == "CRYPTO"
    assert asset.symbol == "BTC/USD" and asset.fractionable
    coins = trading.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert [a.symbol for a in coins] == ["BTC/USD"]
    assert trading.get_all_assets(GetAssetsRequest(asset_class=AssetClass.US_EQUITY)) == []
    assert trading.get_clock().is_open  # 24/7: open on a Saturday at 03:00 UTC
    with crypto_bars(venue) as seen:
        streamed = [seen.get(timeout=WAIT)]
        for _ in range(2):
            streamed.append(step(venue, seen, streamed[-1]))
        client = CryptoHistoricalDataClient(*KEYS, url_override=venue.base_url)
        history = client.get_crypto_bars(
            CryptoBarsRequest(symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Minute, start=T0)
        )
        pair = {"symbol_or_symbols": "BTC/USD"}
        latest = client.get_crypto_latest_bar(CryptoLatestBarRequest(**pair))
        latest_trade = client.get_crypto_latest_trade(CryptoLatestTradeRequest(**pair))
        latest_quote = client.get_crypto_latest_quote(CryptoLatestQuoteRequest(**pair))
        trades = client.get_crypto_trades(CryptoTradesRequest(**pair, start=T0))
        quotes = client.get_crypto_quotes(CryptoQuoteRequest(**pair, start=T0))
        snapshot = client.get_crypto_snapshot(CryptoSnapshotRequest(**pair))
    assert [b.symbol for b in streamed] == ["BTC/USD"] * 3
    assert [b.timestamp for b in streamed] == [
        (T0 + timedelta(minutes=i)).replace(tzinfo=UTC) for i in range(3)
    ]
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in streamed] == BARS[:3]
    # history: the bars published so far, never a later one
    rows = history.data["BTC/USD"]
    assert [b.timestamp for b in rows] == [b.timestamp for b in streamed]
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in rows] == BARS[:3]
    assert latest["BTC/USD"].timestamp == streamed[-1].timestamp
    assert latest_trade["BTC/USD"].price == BARS[2][3]  # a bar stands for a trade at its close
    assert latest_quote["BTC/USD"].bid_price == latest_quote["BTC/USD"].ask_price == BARS[2][3]
    assert [t.price for t in trades["BTC/USD"]] == [r[3] for r in BARS[:3]]
    assert len(quotes["BTC/USD"]) == 3
    assert snapshot["BTC/USD"].latest_trade.price == BARS[2][3]
    assert snapshot["BTC/USD"].minute_bar.close == BARS[2][3]


CRYPTO_SERVED = {
    "CryptoHistoricalDataClient.get_crypto_bars",
    "CryptoHistoricalDataClient.get_crypto_latest_bar",
    "CryptoHistoricalDataClient.get_crypto_latest_trade",
    "CryptoHistoricalDataClient.get_crypto_latest_quote",
    "CryptoHistoricalDataClient.get_crypto_trades",
    "CryptoHistoricalDataClient.get_crypto_quotes",
    "CryptoHistoricalDataClient.get_crypto_snapshot",
    "CryptoDataStream.subscribe_bars",
}
CRYPTO_OUT_OF_SCOPE = {
    "CryptoHistoricalDataClient.get_crypto_latest_orderbook": "bars carry no order book",
    "CryptoDataStream.subscribe_orderbooks": "acknowledged; bars carry no order book",
    "CryptoDataStream.subscribe_trades": "the stock stream's trades, not driven here",
    "CryptoDataStream.subscribe_quotes": "the stock stream's quotes, not driven here",
    "CryptoDataStream.subscribe_daily_bars": "the stock stream's daily bars, not driven here",
    "CryptoDataStream.subscribe_updated_bars": "acknowledged; a replay never corrects a bar",
}


def test_every_crypto_client_call_is_classified() -> None:
    """A crypto call alpaca-py 0.44 has and this file neither drives nor explains fails."""
    import inspect

    calls = {
        f"CryptoHistoricalDataClient.{name}"
        for name, _ in inspect.getmembers(CryptoHistoricalDataClient, inspect.isfunction)
        if not name.startswith("_") and name in CryptoHistoricalDataClient.__dict__
    } | {
        f"CryptoDataStream.{name}"
        for name, _ in inspect.getmembers(CryptoDataStream, inspect.isfunction)
        if name.startswith("subscribe_")
    }
    assert calls == CRYPTO_SERVED | set(CRYPTO_OUT_OF_SCOPE)


def test_crypto_orders_as_alpaca_takes_them(venue: VenueServer, trading: TradingClient) -> None:
    with pytest.raises(APIError) as err:  # Alpaca: no day orders for crypto
        trading.submit_order(
            MarketOrderRequest(symbol="BTC/USD", qty=0.5, side="buy", time_in_force="day")
        )
    assert err.value.status_code == 422 and err.value.code == 42210000
    assert err.value.message == "invalid crypto time_in_force"
    with pytest.raises(APIError) as err:
        trading.submit_order(
            StopOrderRequest(
                symbol="BTC/USD", qty=0.5, side="buy", time_in_force="gtc", stop_price=43_000
            )
        )
    assert err.value.code == 42210000 and "order type" in err.value.message
    with crypto_bars(venue) as seen:
        bar = seen.get(timeout=WAIT)  # 03:00 published; orders now fill from 03:01 on
        market, dollars, limit = _orders(trading)
        assert market.asset_class == AssetClass.CRYPTO
        assert market.time_in_force == TimeInForce.GTC
        for _ in range(3):  # bar 1 opens at 42,050; bar 3 reaches 41,800
            bar = step(venue, seen, bar)
        _check_fills(trading, market.id, dollars.id, limit.id)


def _orders(trading: TradingClient) -> tuple[Any, Any, Any]:
    """A fractional gtc market buy, a notional ioc buy and a resting gtc limit buy (a maker)."""
    market = trading.submit_order(
        MarketOrderRequest(
            symbol="BTC/USD", qty=0.123456789, side=OrderSide.BUY, time_in_force=TimeInForce.GTC
        )
    )
    dollars = trading.submit_order(
        MarketOrderRequest(
            symbol="BTC/USD", notional=1000, side=OrderSide.BUY, time_in_force=TimeInForce.IOC
        )
    )
    limit = trading.submit_order(
        LimitOrderRequest(
            symbol="BTC/USD", qty=0.01, side="buy", time_in_force="gtc", limit_price=41_800
        )
    )
    return market, dollars, limit


def _check_fills(trading: TradingClient, *ids: Any) -> None:
    market, dollars, limit = (trading.get_order_by_id(i) for i in ids)
    assert market.status.value == "filled" and market.filled_avg_price == "42050"
    assert market.filled_qty == "0.123456789"
    assert dollars.status.value == "filled" and dollars.notional == "1000"
    assert dollars.filled_qty == "0.023781212"  # $1,000 at 42,050, nine decimals, down
    assert limit.status.value == "filled" and limit.filled_avg_price == "41800"
    positions = trading.get_all_positions()
    assert [(p.symbol, p.asset_class, p.exchange) for p in positions] == [
        ("BTCUSD", AssetClass.CRYPTO, "CRYPTO")
    ]
    held = 0.123456789 + 0.023781212 + 0.01
    assert float(positions[0].qty) == pytest.approx(held, abs=1e-12)
    assert trading.get_open_position("BTCUSD").qty == positions[0].qty
    # taker 0.25 % on both market fills, maker 0.15 % on the limit fill
    fees = (0.123456789 * 42_050 + 0.023781212 * 42_050) * 0.0025 + 0.01 * 41_800 * 0.0015
    spent = (0.123456789 + 0.023781212) * 42_050 + 0.01 * 41_800
    cash = float(trading.get_account().cash)
    assert cash == pytest.approx(100_000 - spent - fees, abs=0.005)
    closing = trading.close_position("BTCUSD")  # Alpaca's crypto liquidation: a gtc market sell
    assert closing.time_in_force == TimeInForce.GTC and closing.symbol == "BTC/USD"
