"""Options on the local venue through alpaca-py's own clients, unmodified, over loopback: the
contracts `TradingClient.get_option_contracts` lists and `get_option_contract` finds, the chain
snapshots and quotes `OptionHistoricalDataClient` reads, all equal to the part-1 model chain
computed apart from the venue at the venue's clock; and single-leg option orders, filled at the
next step's quote (buy at the ask, sell at the bid) and booked in cash and positions x100."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.requests import OptionChainRequest, OptionLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import ContractType
from alpaca.trading.requests import (
    GetOptionContractsRequest,
    LimitOrderRequest,
    MarketOrderRequest,
)

from parity.feeds.loader import LoadedData, load_bars
from parity.instruments.calendars import calendar_named
from parity.options.chain import session_close
from parity.options.model import ModelChain, ModelChainParams
from parity.venue import VenueConfig, VenueServer

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

KEYS = ("key-id", "secret-key")
AUTH = {"APCA-API-KEY-ID": KEYS[0], "APCA-API-SECRET-KEY": KEYS[1]}
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


__all__ = ["LimitOrderRequest", "MarketOrderRequest"]
