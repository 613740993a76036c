"""An option order of the desk as the venue request alpaca-py sends (`alpaca-options-protocol.md`
4.1, 4.2): single legs with their `position_intent`, combos as `mleg` orders with leg ratios in
lowest terms and the net limit signed + debit / - credit; `gtc` refused before sending."""

from __future__ import annotations

import datetime as dt

from parity.options.contracts import contract_from_occ
from parity.options.orders import Leg, OptionOrder
from parity.venues.alpaca.option_requests import order_request
from parity.venues.alpaca.wire import _order_request
from parity.venues.types import OrderRequest

NOW = dt.datetime(2024, 11, 1, 16)
CALL_250 = contract_from_occ("AAPL241213C00250000")
CALL_260 = contract_from_occ("AAPL241213C00260000")


def order(legs: list[tuple[object, int]], qty: int = 1, **kwargs: object) -> OptionOrder:
    made = OptionOrder(1, tuple(Leg(c, r) for c, r in legs), qty, NOW, **kwargs)  # type: ignore[arg-type]
    made.client_order_id = "RUN-000007"
    return made


def wire(request: OrderRequest | str) -> dict[str, object]:
    assert isinstance(request, OrderRequest)
    fields = _order_request(request).to_request_fields()
    return {k: getattr(v, "value", v) for k, v in fields.items() if k != "legs"} | {
        "legs": [
            {k: getattr(v, "value", v) for k, v in leg.items()} for leg in fields.get("legs", [])
        ]
    }


def test_a_single_leg_opens_or_closes_by_the_book() -> None:
    opening = wire(order_request(order([(CALL_250, 1)], 2, debit=1.25), {}))
    assert opening == {
        "symbol": "AAPL241213C00250000", "qty": 2.0, "side": "buy", "type": "limit",
        "time_in_force": "day", "client_order_id": "RUN-000007",
        "position_intent": "buy_to_open", "limit_price": 1.25, "legs": [],
    }  # fmt: skip
    closing = wire(order_request(order([(CALL_250, -1)], 2), {"AAPL241213C00250000": 2}))
    assert closing["side"] == "sell" and closing["type"] == "market"
    assert closing["position_intent"] == "sell_to_close"
    short = wire(order_request(order([(CALL_250, -1)]), {}))
    assert short["position_intent"] == "sell_to_open"
    cover = wire(order_request(order([(CALL_250, 1)]), {"AAPL241213C00250000": -1}))
    assert cover["position_intent"] == "buy_to_close"


def test_a_combo_is_an_mleg_order_in_lowest_terms_with_a_signed_net_limit() -> None:
    spread = order([(CALL_250, 2), (CALL_260, -2)], 3, credit=0.9)
    sent = wire(order_request(spread, {}))
    # 3 units of 2:2 are 6 units of 1:1; a credit of 0.90 a 2:2 unit is -0.45 a 1:1 unit
    assert sent == {
        "qty": 6.0, "type": "limit", "time_in_force": "day", "order_class": "mleg",
        "client_order_id": "RUN-000007", "limit_price": -0.45,
        "legs": [
            {"symbol": "AAPL241213C00250000", "ratio_qty": 1.0, "side": "buy",
             "position_intent": "buy_to_open"},
            {"symbol": "AAPL241213C00260000", "ratio_qty": 1.0, "side": "sell",
             "position_intent": "sell_to_open"},
        ],
    }  # fmt: skip
    debit = wire(order_request(order([(CALL_250, 1), (CALL_260, -1)], debit=2.0), {}))
    assert debit["limit_price"] == 2.0 and "symbol" not in debit and "side" not in debit


def test_gtc_option_orders_are_refused_before_sending_in_one_line() -> None:
    refused = order_request(order([(CALL_250, 1)], tif="gtc"), {})
    assert refused == ("option orders are day orders at Alpaca (got tif='gtc'): pass tif='day'")
