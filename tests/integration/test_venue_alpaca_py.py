"""The local venue's REST surface through alpaca-py's `TradingClient` and
`StockHistoricalDataClient` over real loopback sockets: account, clock, calendar, assets,
errors (401/403/404/422), injected 429/5xx, and paginated bar history without future bars."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, OrderSide
from alpaca.trading.requests import GetCalendarRequest, LimitOrderRequest, MarketOrderRequest

from parity.feeds.loader import LoadedData, load_bars
from parity.venue import FaultPlan, VenueConfig, VenueServer

NY = ZoneInfo("America/New_York")
KEYS = ("key-id", "secret-key")
AUTH = {"APCA-API-KEY-ID": KEYS[0], "APCA-API-SECRET-KEY": KEYS[1]}  # control paths too
START = "2013-10-07T10:00:00"


@pytest.fixture(scope="module")
def minute() -> LoadedData:
    return load_bars("sample:minute", ["IBM", "BAC"])


@pytest.fixture
def server(minute: LoadedData) -> Iterator[VenueServer]:
    with VenueServer(VenueConfig(data=minute, start=START, keys=KEYS, cash=50_000)) as venue:
        yield venue


@pytest.fixture
def trading(server: VenueServer) -> TradingClient:
    client = TradingClient(*KEYS, paper=True, url_override=server.base_url)
    client._retry_wait = 0
    return client


def market(qty: float, side: str = "buy", symbol: str = "IBM", **kw: object) -> MarketOrderRequest:
    return MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force="day", **kw)


def test_account_clock_calendar_assets(server: VenueServer, trading: TradingClient) -> None:
    account = trading.get_account()
    assert account.cash == "50000" and account.equity == "50000"
    assert account.buying_power == "50000" and account.status.value == "ACTIVE"
    clock = trading.get_clock()
    assert clock.timestamp == datetime(2013, 10, 7, 10, 0, tzinfo=NY)
    assert clock.is_open
    assert clock.next_close == datetime(2013, 10, 7, 16, 0, tzinfo=NY)
    assert clock.next_open == datetime(2013, 10, 8, 9, 30, tzinfo=NY)
    days = trading.get_calendar(GetCalendarRequest(start=date(2013, 10, 1), end=date(2013, 10, 9)))
    assert [d.date for d in days] == [date(2013, 10, d) for d in (4, 7, 8, 9)]
    assert days[0].open == datetime(2013, 10, 4, 9, 30)
    assert days[0].close == datetime(2013, 10, 4, 16, 0)
    assets = trading.get_all_assets()
    assert sorted(a.symbol for a in assets) == ["BAC", "IBM"]
    ibm = trading.get_asset("IBM")
    assert ibm.asset_class == AssetClass.US_EQUITY and ibm.tradable
    assert trading.get_asset(str(ibm.id)).symbol == "IBM"
    with pytest.raises(APIError) as err:
        trading.get_asset("NOPE")
    assert err.value.status_code == 404 and err.value.code == 40410000


def test_orders_listing_and_lookup(trading: TradingClient) -> None:
    order = trading.submit_order(market(5, client_order_id="cid-1"))
    assert str(trading.get_order_by_id(order.id).id) == str(order.id)
    assert trading.get_order_by_client_id("cid-1").id == order.id
    assert [o.id for o in trading.get_orders()] == [order.id]
    with pytest.raises(APIError) as err:
        trading.get_order_by_client_id("missing")
    assert err.value.status_code == 404
    with pytest.raises(APIError) as err:
        trading.get_open_position("IBM")
    assert err.value.status_code == 404 and err.value.message == "position does not exist"


def test_wrong_keys_are_401(server: VenueServer) -> None:
    client = TradingClient("key-id", "wrong", url_override=server.base_url)
    with pytest.raises(APIError) as err:
        client.get_account()
    assert err.value.status_code == 401 and err.value.code == 40110000
    data = StockHistoricalDataClient("nope", "nope", url_override=server.base_url)
    with pytest.raises(APIError) as err:
        data.get_stock_bars(StockBarsRequest(symbol_or_symbols="IBM", timeframe=TimeFrame.Minute))
    assert err.value.status_code == 401


def test_insufficient_buying_power_is_403(trading: TradingClient) -> None:
    # reference price: the last close before the first streamed bar (09:59 bar)
    with pytest.raises(APIError) as err:
        trading.submit_order(market(1000))
    assert err.value.status_code == 403 and err.value.code == 40310000
    assert err.value.message == "insufficient buying power"
    body = err.value.response.json()
    assert float(body["buying_power"]) == 50_000 and float(body["cost_basis"]) > 50_000
    with pytest.raises(APIError) as err:
        trading.submit_order(
            LimitOrderRequest(
                symbol="IBM", qty=300, side="buy", time_in_force="day", limit_price=170
            )
        )
    assert err.value.status_code == 403
    trading.submit_order(
        LimitOrderRequest(symbol="IBM", qty=200, side="buy", time_in_force="day", limit_price=170)
    )
    assert float(trading.get_account().buying_power) == pytest.approx(50_000 - 200 * 170)


def test_selling_more_than_held_is_403(trading: TradingClient) -> None:
    with pytest.raises(APIError) as err:
        trading.submit_order(market(3, side=OrderSide.SELL))
    assert err.value.status_code == 403 and err.value.code == 40310000
    assert err.value.message == "insufficient qty available for order (requested: 3, available: 0)"


def test_invalid_orders_are_422(server: VenueServer, trading: TradingClient) -> None:
    trading.submit_order(market(1, client_order_id="dup"))
    cases = [
        (market(1, client_order_id="dup"), "client_order_id must be unique"),
        (market(1, symbol="ZZZZ"), "asset 'ZZZZ' not found"),
    ]
    for request, message in cases:
        with pytest.raises(APIError) as err:
            trading.submit_order(request)
        assert err.value.status_code == 422 and err.value.code == 40010001
        assert err.value.message == message
    raw = [
        ({"qty": 0}, "qty must be > 0"),
        ({"qty": -1}, "qty must be > 0"),
        (
            {"type": "trailing_stop"},
            "trailing_stop orders require exactly one of trail_price or trail_percent",
        ),
        ({"type": "trailer"}, "invalid order type: 'trailer'"),
        (
            {"qty": 1.5, "time_in_force": "gtc"},
            "fractional orders must be simple DAY orders (not trailing stops)",
        ),
        ({"notional": 100}, "exactly one of qty or notional is required"),
        ({"side": "short"}, "invalid side: 'short'"),
        ({"time_in_force": "gfd"}, "invalid time_in_force"),  # fok/ioc/opg/cls are served
        ({"type": "limit"}, "limit orders require a limit price"),
        ({"limit_price": 180}, "market orders require no stop or limit price"),
    ]
    headers = {"APCA-API-KEY-ID": KEYS[0], "APCA-API-SECRET-KEY": KEYS[1]}
    for change, message in raw:
        body = {"symbol": "IBM", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}
        body.update(change)
        response = requests.post(
            f"{server.base_url}/v2/orders", json=body, headers=headers, timeout=5
        )
        assert response.status_code == 422, change
        assert response.json() == {"code": 40010001, "message": message}


def test_429_then_success_and_exhausted(server: VenueServer, trading: TradingClient) -> None:
    requests.post(
        f"{server.base_url}/parity/v1/faults",
        json={"rest_errors": [[429, 2]]},
        headers=AUTH,
        timeout=5,
    ).raise_for_status()
    assert trading.get_account().cash == "50000"  # two 429s retried away
    assert server.snapshot()["faults"]["rest_errors"] == []
    requests.post(
        f"{server.base_url}/parity/v1/faults",
        json={"rest_errors": [[429, 4]]},
        headers=AUTH,
        timeout=5,
    ).raise_for_status()
    with pytest.raises(APIError) as err:
        trading.get_account()  # 1 try + 3 retries, all 429
    assert err.value.status_code == 429 and err.value.code == 42910000
    assert err.value.message == "rate limit exceeded"
    assert trading.get_account().cash == "50000"


def test_5xx_burst(minute: LoadedData) -> None:
    faults = FaultPlan(rest_errors=((500, 2), (503, 1), (504, 1)))
    with VenueServer(VenueConfig(data=minute, start=START, faults=faults)) as venue:
        client = TradingClient("any", "thing", url_override=venue.base_url)
        client._retry_wait = 0
        for status in (500, 500, 503):
            with pytest.raises(APIError) as err:
                client.get_clock()
            assert err.value.status_code == status and isinstance(err.value.code, int)
        assert client.get_clock().is_open  # the 504 is retried by alpaca-py
        # control endpoints are never faulted
        assert requests.get(f"{venue.base_url}/parity/v1/status", timeout=5).ok


def test_bars_history_stops_at_the_clock(server: VenueServer, minute: LoadedData) -> None:
    data = StockHistoricalDataClient(*KEYS, url_override=server.base_url)
    data._retry_wait = 0
    result = data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols=["IBM", "BAC"],
            timeframe=TimeFrame.Minute,
            start=datetime(2013, 10, 7, tzinfo=NY),
        )
    ).data
    ibm = minute.series[0].frame
    expected = ibm[(ibm.index >= "2013-10-07") & (ibm.index < START)]
    got = result["IBM"]
    assert len(got) == len(expected) and len(result["BAC"]) > 0
    assert got[-1].timestamp == datetime(2013, 10, 7, 13, 59, tzinfo=UTC)
    assert got[-1].close == expected["close"].iloc[-1]
    assert got[0].open == expected["open"].iloc[0]
    hourly = data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols="IBM",
            timeframe=TimeFrame(1, TimeFrameUnit.Hour),
            start=datetime(2013, 10, 4, tzinfo=NY),
        )
    ).data["IBM"]
    frame = (
        ibm[ibm.index < START]
        .resample("1h")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    )
    frame = frame.dropna()
    assert [b.high for b in hourly] == frame["high"].tolist()
    assert hourly[-1].timestamp.astimezone(NY).replace(tzinfo=None) == frame.index[-1]
    daily = data.get_stock_bars(
        StockBarsRequest(symbol_or_symbols="IBM", timeframe=TimeFrame.Day)
    ).data["IBM"]
    assert [b.timestamp.astimezone(NY).hour for b in daily] == [0, 0]


def test_bars_pagination() -> None:
    everything = load_bars("sample:minute", ["IBM", "BAC", "AIG", "AAPL"])
    total = sum(len(s) for s in everything.series)
    assert total > 10_000  # more than one page of alpaca-py's limit=10000
    last = "2014-06-09T19:59:00"
    with VenueServer(VenueConfig(data=everything, start=last)) as venue:
        data = StockHistoricalDataClient("k", "s", url_override=venue.base_url)
        result = data.get_stock_bars(
            StockBarsRequest(
                symbol_or_symbols=["IBM", "BAC", "AIG", "AAPL"],
                timeframe=TimeFrame.Minute,
                start=datetime(2013, 1, 1, tzinfo=NY),
            )
        ).data
        got = sum(len(v) for v in result.values())
        future = sum(int((s.frame.index >= pd.Timestamp(last)).sum()) for s in everything.series)
        assert future == 1 and got == total - future
        limited = data.get_stock_bars(
            StockBarsRequest(symbol_or_symbols=["IBM"], timeframe=TimeFrame.Minute, limit=5)
        ).data["IBM"]
        assert len(limited) == 5
        # raw pages: tokens chain without gaps or repeats
        url = f"{venue.base_url}/v2/stocks/IBM/bars"
        params: dict[str, object] = {"timeframe": "1Min", "limit": 1000}
        seen: list[str] = []
        auth = {"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}
        while True:
            page = requests.get(url, params=params, headers=auth, timeout=5).json()
            assert page["symbol"] == "IBM"
            seen.extend(b["t"] for b in page["bars"])
            if page["next_page_token"] is None:
                break
            params["page_token"] = page["next_page_token"]
        ibm = everything.series[0].frame.index
        assert len(seen) == len(set(seen)) == len(ibm)
        assert seen[0] == "2013-10-04T12:28:00Z"
        assert pd.Timestamp(seen[-1]).tz_convert(NY).tz_localize(None) == ibm[-1]
