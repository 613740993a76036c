"""Short option opens on the local venue through alpaca-py's own clients, over loopback:
cash-secured puts hold strike x 100 of buying power, covered calls need and lock 100 shares,
every refusal is Alpaca's 403 40310000 with its message, and at expiry a short in the money is
assigned (OPASN with its OPTRD: shares delivered or taken at the strike), one out of the money
expires (OPEXP), each applied once to cash and positions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, PositionIntent
from alpaca.trading.requests import MarketOrderRequest
from test_venue_lifecycle import AUTH, KEYS, Harness
from test_venue_options import START

from parity.feeds.loader import LoadedData, load_bars
from parity.venue import VenueConfig

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

CALL180, PUT200, PUT185 = "IBM120608C00180000", "IBM120608P00200000", "IBM120608P00185000"


@pytest.fixture(scope="module")
def daily() -> LoadedData:
    return load_bars("sample", ["IBM"], start=dt.date(2012, 1, 3), end=dt.date(2012, 7, 31))


@pytest.fixture
def stepped(daily: LoadedData) -> Iterator[Harness]:
    config = VenueConfig(data=daily, start=START, keys=KEYS, cash=60_000, ack_timeout=30.0)
    harness = Harness(config, ["IBM"])
    try:
        yield harness
    finally:
        harness.close()


def sell_to_open(symbol: str, qty: int = 1) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol, qty=qty, side=OrderSide.SELL, time_in_force="day",
        position_intent=PositionIntent.SELL_TO_OPEN,
    )  # fmt: skip


def refusal(stepped: Harness, body: dict) -> dict:
    base = {"qty": 1, "type": "market", "time_in_force": "day", **body}
    url = f"{stepped.server.base_url}/v2/orders"
    answer = requests.post(url, json=base, headers=AUTH, timeout=10)
    assert answer.status_code == 403, answer.text
    return answer.json()


def test_short_opens_hold_buying_power_and_are_assigned_or_expire_once(
    stepped: Harness,
) -> None:
    client = stepped.client
    stepped.next_bar()  # Friday 2012-06-01
    # a call with no shares to cover it, and a put beyond the buying power
    assert refusal(stepped, {"symbol": CALL180, "side": "sell"}) == {
        "code": 40310000,
        "message": "insufficient underlying qty available for covered call "
        "(required: 100, available: 0)",
        "available_qty": "0",
        "required_qty": "100",
        "symbol": "IBM",
        "underlying_asset_id": client.get_asset("IBM").id.__str__(),
    }
    body = refusal(stepped, {"symbol": PUT200, "side": "sell", "qty": 4})
    assert body["message"] == (
        "insufficient options buying power for cash-secured put (required: 80000, available: 60000)"
    )
    closing = refusal(stepped, {"symbol": PUT200, "side": "buy", "position_intent": "buy_to_close"})
    assert closing["message"] == "insufficient qty available for order (requested: 1, available: 0)"
    stock = client.submit_order(
        MarketOrderRequest(symbol="IBM", qty=100, side=OrderSide.BUY, time_in_force="day")
    )
    stepped.step()  # Monday 2012-06-04: 100 shares
    paid = 100 * float(stepped.event(stock.id, "fill").price)
    shorts = [client.submit_order(sell_to_open(s)) for s in (CALL180, PUT200, PUT185)]
    power = float(client.get_account().options_buying_power)
    assert power == pytest.approx(60_000 - paid - 20_000 - 18_500)  # the two puts' strikes
    # the covered call locks the shares: none is for sale, nor covers a second call
    with pytest.raises(APIError) as locked:
        client.submit_order(
            MarketOrderRequest(symbol="IBM", qty=1, side=OrderSide.SELL, time_in_force="day")
        )
    assert locked.value.status_code == 403
    assert "insufficient qty available for order (requested: 1, available: 0)" in str(locked.value)
    with pytest.raises(APIError) as second:
        client.submit_order(sell_to_open("IBM120608C00185000"))
    assert "covered call (required: 100, available: 0)" in str(second.value)
    stepped.step()  # Tuesday: the three shorts fill at the opening bids
    premium = sum(100 * float(stepped.event(o.id, "fill").price) for o in shorts)
    cash = 60_000 - paid + premium
    held = {p.symbol: float(p.qty) for p in client.get_all_positions()}
    assert held == {"IBM": 100.0, CALL180: -1.0, PUT200: -1.0, PUT185: -1.0}
    assert float(client.get_account().cash) == pytest.approx(cash)
    for _ in range(3):  # Wednesday to Friday 2012-06-08, the expiry (IBM closes at 195.14)
        stepped.step()
    stepped.step()  # Monday 2012-06-11
    # the 180 call is assigned (the 100 shares go at 180), the 200 put too (100 shares come
    # at 200), the 185 put expires; each once
    cash += 180 * 100 - 200 * 100
    for _ in range(2):
        assert float(client.get_account().cash) == pytest.approx(cash)
        positions = client.get_all_positions()
        assert [(p.symbol, float(p.qty), float(p.avg_entry_price)) for p in positions] == [
            ("IBM", 100.0, 200.0)
        ]
        rows = client.get("/account/activities", {"activity_types": "OPASN,OPEXC,OPEXP,OPTRD",
                                                   "direction": "asc"})  # fmt: skip
        assert isinstance(rows, list)
        got = [(r["activity_type"], r["symbol"], r["qty"], r["net_amount"]) for r in rows]
        assert got == [
            ("OPASN", CALL180, "1", "0"),
            ("OPTRD", "IBM", "-100", "18000"),
            ("OPASN", PUT200, "1", "0"),
            ("OPTRD", "IBM", "100", "-20000"),
            ("OPEXP", PUT185, "1", "0"),
        ]
        assert rows[0]["description"] == "Option Assignment" and rows[1]["price"] == "180"
        stepped.step()  # a later step applies nothing again
