"""The option quote stream of the local venue through alpaca-py's own `OptionDataStream`,
unmodified, over loopback: each replay step sends every subscribed contract's quote, the one an
order meets at that step (equal to the part-1 model chain computed apart), as msgpack with a
Timestamp; a JSON client gets Alpaca's 412, a star quote subscription its 413."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from alpaca.data.live.option import OptionDataStream
from test_venue_lifecycle import KEYS, WAIT, Harness
from test_venue_option_combos import LONG, SHORT, opening_quotes
from test_venue_options import START
from websockets.sync.client import connect

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


def test_subscribed_contracts_stream_the_quote_each_step_meets(
    stepped: Harness, daily: LoadedData
) -> None:
    quotes: queue.Queue[Any] = queue.Queue()
    stream = OptionDataStream(*KEYS, url_override=stepped.server.option_stream_url)

    async def on_quote(quote: Any) -> None:
        quotes.put(quote)

    stream.subscribe_quotes(on_quote, SHORT, LONG)
    threading.Thread(target=stream.run, daemon=True).start()
    stepped.wait_status(lambda s: s["option_connections"] == 1)
    stepped.next_bar()  # Friday 2012-06-01
    for day in (dt.date(2012, 6, 4), dt.date(2012, 6, 5)):
        stepped.step()
        got = {}
        while len(got) < 2:  # (Friday's quotes come first when the stream was in time)
            quote = quotes.get(timeout=30)
            if quote.timestamp.date() == day:
                got[quote.symbol] = quote
        want = opening_quotes(daily, day, SHORT, LONG)
        for symbol, quote in got.items():
            assert (quote.bid_price, quote.ask_price) == (
                round(want[symbol].bid, 4),
                round(want[symbol].ask, 4),
            )
            # the opening quote, 09:30 New York (13:30 UTC in June)
            assert quote.timestamp == dt.datetime.combine(day, dt.time(13, 30), dt.UTC)
    stream.stop()


def test_json_clients_and_star_quotes_are_refused_with_alpacas_codes(stepped: Harness) -> None:
    url = stepped.server.option_stream_url
    with connect(url) as ws:  # no msgpack Content-Type
        assert json.loads(ws.recv(timeout=WAIT)) == [
            {
                "T": "error",
                "code": 412,
                "msg": "option messages are only available in MsgPack format",
            }
        ]
    with connect(url, additional_headers={"Content-Type": "application/msgpack"}) as ws:
        assert msgpack.unpackb(ws.recv(timeout=WAIT)) == [{"T": "success", "msg": "connected"}]
        ws.send(msgpack.packb({"action": "auth", "key": KEYS[0], "secret": KEYS[1]}))
        assert msgpack.unpackb(ws.recv(timeout=WAIT))[0]["msg"] == "authenticated"
        ws.send(msgpack.packb({"action": "subscribe", "quotes": ["*"]}))
        assert msgpack.unpackb(ws.recv(timeout=WAIT)) == [
            {"T": "error", "code": 413, "msg": "star subscription is not allowed for option quotes"}
        ]
        ws.send(msgpack.packb({"action": "subscribe", "quotes": ["IBM"]}))
        assert (
            "'IBM' is not an OCC option symbol" in msgpack.unpackb(ws.recv(timeout=WAIT))[0]["msg"]
        )
        ws.send(msgpack.packb({"action": "subscribe", "trades": [SHORT], "quotes": [LONG]}))
        assert msgpack.unpackb(ws.recv(timeout=WAIT)) == [
            {"T": "subscription", "trades": [SHORT], "quotes": [LONG]}
        ]
