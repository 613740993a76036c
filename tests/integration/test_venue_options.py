"""Options on the local venue through alpaca-py's own clients, unmodified, over loopback: the
contracts `TradingClient.get_option_contracts` lists and `get_option_contract` finds, the chain
snapshots and quotes `OptionHistoricalDataClient` reads, all equal to the part-1 model chain
computed apart from the venue at the venue's clock; and single-leg option orders, filled at the
next step's quote (buy at the ask, sell at the bid) and booked in cash and positions x100."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.requests import OptionChainRequest, OptionLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, ContractType, OrderSide, PositionIntent
from alpaca.trading.requests import (
    GetOptionContractsRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    OptionLegRequest,
)
from test_venue_lifecycle import AUTH, KEYS, Harness

from parity.feeds.loader import LoadedData, load_bars
from parity.instruments.calendars import calendar_named
from parity.options.chain import session_close, session_open
from parity.options.model import ModelChain, ModelChainParams
from parity.venue import VenueConfig, VenueServer

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

START = "2012-06-01"  # a Friday: the replay's first step; the model has months of closes before
XNYS = calendar_named("XNYS")


@pytest.fixture(scope="module")
def daily() -> LoadedData:
    return load_bars("sample", ["IBM"], start=dt.date(2012, 1, 3), end=dt.date(2012, 7, 31))


@pytest.fixture
def server(daily: LoadedData) -> Iterator[VenueServer]:
    with VenueServer(VenueConfig(data=daily, start=START, keys=KEYS, cash=50_000)) as venue:
        yield venue


@pytest.fixture
def trading(server: VenueServer) -> TradingClient:
    client = TradingClient(*KEYS, paper=True, url_override=server.base_url)
    client._retry_wait = 0
    return client


def model_at(daily: LoadedData, now: dt.datetime) -> tuple[ModelChain, float]:
    """The model chain as the venue has it at `now`, built apart: every session closed by
    then observed, quoted at the last close before `now`."""
    frame = daily.series[0].frame
    chain = ModelChain("IBM", XNYS, ModelChainParams())
    for label, close in frame["close"].items():
        if session_close(XNYS, label.date()) <= now:
            chain.observe_close(label.date(), float(close))
    spot = float(frame[frame.index < pd.Timestamp(now)]["close"].iloc[-1])
    return chain, spot


def test_contracts_and_chain_snapshots_are_the_model_chain_at_the_venue_clock(
    server: VenueServer, trading: TradingClient, daily: LoadedData
) -> None:
    now = dt.datetime(2012, 6, 1)  # the clock before the first step: Friday's bar not yet out
    chain, spot = model_at(daily, now)
    expiry = dt.date(2012, 6, 8)
    want = [
        c
        for c in chain.contracts(now, spot, right="put", min_strike=180, max_strike=190)
        if c.expiry == expiry
    ]
    assert len(want) == 11
    got = trading.get_option_contracts(
        GetOptionContractsRequest(
            underlying_symbols=["IBM"], type=ContractType.PUT, expiration_date=expiry,
            strike_price_gte="180", strike_price_lte="190",
        )
    )  # fmt: skip
    assert [c.symbol for c in got.option_contracts] == [c.symbol for c in want]
    first = got.option_contracts[0]
    assert (first.symbol, first.strike_price, first.size, first.underlying_symbol) == (
        "IBM120608P00180000", 180.0, "100", "IBM",
    )  # fmt: skip
    assert first.name == "IBM Jun 8 2012 180 Put" and first.style == "american"
    assert trading.get_option_contract(first.symbol).id == first.id
    assert trading.get_option_contract(first.id).symbol == first.symbol
    with pytest.raises(APIError) as missing:
        trading.get_option_contract("IBM120608P00999000")
    assert missing.value.status_code == 404 and "IBM120608P00999000 not found" in str(missing.value)

    # pages: a bare request lists what expires by the coming weekend, 100 a page
    by_weekend = [c.symbol for c in chain.contracts(now, spot) if c.expiry <= dt.date(2012, 6, 3)]
    page = trading.get_option_contracts(GetOptionContractsRequest(underlying_symbols=["IBM"]))
    assert [c.symbol for c in page.option_contracts] == by_weekend[:100]
    rest = trading.get_option_contracts(
        GetOptionContractsRequest(underlying_symbols=["IBM"], page_token=page.next_page_token)
    )
    assert [c.symbol for c in rest.option_contracts] == by_weekend[100:200]
    assert len(by_weekend) > 100 and {s[3:9] for s in by_weekend} == {"120601"}

    data = OptionHistoricalDataClient(*KEYS, url_override=server.base_url)
    snaps = data.get_option_chain(
        OptionChainRequest(
            underlying_symbol="IBM", type=ContractType.PUT, expiration_date=expiry,
            strike_price_gte=180.0, strike_price_lte=190.0,
        )
    )  # fmt: skip
    quotes = chain.quotes(want, now, spot)
    assert list(snaps) == [c.symbol for c in want]
    for quote in quotes:
        assert quote is not None
        snap = snaps[quote.symbol]
        assert (snap.latest_quote.bid_price, snap.latest_quote.ask_price) == (
            round(quote.bid, 4),
            round(quote.ask, 4),
        )
        assert snap.greeks.delta == round(quote.delta, 6)
        assert snap.implied_volatility == round(quote.iv, 6)
    latest = data.get_option_latest_quote(
        OptionLatestQuoteRequest(symbol_or_symbols=[first.symbol])
    )
    assert latest[first.symbol].ask_price == round(quotes[0].ask, 4)


def test_bad_option_queries_name_the_parameter(server: VenueServer) -> None:
    base = f"{server.base_url}/v2/options/contracts"
    for query, fragment in [
        ({"expiration_date": "soon"}, "invalid expiration_date: 'soon'"),
        ({"strike_price_gte": "abc"}, "invalid strike_price_gte: 'abc'"),
        ({"type": "straddle"}, "invalid type: 'straddle'"),
        ({"limit": "0"}, "limit must be between 1 and 10000"),
    ]:
        answer = requests.get(base, params=query, headers=AUTH, timeout=10)
        assert answer.status_code == 422 and fragment in answer.json()["message"], query
    answer = requests.get(
        f"{server.base_url}/v1beta1/options/quotes/latest", params={"symbols": "IBM"},
        headers=AUTH, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 400 and "not an OCC symbol" in answer.json()["message"]


@pytest.fixture
def stepped(daily: LoadedData) -> Iterator[Harness]:
    config = VenueConfig(data=daily, start=START, keys=KEYS, cash=50_000, ack_timeout=5.0)
    harness = Harness(config, ["IBM"])
    try:
        yield harness
    finally:
        harness.close()


def test_single_leg_option_orders_fill_at_the_next_steps_quote(
    stepped: Harness, daily: LoadedData
) -> None:
    client = stepped.client
    stepped.next_bar()  # Friday 2012-06-01 is out; orders now meet Monday's opening quote
    (contract,) = client.get_option_contracts(
        GetOptionContractsRequest(
            underlying_symbols=["IBM"], type=ContractType.PUT,
            expiration_date=dt.date(2012, 6, 15), strike_price_gte="190", strike_price_lte="190",
        )
    ).option_contracts  # fmt: skip
    symbol = contract.symbol
    bought = client.submit_order(
        MarketOrderRequest(
            symbol=symbol, qty=2, side=OrderSide.BUY, time_in_force="day",
            position_intent=PositionIntent.BUY_TO_OPEN,
        )
    )  # fmt: skip
    assert bought.asset_class == AssetClass.US_OPTION and float(bought.qty) == 2
    stepped.step()  # Monday 2012-06-04
    fill = stepped.event(bought.id, "fill")
    monday = dt.date(2012, 6, 4)
    frame = daily.series[0].frame
    chain, _ = model_at(daily, session_open(XNYS, monday))
    spot = float(frame.loc[pd.Timestamp(monday), "open"])
    opening = chain.quotes([chain.contract(dt.date(2012, 6, 15), "put", 190.0)],
                           session_open(XNYS, monday), spot)[0]  # fmt: skip
    assert opening is not None
    assert float(fill.price) == pytest.approx(opening.ask, abs=1e-9) and float(fill.qty) == 2
    account = client.get_account()
    assert float(account.cash) == pytest.approx(50_000 - 2 * 100 * round(opening.ask, 6))
    held = client.get_open_position(symbol)
    assert (float(held.qty), held.asset_class) == (2, AssetClass.US_OPTION)
    assert float(held.market_value) == pytest.approx(2 * 100 * opening.mid)

    # a limit sell far above the bid rests through a step; a market sell closes at the next
    # opening bid
    resting = client.submit_order(
        LimitOrderRequest(
            symbol=symbol,
            qty=2,
            side=OrderSide.SELL,
            time_in_force="day",
            limit_price=round(opening.ask * 3, 2),
        )
    )
    stepped.step()  # Tuesday 2012-06-05: not met
    assert "fill" not in stepped.events(resting.id)
    assert client.get_order_by_id(resting.id).status.value == "new"
    client.cancel_order_by_id(resting.id)
    sold = client.submit_order(
        MarketOrderRequest(symbol=symbol, qty=2, side=OrderSide.SELL, time_in_force="day")
    )
    stepped.step()  # Wednesday 2012-06-06
    closing = stepped.event(sold.id, "fill")
    day = dt.date(2012, 6, 6)
    chain, _ = model_at(daily, session_open(XNYS, day))
    spot = float(frame.loc[pd.Timestamp(day), "open"])
    quote = chain.quotes([chain.contract(dt.date(2012, 6, 15), "put", 190.0)],
                         session_open(XNYS, day), spot)[0]  # fmt: skip
    assert quote is not None and float(closing.price) == pytest.approx(quote.bid, abs=1e-9)
    cash = 50_000 - 200 * round(opening.ask, 6) + 200 * round(quote.bid, 6)
    assert float(client.get_account().cash) == pytest.approx(cash)
    assert all(p.symbol != symbol for p in client.get_all_positions())


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"qty": 1.5}, "whole number of contracts"),
        ({"time_in_force": "ioc"}, "time_in_force provided not supported for options"),
        ({"time_in_force": "gtc"}, "time_in_force provided not supported for options"),
        ({"extended_hours": True}, "extended hours are not supported"),
        ({"symbol": "IBM120615P00999000"}, "IBM120615P00999000 is not listed now"),
    ],
)
def test_option_orders_alpaca_refuses_are_422(
    server: VenueServer, trading: TradingClient, fields: dict, fragment: str
) -> None:
    body = {"symbol": "IBM120615P00190000", "qty": 1, "side": "buy", "type": "market",
            "time_in_force": "day", **fields}  # fmt: skip
    answer = requests.post(f"{server.base_url}/v2/orders", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == 42210000 and fragment in answer.json()["message"]


OPTION_TIF_REFUSED = "order_time_in_force provided not supported for options trading"


@pytest.mark.parametrize(
    ("tif", "extended", "message"),
    [
        ("gtc", False, OPTION_TIF_REFUSED),
        ("opg", False, OPTION_TIF_REFUSED),
        ("cls", False, OPTION_TIF_REFUSED),
        ("ioc", False, OPTION_TIF_REFUSED),
        ("fok", False, OPTION_TIF_REFUSED),
        ("day", True, "extended hours are not supported for options trading"),
    ],
)
@pytest.mark.parametrize("combo", [False, True], ids=["single", "mleg"])
def test_alpaca_py_option_orders_other_than_day_regular_hours_are_refused(
    trading: TradingClient, tif: str, extended: bool, message: str, combo: bool
) -> None:
    """Through alpaca-py's `TradingClient`: an option order (single leg or `mleg`) whose time
    in force is not `day`, or that asks for extended hours, is refused with Alpaca's 422 /
    42210000 and its message, and nothing is placed."""
    if combo:
        request: LimitOrderRequest = LimitOrderRequest(
            qty=1, order_class="mleg", time_in_force=tif, extended_hours=extended,
            limit_price=-0.5,
            legs=[OptionLegRequest(symbol="IBM120615P00190000", ratio_qty=1, side=OrderSide.SELL),
                  OptionLegRequest(symbol="IBM120615P00185000", ratio_qty=1, side=OrderSide.BUY)],
        )  # fmt: skip
    else:
        request = LimitOrderRequest(
            symbol="IBM120615P00190000", qty=1, side=OrderSide.BUY, time_in_force=tif,
            extended_hours=extended, limit_price=1.0,
        )  # fmt: skip
    with pytest.raises(APIError) as refused:
        trading.submit_order(request)
    assert refused.value.status_code == 422
    assert refused.value.code == 42210000
    assert json.loads(str(refused.value))["message"] == message
    assert trading.get_orders() == []


def test_expiry_exercises_in_the_money_longs_and_expires_the_rest_as_activities(
    stepped: Harness,
) -> None:
    """Two long contracts expiring Friday 2012-06-08 (IBM closes at 195.14): the 180 call is
    exercised (100 shares bought at the strike: OPEXC with its OPTRD), the 185 put expires
    (OPEXP); positions and cash change at the expiry close, seen at the next step."""
    client = stepped.client
    stepped.next_bar()
    call, put = "IBM120608C00180000", "IBM120608P00185000"
    orders = [
        client.submit_order(
            MarketOrderRequest(symbol=s, qty=1, side=OrderSide.BUY, time_in_force="day")
        )
        for s in (call, put)
    ]
    stepped.step()  # Monday: both fill at the opening ask
    paid = sum(100 * float(stepped.event(o.id, "fill").price) for o in orders)
    for _ in range(4):  # Tuesday to Friday (the expiry session)
        stepped.step()
    assert {p.symbol for p in client.get_all_positions()} == {call, put}
    stepped.step()  # Monday 2012-06-11: Friday's close has passed
    held = {p.symbol: p for p in client.get_all_positions()}
    assert set(held) == {"IBM"}
    assert (float(held["IBM"].qty), float(held["IBM"].avg_entry_price)) == (100, 180.0)
    assert float(client.get_account().cash) == pytest.approx(50_000 - paid - 18_000)
    rows = client.get(
        "/account/activities", {"activity_types": "OPEXC,OPEXP,OPTRD", "direction": "asc"}
    )
    assert isinstance(rows, list)
    got = [(r["activity_type"], r["symbol"], r["qty"], r["net_amount"]) for r in rows]
    assert got == [
        ("OPEXC", call, "-1", "0"),
        ("OPTRD", "IBM", "100", "-18000"),
        ("OPEXP", put, "-1", "0"),
    ]
    assert rows[0]["group_id"] == rows[1]["group_id"] != rows[2]["group_id"]
    assert rows[1]["price"] == "180" and rows[0]["date"] == "2012-06-08"
