"""Crypto and fractional trading in the backtest's parts (issue 15, item 5): the maker/taker
commission spec, the quantity rounding Alpaca uses (nine decimals, down), the sizing helpers'
fractional and notional units, and the orders Alpaca refuses, refused in the backtest too."""

from __future__ import annotations

from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

import parity
from parity.brokers.sim import ParityCommission
from parity.costs import CostModel, cost_model, parse_commission
from parity.engine.fills import FillModel, notional_quantity, round_quantity
from parity.errors import ConfigError
from parity.strategies.base import SizingParams
from parity.strategies.params import coerce_params
from parity.strategies.sma_cross import SmaCross


def test_a_maker_taker_schedule_charges_limit_orders_the_maker_rate() -> None:
    costs = cost_model("taker=0.25%,maker=0.15%", "0")
    assert costs.commission_pct == 0.0025
    assert costs.commission_maker_pct == 0.0015
    # 0.5 BTC at 40,000: 20,000 notional
    assert costs.commission(0.5, 40_000.0) == pytest.approx(50.0, abs=1e-9)
    assert costs.commission(0.5, 40_000.0, maker=True) == pytest.approx(30.0, abs=1e-9)
    assert FillModel(costs=costs).commission(0.5, 40_000.0, maker=True) == pytest.approx(30.0)
    # a plain percentage is both rates, and the manifest records what it always did
    plain = cost_model("0.1%", "0")
    assert plain.commission(1, 1000.0, maker=True) == plain.commission(1, 1000.0) == 1.0
    assert "commission_maker_pct" not in plain.describe()
    assert costs.describe()["commission_maker_pct"] == 0.0015
    assert CostModel(**costs.describe()) == costs  # a manifest's costs rebuild the model


def test_the_maker_rate_with_a_minimum_is_charged_once_per_order() -> None:
    costs = cost_model("taker=0.25%,maker=0.1%,min=1", "0")
    first = costs.commission(0.001, 40_000.0, maker=True)  # $40 at 0.1% = 0.04 -> minimum 1
    second = costs.commission(0.001, 40_000.0, prior_qty=0.001, prior_notional=40.0, maker=True)
    assert (first, second) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("maker=0.15", "commission rate '0.15' needs a unit"),
        ("taker=abc%", "commission term 'abc' is not understood"),
        ("maker=-1%", "must be a non-negative number"),
    ],
)
def test_a_bad_maker_taker_spec_is_a_one_line_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cost_model(text, "0")


def test_the_sim_brokers_commission_scheme_charges_limit_orders_as_makers() -> None:
    scheme = ParityCommission(costs=cost_model("taker=0.25%,maker=0.15%", "0"))

    class Order:
        executed = type("Done", (), {"size": 0.0, "price": 0.0})()

        def __init__(self, exectype: int) -> None:
            self.exectype = exectype

    limit = scheme.for_order(Order(bt.Order.Limit))  # type: ignore[arg-type]
    market = scheme.for_order(Order(bt.Order.Market))  # type: ignore[arg-type]
    assert limit.getcommission(2.0, 100.0) == pytest.approx(0.30)
    assert market.getcommission(2.0, 100.0) == pytest.approx(0.50)


def test_quantities_round_down_to_alpacas_nine_decimals() -> None:
    assert round_quantity(2.2739790499, 1e-9) == 2.273979049
    assert round_quantity(56.999, 1.0) == 56.0
    assert notional_quantity(4100.0, 75.0) == 54.666666666
    assert notional_quantity(5000.0, 125.0) == 40.0
    assert parse_commission("0.005/share")["commission_per_share"] == 0.005


def test_sizing_units_are_validated_at_the_boundary() -> None:
    assert SizingParams(sizing="fixed", size=0.5, units="fractional").size == 0.5
    with pytest.raises(ValueError, match="units=fractional"):
        SizingParams(sizing="fixed", size=0.5)
    with pytest.raises(ValueError, match="use sizing=percent or sizing=target"):
        SizingParams(sizing="fixed", size=5, units="notional")
    with pytest.raises(ConfigError, match="param units='dollars' is not one of"):
        coerce_params(SmaCross, {"units": "dollars"})


def _write_bars(path: Path, closes: list[float]) -> Path:
    index = pd.date_range("2024-01-01", periods=len(closes), freq="1h", name="datetime")
    frame = pd.DataFrame(
        {"open": closes, "high": closes, "low": closes, "close": closes, "volume": 1e6},
        index=index,
    )
    frame.to_csv(path)
    return path


