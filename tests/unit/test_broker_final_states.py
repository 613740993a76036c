"""Every final venue state reaches Backtrader as a final state, for every order type (issue 11
item 11: Backtrader's own `expire()` refuses market orders, so an expired market order stayed
`accepted` and froze a strategy waiting on it); Alpaca's `stopped` ("a trade is guaranteed for
the order, but has not yet occurred") is not final: the fill that follows is applied.

The broker is driven with the venue's order snapshots as its trade updates carry them, inside a
Backtrader run so orders have a data and a clock; no venue is needed (the store is never
called: its fee and rejection-message look-ups are answered here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from parity.brokers.alpaca import AlpacaBroker
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.types import OrderSnapshot

KINDS = {
    "market": bt.Order.Market,
    "limit": bt.Order.Limit,
    "stop": bt.Order.Stop,
    "stop_limit": bt.Order.StopLimit,
    "trailing_stop": bt.Order.StopTrail,
}
FINAL = {
    "expired": "Expired",
    "done_for_day": "Expired",
    "canceled": "Canceled",
    "rejected": "Rejected",
    "suspended": "Canceled",
}
WHEN = dt.datetime(2024, 1, 2, 10, 0)


def _in_a_run(act: Callable[[bt.Strategy, AlpacaBroker], None]) -> None:
    """Call `act(strategy, broker)` on the first bar of a one-bar Backtrader run."""
    index = pd.to_datetime(["2024-01-02 09:59"])
    bars = pd.DataFrame(
        {"open": [100.0], "high": [101.0], "low": [99.0], "close": [100.5], "volume": [1e4]},
        index=index,
    )
    store = AlpacaStore(AlpacaCredentials("k", "s"), AlpacaEndpoints("http://127.0.0.1:9"))
    store.order_fees = lambda _venue_id: []  # type: ignore[method-assign]
    store.rejection_reason = lambda _venue_id: "insufficient buying power"  # type: ignore[method-assign]
    broker = AlpacaBroker(store)
    broker.cash = 100_000.0

    class Act(bt.Strategy):
        def next(self) -> None:
            act(self, broker)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars))
    cerebro.addstrategy(Act)
    cerebro.run(preload=False, runonce=False)


def _sent(strategy: bt.Strategy, broker: AlpacaBroker, kind: str, cid: str) -> bt.Order:
    """An order of `kind` as the broker holds it once the venue has taken it."""
    extra: dict[str, Any] = {"trailamount": 1.0} if kind == "trailing_stop" else {}
    order = bt.BuyOrder(
        owner=strategy, data=strategy.data, size=10, price=99.0, pricelimit=99.5,
        exectype=KINDS[kind], **extra,
    )  # fmt: skip
    order.addinfo(client_order_id=cid)
    order.addcomminfo(broker.getcommissioninfo(strategy.data))
    order.submit(broker)
    broker._register(cid, order)
    broker._cid_of_venue_id[f"v-{cid}"] = cid
    return order


def _snapshot(cid: str, kind: str, status: str, filled: float = 0.0) -> OrderSnapshot:
    return OrderSnapshot(
        id=f"v-{cid}", client_order_id=cid, symbol="IBM", side="buy", type=kind, status=status,
        qty=10, filled_qty=filled, filled_avg_price=100.0 if filled else None,
    )  # fmt: skip


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_final_venue_state_ends_every_order_type(kind: str) -> None:
    ended: dict[str, tuple[str, bool, str | None]] = {}

    def act(strategy: bt.Strategy, broker: AlpacaBroker) -> None:
        for state in FINAL:
            cid = f"run-{state}"
            order = _sent(strategy, broker, kind, cid)
            broker._apply_one(_snapshot(cid, kind, "accepted"), "accepted", None, None, WHEN)
            broker._apply_one(_snapshot(cid, kind, state), state, None, None, WHEN)
            ended[state] = (order.getstatusname(), order.alive(), order.info.get("reason"))

    _in_a_run(act)
    assert {s: name for s, (name, _, _) in ended.items()} == FINAL
    assert not any(alive for _, alive, _ in ended.values())
    assert {s: reason for s, (_, _, reason) in ended.items()} == {
        **{s: f"venue: {s}" for s in FINAL},
        "rejected": "venue: rejected: insufficient buying power",
    }


def test_stopped_is_not_final_and_the_guaranteed_fill_is_applied() -> None:
    seen: dict[str, Any] = {}

    def act(strategy: bt.Strategy, broker: AlpacaBroker) -> None:
        cid = "run-stopped"
        order = _sent(strategy, broker, "market", cid)
        broker._apply_one(_snapshot(cid, "market", "accepted"), "accepted", None, None, WHEN)
        broker._apply_one(_snapshot(cid, "market", "stopped"), "stopped", None, None, WHEN)
        seen["after stopped"] = (order.getstatusname(), order.alive())
        filled = _snapshot(cid, "market", "filled", filled=10)
        broker._apply_one(filled, "fill", 100.0, 10, WHEN)
        seen["after fill"] = (order.getstatusname(), order.alive())
        seen["position"] = broker.getposition(strategy.data).size
        seen["cash"] = broker.cash

    _in_a_run(act)
    assert seen["after stopped"] == ("Accepted", True)
    assert seen["after fill"] == ("Completed", False)
    assert seen["position"] == 10
    assert seen["cash"] == pytest.approx(100_000.0 - 10 * 100.0)
