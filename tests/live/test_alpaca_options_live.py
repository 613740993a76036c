"""Options against the real Alpaca paper API, through the same client code as the local venue:
run with `python -m pytest -m live` and keys in the environment (APCA_API_KEY_ID /
APCA_API_SECRET_KEY). Skipped by default and without keys."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from parity.instruments.resolve import parse_occ
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.alpaca.option_calls import option_activities, option_contracts
from parity.venues.alpaca.option_chain import VenueChain
from parity.venues.types import OrderRequest

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("APCA_API_KEY_ID") or os.environ.get("ALPACA_API_KEY")),
        reason="needs Alpaca paper keys in the environment",
    ),
]


@pytest.fixture
def store() -> AlpacaStore:
    return AlpacaStore(AlpacaCredentials.from_env(), AlpacaEndpoints.from_env())


def test_chain_query_on_alpacas_spy_chain(store: AlpacaStore) -> None:
    chain = VenueChain(store, "SPY")
    now = dt.datetime.now()
    spot = 1.0  # the venue prices its own chain; the query's strikes below are absolute
    listed = chain.contracts(now, spot, right="put", min_dte=7, max_dte=40)
    assert listed and all(c.underlying == "SPY" and c.right == "put" for c in listed)
    assert all(7 <= (c.expiry - now.date()).days <= 40 for c in listed)
    quotes = [q for q in chain.quotes(listed[:50], now, spot) if q is not None]
    assert quotes and all(0 <= q.bid <= q.ask for q in quotes)


def test_contracts_are_read_over_every_page(store: AlpacaStore) -> None:
    today = dt.date.today()
    rows = option_contracts(store, "SPY", expiry_from=today, expiry_to=today + dt.timedelta(60))
    assert len(rows) > 1000  # SPY lists thousands: more than one page of 1000
    assert all(parse_occ(r.symbol) is not None for r in rows)


def test_option_activities_are_arrays_of_option_rows(store: AlpacaStore) -> None:
    rows = option_activities(store)
    assert all(r["activity_type"] in {"OPEXC", "OPASN", "OPEXP", "OPTRD"} for r in rows)


def test_a_single_leg_day_order_is_taken_and_cancelled(store: AlpacaStore) -> None:
    chain = VenueChain(store, "SPY")
    listed = chain.contracts(dt.datetime.now(), 1.0, right="put", min_dte=20, max_dte=60)
    far = min(listed, key=lambda c: c.strike)  # the deepest out of the money: never fills
    cid = f"parity-live-{int(time.time())}"
    placed = store.submit_order(
        OrderRequest(
            symbol=far.symbol,
            side="buy",
            qty=1.0,
            type="limit",
            limit_price=0.01,
            client_order_id=cid,
            position_intent="buy_to_open",
        )
    )
    assert placed.symbol == far.symbol and placed.client_order_id == cid
    store.cancel_order(placed.id)
    deadline = time.monotonic() + 20
    while store.order(placed.id).status not in ("canceled", "filled", "expired"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert store.order(placed.id).status == "canceled"
