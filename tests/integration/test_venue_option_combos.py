"""Multi-leg (`mleg`) option orders on the local venue through alpaca-py's own clients,
unmodified, over loopback: `LimitOrderRequest`/`MarketOrderRequest` with `legs=[OptionLegRequest]`
fill all-or-none at the net of the legs' quotes moved by the venue's costs (slippage, commission
and regulatory fees per contract), one trade update per combo with its executions per leg and
the legs' positions (`raw_data=True`, as the protocol says), positions per leg, cash x100, and
every order Alpaca refuses answered with its status, code and a message naming the fix."""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, PositionIntent, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, OptionLegRequest
from alpaca.trading.stream import TradingStream
from test_venue_lifecycle import AUTH, KEYS, Harness
from test_venue_options import START, XNYS, model_at

from parity.feeds.loader import LoadedData, load_bars
from parity.options.chain import Quote, session_open
from parity.options.costs import OptionCosts
from parity.venue import VenueConfig, VenueServer

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

COSTS = OptionCosts(commission_per_contract=0.65, slippage=0.01, regulatory_fees=True)
SHORT, LONG = "IBM120615P00190000", "IBM120615P00185000"  # a put credit spread, 5 wide


@pytest.fixture(scope="module")
def daily() -> LoadedData:
    return load_bars("sample", ["IBM"], start=dt.date(2012, 1, 3), end=dt.date(2012, 7, 31))


class RawUpdates:
    """A second trading stream, `raw_data=True`: the whole `trade_updates` messages (an mleg
    fill's `legs` and `position_qtys` are dropped by the parsed `TradeUpdate`)."""

    def __init__(self, harness: Harness) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stream = TradingStream(
            *KEYS, raw_data=True, url_override=harness.server.trading_stream_url
        )

        async def on_update(message: dict[str, Any]) -> None:
            self.messages.put(message)

        self.stream.subscribe_trade_updates(on_update)
        threading.Thread(target=self.stream.run, daemon=True).start()
        harness.wait_status(lambda s: s["trading_connections"] == 2)

    def event(self, order_id: str, event: str) -> dict[str, Any]:
        while True:
            message = self.messages.get(timeout=30)
            data = message.get("data", message)
            if data["order"]["id"] == order_id and data["event"] == event:
                return data


@pytest.fixture
def stepped(daily: LoadedData) -> Iterator[Harness]:
    config = VenueConfig(
        data=daily, start=START, keys=KEYS, cash=50_000, ack_timeout=30.0, option_costs=COSTS
    )
    harness = Harness(config, ["IBM"])
    try:
        yield harness
    finally:
        harness.close()


def opening_quotes(daily: LoadedData, day: dt.date, *symbols: str) -> dict[str, Quote]:
    """The model quotes of `symbols` at `day`'s open, computed apart from the venue."""
    moment = session_open(XNYS, day)
    chain, _ = model_at(daily, moment)
    spot = float(daily.series[0].frame.loc[pd.Timestamp(day), "open"])
    out = {}
    for symbol in symbols:
        right = "put" if symbol[9] == "P" else "call"
        contract = chain.contract(dt.date(2012, 6, 15), right, int(symbol[-8:]) / 1000)
        quote = chain.quotes([contract], moment, spot)[0]
        assert quote is not None
        out[symbol] = quote
    return out


def spread(qty: float, limit: float | None) -> Any:
    legs = [
        OptionLegRequest(symbol=SHORT, ratio_qty=1, side=OrderSide.SELL,
                         position_intent=PositionIntent.SELL_TO_OPEN),
        OptionLegRequest(symbol=LONG, ratio_qty=1, side=OrderSide.BUY,
                         position_intent=PositionIntent.BUY_TO_OPEN),
    ]  # fmt: skip
    common = {"qty": qty, "order_class": OrderClass.MLEG, "time_in_force": TimeInForce.DAY}
    if limit is None:
        return MarketOrderRequest(legs=legs, **common)
    return LimitOrderRequest(legs=legs, limit_price=limit, **common)


