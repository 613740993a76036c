"""The commission minimum is charged once per order, not per partial fill: in the cost model,
the local venue's engine and the simulated broker alike (the client broker: see
tests/integration/test_paper_lifecycle.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from parity.brokers.sim import build_sim_broker
from parity.costs import CostModel
from parity.engine.fills import Bar
from parity.venue.clock import MarketCalendar, ny
from parity.venue.engine import Engine

PER_SHARE_MIN_1 = CostModel(commission_per_share=0.005, commission_min=1.0)


def pieces_commission(costs: CostModel, sizes: list[float], price: float) -> list[float]:
    paid, qty, notional = [], 0.0, 0.0
    for size in sizes:
        paid.append(costs.commission(size, price, prior_qty=qty, prior_notional=notional))
        qty, notional = qty + size, notional + size * price
    return paid


def test_a_100_share_order_in_21_pieces_pays_the_minimum_once() -> None:
    sizes = [5.0] * 19 + [3.0, 2.0]
    paid = pieces_commission(PER_SHARE_MIN_1, sizes, 100.0)
    assert paid == pytest.approx([1.0] + [0.0] * 20)
    assert sum(paid) == pytest.approx(PER_SHARE_MIN_1.commission(100, 100.0))


def test_above_the_minimum_partial_fills_pay_the_per_share_fee() -> None:
    # 1000 shares in pieces of 150: 5.00 in all (each piece alone would pay the 1.00 minimum)
    paid = pieces_commission(PER_SHARE_MIN_1, [150.0] * 6 + [100.0], 50.0)
    assert paid == pytest.approx([1.0, 0.5, 0.75, 0.75, 0.75, 0.75, 0.5])
    assert sum(paid) == pytest.approx(5.0)
    pct = CostModel(commission_pct=0.001, commission_min=1.0)  # 0.1 % of 20 x 40 = 0.80
    assert sum(pieces_commission(pct, [10.0, 10.0], 40.0)) == pytest.approx(1.0)
    assert sum(pieces_commission(pct, [20.0, 20.0], 40.0)) == pytest.approx(1.6)


def test_the_venue_charges_the_minimum_once_per_order() -> None:
    start = ny(datetime(2024, 1, 8, 9, 30))
    engine = Engine(
        ["XYZ"],
        cash=10_000.0,
        costs=PER_SHARE_MIN_1,
        calendar=MarketCalendar([date(2024, 1, 8)]),
        now=start,
        volume_share=0.05,
        reference_prices={"XYZ": 50.0},
    )
    placed = engine.submit(
        {"symbol": "XYZ", "qty": 100, "side": "buy", "type": "market", "time_in_force": "gtc"}
    )
    for minute in range(1, 30):
        when = start + timedelta(minutes=minute)
        engine.advance(when + timedelta(minutes=1))
        engine.on_step(when, {"XYZ": Bar(50.0, 50.0, 50.0, 50.0, 100.0)})  # 5 shares a bar
    assert placed.status == "filled" and len(engine.fills) == 20
    assert [f["commission"] for f in engine.fills] == pytest.approx([1.0] + [0.0] * 19)
    assert engine.cash == pytest.approx(10_000.0 - 100 * 50.0 - 1.0)


class BuyOnce(bt.Strategy):
    params = (("size", 100),)

    def __init__(self) -> None:
        self.fills: list[tuple[float, float, float]] = []

    def next(self) -> None:
        if len(self) == 1:
            self.buy(size=self.p.size)

    def notify_order(self, order: bt.Order) -> None:
        for bit in order.executed.iterpending():
            self.fills.append((bit.size, bit.price, bit.closedcomm + bit.openedcomm))


def sim_run(size: int, volume: float, *, preload: bool) -> tuple[list[Any], float, float]:
    # minute bars of one session: a market order is a day order, whose unfilled rest would
    # expire at the session's close (as on the venue), so its partial fills stay in one session
    index = pd.date_range("2024-01-02 09:30", periods=40, freq="min")
    frame = pd.DataFrame(
        {"open": 50.0, "high": 50.0, "low": 50.0, "close": 50.0, "volume": volume}, index=index
    )
    cerebro = bt.Cerebro(stdstats=False, preload=preload, runonce=preload)
    cerebro.adddata(
        bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes, compression=1)
    )
    broker = build_sim_broker(cash=100_000.0, costs=PER_SHARE_MIN_1)
    broker.p.filler = bt.broker.fillers.FixedBarPerc(perc=100.0)  # the bar's volume, at most
    cerebro.broker = broker
    cerebro.addstrategy(BuyOnce, size=size)
    strategy = cerebro.run()[0]
    return strategy.fills, broker.getcash(), strategy.position.size


@pytest.mark.parametrize("preload", [True, False])
def test_the_simulated_broker_charges_the_minimum_once_per_order(preload: bool) -> None:
    fills, cash, held = sim_run(100, 5.0, preload=preload)  # 20 fills of 5 shares
    assert [f[0] for f in fills] == [5.0] * 20 and held == 100
    assert [f[2] for f in fills] == pytest.approx([1.0] + [0.0] * 19)
    assert cash == pytest.approx(100_000.0 - 100 * 50.0 - 1.0)
    fills, cash, held = sim_run(1000, 150.0, preload=preload)  # 6 x 150 + 100
    assert [f[2] for f in fills] == pytest.approx([1.0, 0.5, 0.75, 0.75, 0.75, 0.75, 0.5])
    assert cash == pytest.approx(100_000.0 - 1000 * 50.0 - 5.0)