ORDERS = """
import backtrader as bt
from parity.strategies.base import ParityStrategy


class Tries(ParityStrategy):
    params = (("kind", "stop"),)

    def next(self):
        if len(self) != 2:
            return
        price = self.data.close[0]
        if self.p.kind == "stop":
            self.buy(size=0.5, exectype=bt.Order.Stop, price=price * 1.1)
        elif self.p.kind == "fractional_limit":
            self.buy(size=0.5, exectype=bt.Order.Limit, price=price * 0.9)
        elif self.p.kind == "notional_limit":
            self.buy(size=1, exectype=bt.Order.Limit, price=price * 0.9, notional=100.0)
        elif self.p.kind == "negative_notional":
            self.buy(size=1, notional=-5.0)
        elif self.p.kind == "bracket":
            self.buy_bracket(size=0.5, price=price, stopprice=price * 0.9, limitprice=price * 1.1)
"""


@pytest.mark.parametrize(
    ("symbol", "kind", "reason"),
    [
        ("BTC/USD", "stop", "Stop is not supported for crypto: Alpaca trades crypto with Market"),
        ("BTC/USD", "bracket", "Alpaca's crypto orders are simple orders"),
        ("AAPL", "fractional_limit", "a fractional quantity (0.5) on a Limit order"),
        ("AAPL", "notional_limit", "notional= is for Market orders only (Alpaca), not Limit"),
        ("AAPL", "negative_notional", "notional=-5.0 must be a positive dollar amount"),
    ],
)
def test_orders_alpaca_refuses_are_refused_in_the_backtest(
    tmp_path: Path, symbol: str, kind: str, reason: str
) -> None:
    (tmp_path / "tries.py").write_text(ORDERS)
    data = _write_bars(tmp_path / "bars.csv", [100.0, 101.0, 102.0, 103.0, 104.0])
    bars = parity.load_bars(str(data), [symbol])
    result = parity.simulate(
        bars, f"{tmp_path / 'tries.py'}:Tries", {"kind": kind}, cost_model("0", "0")
    )
    assert result.fills.empty
    assert set(result.orders["status"]) == {"rejected"}
    assert all(reason in text for text in result.orders["reason"]), result.orders["reason"]


def test_the_alpaca_client_picks_the_crypto_clients_and_zone_for_pairs() -> None:
    from zoneinfo import ZoneInfo

    from parity.venues.alpaca.client import AlpacaStore
    from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints

    endpoints = AlpacaEndpoints(data_stream_url="ws://127.0.0.1:8765/v2/iex")
    assert endpoints.crypto_stream_url == "ws://127.0.0.1:8765/v1beta3/crypto/us"
    assert AlpacaEndpoints().crypto_stream_url is None  # Alpaca's own
    store = AlpacaStore(AlpacaCredentials("k", "s"), endpoints)
    assert (store.crypto, store.zone) == (False, ZoneInfo("America/New_York"))
    store.set_market(("BTC/USD", "ETH/USD"))
    assert (store.crypto, store.zone) == (True, ZoneInfo("UTC"))
    with pytest.raises(ConfigError, match="mix crypto pairs and shares; run them separately"):
        store.set_market(("BTC/USD", "AAPL"))


def test_fractional_crypto_sizing_is_the_same_with_preload_on_and_off(tmp_path: Path) -> None:
    closes = [42_000.0 + 150.0 * ((i * 7) % 11 - 5) for i in range(80)]
    bars = parity.load_bars(str(_write_bars(tmp_path / "coins.csv", closes)), ["BTC/USD"])
    costs = cost_model("taker=0.25%,maker=0.15%", "0")
    runs = [
        parity.simulate(bars, "sma_cross", {"fast": 3, "slow": 8}, costs, preload=preload)
        for preload in (True, False)
    ]
    fills = [run.fills[["datetime", "side", "qty", "price", "commission"]] for run in runs]
    assert len(fills[0]) >= 4 and (fills[0]["qty"] % 1 != 0).all()
    pd.testing.assert_frame_equal(fills[0], fills[1])
    assert runs[0].metrics == runs[1].metrics


def test_a_crypto_position_reported_without_its_slash_is_read_as_the_pair() -> None:
    from parity.venues.alpaca.client import _pair

    assert _pair("BTCUSD", "crypto") == "BTC/USD"
    assert _pair("ETHUSDT", "crypto") == "ETH/USDT"
    assert _pair("ETHBTC", "crypto") == "ETH/BTC"
    assert _pair("BTC/USD", "crypto") == "BTC/USD"
    assert _pair("AAPL", "us_equity") == "AAPL"
