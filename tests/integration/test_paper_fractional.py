"""Fractional and notional US-equity orders in a backtest and in a lock-step paper rehearsal
against the local venue (through alpaca-py): `--param units=fractional` sends fractional share
quantities on market day orders, `--param units=notional` sends dollars (`notional=`), which
the venue and the backtest size alike at the fill price (nine decimals, down). Both equal the
backtest to the cent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper

pytestmark = [pytest.mark.timeout(240)]

DAY = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 4)}
COMMON = {
    "strategy": "sma_cross",
    "symbols": ("IBM",),
    "data": "sample:minute",
    "cash": 100_000.0,
    "commission": "0",
    "slippage": "0",
    **DAY,
}


@pytest.mark.parametrize("units", ["fractional", "notional"])
def test_fractional_and_notional_rehearsals_equal_the_backtest(tmp_path: Path, units: str) -> None:
    params = {"fast": "5", "slow": "20", "units": units, "size": "0.333"}
    bt_dir = run_backtest(BacktestConfig(**COMMON, params=params, runs_dir=tmp_path / "bt")).run_dir
    paper_dir = run_paper(
        PaperConfig(**COMMON, params=params, venue="local", runs_dir=tmp_path / "paper")
    ).run_dir
    want = pd.read_csv(bt_dir / "fills.csv")
    got = pd.read_csv(paper_dir / "fills.csv")
    assert len(want) >= 4
    assert (want["qty"] % 1 != 0).all()  # fractions of a share: 0.333 of equity each entry
    assert list(got["qty"]) == list(want["qty"])
    assert list(got["datetime"]) == list(want["datetime"])
    assert (got["price"] - want["price"]).abs().max() < 1e-9
    buys = got[got["side"] == "buy"]
    spent = buys["qty"] * buys["price"]
    whole_cents = (spent - spent.round(2)).abs() <= buys["price"] * 1e-9 + 1e-9
    # notional: each buy spent whole dollars and cents, less under one 1e-9 share: sized at
    # its fill price from the dollars; fractional: sized at the decision bar's close
    assert whole_cents.all() == (units == "notional")
    orders = pd.read_csv(paper_dir / "orders.csv")
    assert set(orders["status"]) == {"completed"}
    expected = pd.read_csv(bt_dir / "trades.csv")
    pd.testing.assert_frame_equal(
        pd.read_csv(paper_dir / "trades.csv"), expected, check_exact=False, rtol=1e-12
    )
    paper_equity = pd.read_csv(paper_dir / "equity.csv", index_col="datetime")["value"]
    bt_equity = pd.read_csv(bt_dir / "equity.csv", index_col="datetime")["value"]
    assert list(paper_equity.index) == list(bt_equity.index)
    assert (paper_equity - bt_equity).abs().max() < 0.01
