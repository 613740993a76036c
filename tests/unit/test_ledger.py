"""Round-trip ledger: every case checked against hand-computed numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from parity.analyzers.ledger import TRADE_COLUMNS, open_positions, round_trips
from parity.errors import DataError

T0 = pd.Timestamp("2024-01-02 10:00")


def make_fills(*rows: tuple) -> pd.DataFrame:
    """rows: (bar, symbol, side, qty, price, commission); one hour per row."""
    records = [
        {
            "datetime": T0 + pd.Timedelta(hours=i),
            "bar": bar,
            "symbol": symbol,
            "side": side,
            "qty": float(qty),
            "price": float(price),
            "commission": float(commission),
            "order_id": f"o{i}",
            "client_order_id": f"c{i}",
        }
        for i, (bar, symbol, side, qty, price, commission) in enumerate(rows)
    ]
    return pd.DataFrame.from_records(records)


def only_trade(fills: pd.DataFrame) -> pd.Series:
    trades = round_trips(fills)
    assert len(trades) == 1
    return trades.iloc[0]


def test_long_round_trip() -> None:
    trades = round_trips(make_fills((0, "X", "buy", 10, 100, 1.0), (5, "X", "sell", 10, 110, 1.1)))
    assert list(trades.columns) == list(TRADE_COLUMNS)
    t = trades.iloc[0]
    assert t["side"] == "long"
    assert t["entry_time"] == T0
    assert t["exit_time"] == T0 + pd.Timedelta(hours=1)
    assert (t["entry_price"], t["exit_price"], t["qty"]) == (100.0, 110.0, 10.0)
    assert t["pnl_gross"] == pytest.approx(100.0)
    assert t["commission"] == pytest.approx(2.1)
    assert t["pnl_net"] == pytest.approx(97.9)
    assert t["bars_held"] == 5


def test_short_round_trip() -> None:
    t = only_trade(make_fills((2, "X", "sell", 5, 50, 0.5), (7, "X", "buy", 5, 40, 0.5)))
    assert t["side"] == "short"
    assert (t["entry_price"], t["exit_price"], t["qty"]) == (50.0, 40.0, 5.0)
    assert t["pnl_gross"] == pytest.approx(50.0)  # sold 250, bought back 200
    assert t["pnl_net"] == pytest.approx(49.0)
    assert t["bars_held"] == 5


def test_scale_in_scale_out() -> None:
    t = only_trade(
        make_fills(
            (0, "X", "buy", 10, 100, 1.0),
            (1, "X", "buy", 10, 110, 1.0),
            (2, "X", "sell", 5, 120, 0.5),
            (4, "X", "sell", 15, 90, 1.5),
        )
    )
    assert t["qty"] == 20.0
    assert t["entry_price"] == pytest.approx(105.0)  # 2100 / 20
    assert t["exit_price"] == pytest.approx(97.5)  # (600 + 1350) / 20
    assert t["pnl_gross"] == pytest.approx(-150.0)
    assert t["commission"] == pytest.approx(4.0)
    assert t["pnl_net"] == pytest.approx(-154.0)
    assert t["entry_time"] == T0
    assert t["exit_time"] == T0 + pd.Timedelta(hours=3)
    assert t["bars_held"] == 4


def test_partial_exits_close_one_trade() -> None:
    fills = make_fills(
        (0, "X", "buy", 100, 10, 0.0),
        (3, "X", "sell", 40, 12, 0.0),
        (6, "X", "sell", 60, 11, 0.0),
    )
    t = only_trade(fills)
    assert t["exit_price"] == pytest.approx(11.4)  # (480 + 660) / 100
    assert t["pnl_gross"] == pytest.approx(140.0)
    assert t["qty"] == 100.0
    assert t["bars_held"] == 6
    assert open_positions(fills) == {}


def test_sign_flip_splits_commission_pro_rata() -> None:
    fills = make_fills(
        (0, "X", "buy", 10, 100, 1.0),
        (3, "X", "sell", 30, 110, 3.0),  # closes 10 (fee 1.0), opens short 20 (fee 2.0)
        (6, "X", "buy", 20, 105, 2.0),
    )
    trades = round_trips(fills)
    assert len(trades) == 2
    first, second = trades.iloc[0], trades.iloc[1]
    assert (first["side"], first["qty"], first["exit_price"]) == ("long", 10.0, 110.0)
    assert first["pnl_gross"] == pytest.approx(100.0)
    assert first["commission"] == pytest.approx(2.0)
    assert first["pnl_net"] == pytest.approx(98.0)
    assert first["bars_held"] == 3
    assert (second["side"], second["qty"], second["entry_price"]) == ("short", 20.0, 110.0)
    assert second["entry_time"] == first["exit_time"]
    assert second["exit_price"] == 105.0
    assert second["pnl_gross"] == pytest.approx(100.0)
    assert second["commission"] == pytest.approx(4.0)
    assert second["pnl_net"] == pytest.approx(96.0)
    assert second["bars_held"] == 3


def test_open_position_is_excluded() -> None:
    fills = make_fills(
        (0, "X", "buy", 10, 100, 0.0),
        (1, "X", "sell", 10, 101, 0.0),
        (2, "X", "buy", 5, 102, 0.0),
        (2, "Y", "sell", 3, 20, 0.0),
    )
    t = only_trade(fills)
    assert t["pnl_gross"] == pytest.approx(10.0)
    assert open_positions(fills) == {"X": 5.0, "Y": -3.0}


def test_multiple_symbols_interleaved() -> None:
    fills = make_fills(
        (0, "AAA", "buy", 10, 10, 0.1),
        (0, "BBB", "sell", 2, 50, 0.2),
        (4, "AAA", "sell", 10, 12, 0.1),
        (9, "BBB", "buy", 2, 45, 0.2),
    )
    trades = round_trips(fills)
    assert list(trades["symbol"]) == ["AAA", "BBB"]
    assert list(trades["side"]) == ["long", "short"]
    assert list(trades["pnl_gross"]) == pytest.approx([20.0, 10.0])
    assert list(trades["pnl_net"]) == pytest.approx([19.8, 9.6])
    assert list(trades["bars_held"]) == [4, 9]


def test_fractional_quantities_return_to_flat() -> None:
    fills = make_fills(
        (0, "BTC", "buy", 0.1, 100, 0.0),
        (1, "BTC", "buy", 0.2, 100, 0.0),
        (2, "BTC", "sell", 0.3, 110, 0.0),
    )
    t = only_trade(fills)
    assert t["pnl_gross"] == pytest.approx(3.0)
    assert open_positions(fills) == {}


def test_empty_fills_give_empty_ledger() -> None:
    fills = make_fills((0, "X", "buy", 1, 1, 0)).iloc[0:0]
    trades = round_trips(fills)
    assert trades.empty
    assert list(trades.columns) == list(TRADE_COLUMNS)
    assert open_positions(fills) == {}


@pytest.mark.parametrize(("column", "value"), [("side", "long"), ("qty", -1.0), ("qty", 0.0)])
def test_malformed_fills_raise(column: str, value: object) -> None:
    fills = make_fills((0, "X", "buy", 1, 1, 0))
    fills[column] = value
    with pytest.raises(DataError):
        round_trips(fills)


def test_missing_column_raises() -> None:
    with pytest.raises(DataError, match="missing"):
        round_trips(make_fills((0, "X", "buy", 1, 1, 0)).drop(columns=["bar"]))