def test_a_limit_combo_fills_all_or_none_at_its_net_price_with_fees_per_contract(
    stepped: Harness, daily: LoadedData
) -> None:
    client = stepped.client
    raw = RawUpdates(stepped)
    stepped.next_bar()  # Friday 2012-06-01 is out: orders meet Monday's opening quotes
    quotes = opening_quotes(daily, dt.date(2012, 6, 4), SHORT, LONG)
    sell = round(quotes[SHORT].bid * 0.99, 6)  # the venue's slippage: 1% of the premium
    buy = round(quotes[LONG].ask * 1.01, 6)
    net = round(buy - sell, 6)  # a credit: negative
    assert net < 0
    greedy = client.submit_order(spread(2, -5.0))  # $5 of credit on a $5 spread: never
    fair = client.submit_order(spread(2, round(net + 0.01, 2)))
    assert fair.order_class == OrderClass.MLEG and fair.symbol is None and len(fair.legs) == 2
    assert [(leg.symbol, leg.side, leg.ratio_qty, float(leg.qty)) for leg in fair.legs] == [
        (SHORT, OrderSide.SELL, "1", 2.0),
        (LONG, OrderSide.BUY, "1", 2.0),
    ]
    assert fair.legs[0].position_intent == PositionIntent.SELL_TO_OPEN
    stepped.step()  # Monday 2012-06-04
    parsed = stepped.event(fair.id, "fill")
    assert float(parsed.price) == pytest.approx(net) and float(parsed.qty) == 2
    data = raw.event(str(fair.id), "fill")
    assert data["order"]["order_class"] == "mleg" and data["order"]["side"] == "buy"
    assert [(leg["symbol"], leg["qty"], float(leg["price"])) for leg in data["legs"]] == [
        (SHORT, "2", sell),
        (LONG, "2", buy),
    ]
    assert data["position_qtys"] == {SHORT: "-2", LONG: "2"}
    assert "execution_id" not in data and "position_qty" not in data

    fees_per_contract = 0.65 + 0.02685 + 0.02
    fees = 4 * fees_per_contract + 2 * 0.00279  # TAF on the 2 contracts sold
    cash = 50_000 - 2 * 100 * net - fees
    account = client.get_account()
    assert float(account.cash) == pytest.approx(cash, abs=1e-6)
    # the spread's requirement: its worst loss at expiry, 5 x 100 x 2 (premium aside), and
    # the greedy combo still open reserves its own: 1000 + (-5 x 100 x 2) -> 0
    assert float(account.options_buying_power) == pytest.approx(cash - 1000, abs=1e-6)
    held = {p.symbol: float(p.qty) for p in client.get_all_positions()}
    assert held == {SHORT: -2.0, LONG: 2.0}
    order = client.get_order_by_id(fair.id)
    assert order.status.value == "filled" and float(order.filled_avg_price) == pytest.approx(net)
    assert [float(leg.filled_avg_price) for leg in order.legs] == [sell, buy]
    assert client.get_order_by_id(greedy.id).status.value == "new"
    rows = client.get("/account/activities", {"activity_types": "FILL", "direction": "asc"})
    assert isinstance(rows, list)
    assert [(r["symbol"], r["side"], r["qty"]) for r in rows] == [
        (SHORT, "sell", "2"),
        (LONG, "buy", "2"),
    ]
    # one FEE a leg, naming the combo the client sent (its fees are read by the parent's id)
    charged = client.get("/account/activities", {"activity_types": "FEE", "direction": "asc"})
    assert isinstance(charged, list) and len(charged) == 2
    assert all(f"(a leg of order {fair.id})" in str(r["description"]) for r in charged)
    assert sum(-float(r["net_amount"]) for r in charged) == pytest.approx(fees, abs=1e-6)

    # a leg is canceled only with its combo, which takes every leg along
    with pytest.raises(APIError) as leg:
        client.cancel_order_by_id(greedy.legs[0].id)
    assert leg.value.status_code == 422 and f"cancel the order {greedy.id}" in str(leg.value)
    client.cancel_order_by_id(greedy.id)
    canceled = client.get_order_by_id(greedy.id)
    assert [canceled.status.value, *(x.status.value for x in canceled.legs)] == ["canceled"] * 3

    # a market combo closing it: all legs at this step's quotes
    legs = [
        OptionLegRequest(symbol=SHORT, ratio_qty=1, position_intent=PositionIntent.BUY_TO_CLOSE),
        OptionLegRequest(symbol=LONG, ratio_qty=1, position_intent=PositionIntent.SELL_TO_CLOSE),
    ]
    close = client.submit_order(
        MarketOrderRequest(qty=2, order_class=OrderClass.MLEG, time_in_force="day", legs=legs)
    )
    stepped.step()  # Tuesday 2012-06-05
    quotes = opening_quotes(daily, dt.date(2012, 6, 5), SHORT, LONG)
    back = round(round(quotes[SHORT].ask * 1.01, 6) - round(quotes[LONG].bid * 0.99, 6), 6)
    closing = raw.event(str(close.id), "fill")
    assert float(closing["price"]) == pytest.approx(back, abs=1e-9)
    assert closing["position_qtys"] == {SHORT: "0", LONG: "0"}
    assert client.get_all_positions() == []
    cash -= 2 * 100 * back + fees
    assert float(client.get_account().cash) == pytest.approx(cash, abs=1e-6)


def test_a_combo_closing_what_is_not_held_is_403(stepped: Harness) -> None:
    stepped.next_bar()
    legs = [{**_leg(), "position_intent": "sell_to_close"},
            {**_leg(LONG, side="buy"), "position_intent": "buy_to_close"}]  # fmt: skip
    url = f"{stepped.server.base_url}/v2/orders"
    answer = requests.post(url, json={**BASE, "legs": legs}, headers=AUTH, timeout=10)
    assert answer.status_code == 403, answer.text
    assert answer.json() == {
        "code": 40310000,
        "message": "insufficient qty available for order (requested: 1, available: 0)",
        "available": "0",
        "symbol": SHORT,
    }


