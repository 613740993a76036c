"""Fault injection on the option calls of the local venue, as for equities (`FaultPlan` through
`POST /parity/v1/faults`), through alpaca-py's own clients: REST errors on contract lookups
and chain snapshots, a combo the venue rejects by its client order id (a `rejected` trade update,
nothing booked), a combo whose answer is lost after it was placed (alpaca-py's retry is refused
as a duplicate and the one order stands), and a dropped step that loses its option quotes."""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.live.option import OptionDataStream
from alpaca.data.requests import OptionChainRequest
from alpaca.trading.requests import GetOptionContractsRequest
from test_venue_lifecycle import AUTH, KEYS, WAIT, Harness
from test_venue_option_combos import LONG, SHORT, spread
from test_venue_options import START

from parity.feeds.loader import LoadedData, load_bars
from parity.venue import VenueConfig

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def daily() -> LoadedData:
    return load_bars("sample", ["IBM"], start=dt.date(2012, 1, 3), end=dt.date(2012, 7, 31))


@pytest.fixture
def stepped(daily: LoadedData) -> Iterator[Harness]:
    config = VenueConfig(data=daily, start=START, keys=KEYS, cash=50_000, ack_timeout=30.0)
    harness = Harness(config, ["IBM"])
    try:
        yield harness
    finally:
        harness.close()


def faults(harness: Harness, **plan: Any) -> None:
    url = f"{harness.server.base_url}/parity/v1/faults"
    requests.post(url, json=plan, headers=AUTH, timeout=WAIT).raise_for_status()


def test_option_calls_meet_the_injected_faults(stepped: Harness) -> None:
    client = stepped.client
    stepped.next_bar()  # Friday 2012-06-01
    lookup = GetOptionContractsRequest(
        underlying_symbols=["IBM"], expiration_date=dt.date(2012, 6, 15), limit=5
    )
    faults(stepped, rest_errors=[[503, 1]])
    with pytest.raises(APIError) as unavailable:
        client.get_option_contracts(lookup)
    assert unavailable.value.status_code == 503
    assert len(client.get_option_contracts(lookup).option_contracts) == 5  # the fault is spent

    data = OptionHistoricalDataClient(*KEYS, url_override=stepped.server.base_url)
    data._retry_wait = 0
    faults(stepped, rest_errors=[[500, 1]])
    chain = OptionChainRequest(
        underlying_symbol="IBM", strike_price_gte=190.0, strike_price_lte=190.0,
        expiration_date=dt.date(2012, 6, 15),
    )  # fmt: skip
    with pytest.raises(APIError) as broken:
        data.get_option_chain(chain)
    assert broken.value.status_code == 500
    assert set(data.get_option_chain(chain)) == {"IBM120615C00190000", "IBM120615P00190000"}

    # a combo rejected by the fault plan: a `rejected` update, no fill, nothing booked
    faults(stepped, reject_orders=["combo-rejected"])
    request = spread(1, -0.01)
    request.client_order_id = "combo-rejected"
    rejected = client.submit_order(request)
    assert rejected.status.value == "rejected"
    assert stepped.event(rejected.id, "rejected").order.status.value == "rejected"

    # a combo placed whose answer is lost (504): alpaca-py sends it again, the venue refuses
    # the duplicate client order id, and the first order stands, alone
    faults(stepped, lost_responses=[[504, 1]])
    request = spread(1, -0.01)
    request.client_order_id = "combo-lost"
    with pytest.raises(APIError) as duplicate:
        client.submit_order(request)
    assert duplicate.value.status_code == 422 and "client_order_id must be unique" in str(
        duplicate.value
    )
    placed = client.get_order_by_client_id("combo-lost")
    assert placed.status.value == "new" and len(placed.legs) == 2
    stepped.step()  # Monday: it fills (a credit of at least $0.01)
    assert float(stepped.event(placed.id, "fill").qty) == 1
    held = {p.symbol: float(p.qty) for p in client.get_all_positions()}
    assert held == {SHORT: -1.0, LONG: 1.0}


def test_a_dropped_step_loses_its_option_quotes(stepped: Harness) -> None:
    quotes: queue.Queue[Any] = queue.Queue()
    stream = OptionDataStream(*KEYS, url_override=stepped.server.option_stream_url)

    async def on_quote(quote: Any) -> None:
        quotes.put(quote)

    stream.subscribe_quotes(on_quote, SHORT)
    threading.Thread(target=stream.run, daemon=True).start()
    stepped.wait_status(lambda s: s["option_connections"] == 1, timeout=30)
    stepped.next_bar()  # Friday
    faults(stepped, drop_bars=["2012-06-04T00:00:00"])  # Monday's step
    stepped.ack()
    stepped.next_bar()  # Tuesday's bar: Monday's was dropped
    assert stepped.last.timestamp.date() == dt.date(2012, 6, 5)
    stamps = []  # Friday's quote (when the stream was in time for it), then Tuesday's
    while dt.date(2012, 6, 5) not in stamps:
        stamps.append(quotes.get(timeout=30).timestamp.date())
    assert dt.date(2012, 6, 4) not in stamps and set(stamps) <= {
        dt.date(2012, 6, 1),
        dt.date(2012, 6, 5),
    }
    stream.stop()