def test_a_combo_beyond_buying_power_is_403_with_its_cost_basis(stepped: Harness) -> None:
    """150 spreads 5 wide: 75000 of requirement less the 15000 credit of its limit is more
    than the 50000 of cash; 60 (30000 - 6000 = 24000) fit and reserve their requirement."""
    stepped.next_bar()
    body = {**BASE, "qty": 150, "limit_price": -1.0}
    url = f"{stepped.server.base_url}/v2/orders"
    answer = requests.post(url, json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 403, answer.text
    assert answer.json() == {
        "code": 40310000,
        "message": "insufficient buying power",
        "buying_power": "50000",
        "cost_basis": "60000",
    }
    fits = requests.post(url, json={**body, "qty": 60}, headers=AUTH, timeout=10)
    assert fits.status_code == 200 and fits.json()["status"] == "accepted"
    account = stepped.client.get_account()  # the open combo reserves its 24000
    assert float(account.options_buying_power) == pytest.approx(26_000)


@pytest.fixture
def server(daily: LoadedData) -> Iterator[VenueServer]:
    with VenueServer(VenueConfig(data=daily, start=START, keys=KEYS, cash=50_000)) as venue:
        yield venue


@pytest.fixture
def trading(server: VenueServer) -> TradingClient:
    client = TradingClient(*KEYS, paper=True, url_override=server.base_url)
    client._retry_wait = 0
    return client


def _leg(symbol: str = SHORT, ratio: float = 1, side: str = "sell") -> dict[str, Any]:
    return {"symbol": symbol, "ratio_qty": ratio, "side": side}


BASE: dict[str, Any] = {
    "qty": 1,
    "type": "limit",
    "limit_price": -1.0,
    "time_in_force": "day",
    "order_class": "mleg",
    "legs": [_leg(), _leg(LONG, side="buy")],
}


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"qty": 1.5}, "qty must be a whole number of contracts, got 1.5"),
        ({"time_in_force": "ioc"}, "order_time_in_force provided not supported for options"),
        ({"time_in_force": "cls"}, "order_time_in_force provided not supported for options"),
        ({"extended_hours": True}, "extended hours are not supported for options trading"),
        ({"notional": 100, "qty": None}, "qty is required for the mleg order class."),
        ({"type": "stop", "stop_price": 1.0}, "only supports market and limit orders."),
        ({"limit_price": None}, "limit_price is required"),
        ({"legs": None}, "legs is required for the mleg order class."),
        ({"legs": [_leg()]}, "At least 2 legs are required for the mleg order class."),
        ({"legs": [_leg(f"IBM120615P00{k}000") for k in (180, 185, 190, 195, 200)]},
         "At most 4 legs are allowed"),
        ({"legs": [_leg(), _leg(side="buy")]}, "All legs must have unique symbols."),
        ({"legs": [_leg(ratio=4), _leg(LONG, 2, "buy")]}, "lowest terms, got 4:2"),
        ({"legs": [_leg(ratio=1.5), _leg(LONG, side="buy")]}, "ratio_qty of leg 1 must be a"),
        ({"legs": [_leg(ratio=0), _leg(LONG, side="buy")]}, "ratio_qty of leg 1 must be a"),
        ({"legs": [_leg("IBM"), _leg(LONG, side="buy")]}, "legs are OCC option symbols"),
        ({"legs": [_leg("IBM120615P00999000"), _leg(LONG, side="buy")]},
         "invalid symbol: IBM120615P00999000 is not listed now"),
        ({"legs": [_leg(side="short"), _leg(LONG, side="buy")]}, "invalid side 'short' on leg 1"),
        ({"legs": [{"symbol": SHORT, "ratio_qty": 1}, _leg(LONG, side="buy")]},
         "leg 1 needs a side or a position_intent"),
        ({"legs": [{**_leg(), "position_intent": "buy_to_open"}, _leg(LONG, side="buy")]},
         "leg 1: side sell contradicts position_intent buy_to_open"),
        ({"legs": [_leg("IBM120615C00190000"), _leg("IBM120615C00200000")]},
         "every short call leg of an mleg order must be covered"),
    ],
)  # fmt: skip
def test_combos_alpaca_refuses_are_422_naming_the_fix(
    server: VenueServer, fields: dict[str, Any], fragment: str
) -> None:
    body = {k: v for k, v in {**BASE, **fields}.items() if v is not None}
    answer = requests.post(f"{server.base_url}/v2/orders", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == 42210000 and fragment in answer.json()["message"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"qty": 1.5}, "whole number of contracts"),
        ({"time_in_force": TimeInForce.GTC, "extended_hours": True}, "extended hours"),
        ({"time_in_force": TimeInForce.FOK}, "time_in_force provided not supported"),
    ],
)
def test_alpaca_py_combos_the_venue_refuses_raise_its_422(
    trading: TradingClient, change: dict[str, Any], fragment: str
) -> None:
    """What alpaca-py itself lets through (whole qty, TIF, extended hours are not its checks)."""
    request = spread(1, -1.0)
    for key, value in change.items():
        setattr(request, key, value)
    with pytest.raises(APIError) as refused:
        trading.submit_order(request)
    assert refused.value.status_code == 422 and fragment in str(refused.value)
