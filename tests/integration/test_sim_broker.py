"""The simulated broker through `run_backtest`, on small hand-built bar files.

Every expected number below is worked out by hand from the bars defined in this module.

The main file, `X.csv`, has 25 daily bars (2024-01-01 + i days) with these closes:

    i      0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24
    close 20 19 18 17 16 15 16 18 20 22 21 19 17 15 14 13 14 16 18 20 19 17 15 14 13

open[i] = close[i-1] + 0.1 (open[0] = 20), high = max(open, close) + 0.5,
low = min(open, close) - 0.5.

sma_cross with fast=2 slow=4 (SMA2 - SMA4, "-" below / "+" above):

    i=6: SMA2 15.5, SMA4 (17+16+15+16)/4 = 16.0   -> -0.5
    i=7: SMA2 17.0, SMA4 (16+15+16+18)/4 = 16.25  -> +0.75  up-cross: BUY decided on bar 7
    i=10: SMA2 21.5, SMA4 (18+20+22+21)/4 = 20.25 -> +1.25
    i=11: SMA2 20.0, SMA4 (20+22+21+19)/4 = 20.5  -> -0.5   down-cross: SELL decided on bar 11
    i=16: SMA2 13.5, SMA4 (15+14+13+14)/4 = 14.0  -> -0.5
    i=17: SMA2 15.0, SMA4 (14+13+14+16)/4 = 14.25 -> +0.75  up-cross: BUY decided on bar 17
    i=20: SMA2 19.0, SMA4 (16+18+20+19)/4 = 18.25 -> +0.75
    i=21: SMA2 18.0, SMA4 (18+20+19+17)/4 = 18.5  -> -0.5   down-cross: SELL decided on bar 21

Fill bars at the next open are 8, 12, 18, 22:

    bar  open  high  low   close
      7  17.1  18.5  16.6  18     (decision bars: close is the fill price with fill_at=close)
     11  21.1  21.6  18.5  19
     17  14.1  16.5  13.6  16
     21  19.1  19.6  16.5  17
      8  18.1  20.5  17.6  20     (fill bars: open is the fill price by default)
     12  19.1  19.6  16.5  17
     18  16.1  18.5  15.6  18
     22  17.1  17.6  14.5  15
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.runners.backtest import BacktestResult, run_backtest

CLOSES = [20, 19, 18, 17, 16, 15, 16, 18, 20, 22, 21, 19, 17, 15, 14, 13, 14, 16, 18, 20, 19, 17]
CLOSES += [15, 14, 13]
START = dt.date(2024, 1, 1)
SMA = {"fast": 2, "slow": 4}
FILL_BARS = [8, 12, 18, 22]
FILL_DATES = ["2024-01-09", "2024-01-13", "2024-01-19", "2024-01-23"]
DECISION_BARS = [7, 11, 17, 21]
DECISION_DATES = ["2024-01-08", "2024-01-12", "2024-01-18", "2024-01-22"]
SIDES = ["buy", "sell", "buy", "sell"]

SCRIPTED = '''
import backtrader as bt


class Scripted(bt.Strategy):
    """Follows a plan "BAR:buy|sell:QTY,..." on the first data; no checks of its own."""

    params = (("plan", ""),)

    def __init__(self):
        self.steps = {}
        for item in filter(None, self.p.plan.split(",")):
            bar, side, qty = item.split(":")
            self.steps.setdefault(int(bar), []).append((side, int(qty)))

    def next(self):
        for side, qty in self.steps.get(len(self) - 1, []):
            getattr(self, side)(size=qty)
'''

TWO_ENTRIES = '''
from parity.strategies.base import ParityStrategy


class TwoEntries(ParityStrategy):
    """Calls enter_long on bars 1 and 3, whatever it holds."""

    def next(self):
        if len(self) - 1 in (1, 3):
            self.enter_long(self.data)
'''


def write_bars(path: Path, bars: list[tuple[float, float, float, float]]) -> Path:
    lines = ["datetime,open,high,low,close,volume"]
    for i, (o, h, low, c) in enumerate(bars):
        day = START + dt.timedelta(days=i)
        lines.append(f"{day},{o:.2f},{h:.2f},{low:.2f},{c:.2f},1000")
    path.write_text("\n".join(lines) + "\n")
    return path


def x_bars() -> list[tuple[float, float, float, float]]:
    bars = []
    for i, close in enumerate(CLOSES):
        open_ = CLOSES[i - 1] + 0.1 if i else close
        bars.append((open_, max(open_, close) + 0.5, min(open_, close) - 0.5, close))
    return bars


@pytest.fixture
def x_csv(tmp_path: Path) -> Path:
    return write_bars(tmp_path / "X.csv", x_bars())


@pytest.fixture
def scripted(tmp_path: Path) -> str:
    path = tmp_path / "scripted.py"
    path.write_text(SCRIPTED)
    return f"{path}:Scripted"


def backtest(tmp_path: Path, data: Path, **overrides: Any) -> BacktestResult:
    values: dict[str, Any] = {
        "strategy": "sma_cross",
        "params": SMA,
        "data": str(data),
        "cash": 10_000.0,
        "commission": "0",
        "slippage": "0",
        "runs_dir": tmp_path / "runs",
    }
    values.update(overrides)
    return run_backtest(BacktestConfig(**values))


def frame(result: BacktestResult, name: str) -> pd.DataFrame:
    return pd.read_csv(result.run_dir / f"{name}.csv", keep_default_na=False, na_values=[""])


def prices(result: BacktestResult) -> list[float]:
    return frame(result, "fills")["price"].tolist()


def final_equity(result: BacktestResult) -> tuple[float, float]:
    row = frame(result, "equity").iloc[-1]
    return float(row["value"]), float(row["cash"])


# ----------------------------------------------------------------------------------- fill timing


def test_market_orders_fill_at_next_bar_open_by_default(tmp_path: Path, x_csv: Path) -> None:
    result = backtest(tmp_path, x_csv)
    fills = frame(result, "fills")
    assert fills["side"].tolist() == SIDES
    assert fills["bar"].tolist() == FILL_BARS
    assert fills["datetime"].tolist() == FILL_DATES
    assert fills["price"].tolist() == pytest.approx([18.1, 19.1, 16.1, 17.1])
    # percent sizing 0.95 on the decision bar's close:
    # bar 7: floor(10000 * 0.95 / 18) = floor(527.78) = 527
    # after +527 * (19.1 - 18.1) = +527: floor(10527 * 0.95 / 16) = floor(625.04) = 625
    assert fills["qty"].tolist() == [527, 527, 625, 625]
    assert fills["commission"].tolist() == [0.0, 0.0, 0.0, 0.0]

    orders = frame(result, "orders")
    assert orders["submitted_at"].tolist() == DECISION_DATES
    assert orders["status"].tolist() == ["completed"] * 4
    assert orders["type"].tolist() == ["market"] * 4

    trades = frame(result, "trades")
    assert trades["entry_time"].tolist() == ["2024-01-09", "2024-01-19"]
    assert trades["exit_time"].tolist() == ["2024-01-13", "2024-01-23"]
    assert trades["pnl_gross"].tolist() == pytest.approx([527.0, 625.0])
    assert trades["bars_held"].tolist() == [4, 4]
    assert result.metrics["trades"] == 2
    assert final_equity(result) == pytest.approx((11_152.0, 11_152.0))  # 10000 + 527 + 625


def test_fill_at_close_fills_at_the_decision_bars_close(tmp_path: Path, x_csv: Path) -> None:
    result = backtest(tmp_path, x_csv, fill_at="close")
    fills = frame(result, "fills")
    assert fills["side"].tolist() == SIDES
    assert fills["datetime"].tolist() == DECISION_DATES
    assert fills["price"].tolist() == pytest.approx([18.0, 19.0, 16.0, 17.0])
    # floor(9500 / 18) = 527; then 10000 + 527 * (19 - 18) = 10527 -> floor(10000.65 / 16) = 625
    assert fills["qty"].tolist() == [527, 527, 625, 625]
    trades = frame(result, "trades")
    assert trades["pnl_gross"].tolist() == pytest.approx([527.0, 625.0])
    assert final_equity(result) == pytest.approx((11_152.0, 11_152.0))


def test_fill_at_close_bar_index_matches_fill_datetime(tmp_path: Path, x_csv: Path) -> None:
    result = backtest(tmp_path, x_csv, fill_at="close")
    assert frame(result, "fills")["bar"].tolist() == DECISION_BARS


@pytest.mark.parametrize("preload", [True, False])
def test_fill_at_close_equity_on_the_decision_bar_includes_the_fill(
    tmp_path: Path, x_csv: Path, preload: bool
) -> None:
    # equity.csv showed all cash on the bar whose close filled the buy, one bar late
    result = backtest(tmp_path, x_csv, fill_at="close", slippage="1%", preload=preload)
    equity = frame(result, "equity").set_index("datetime")
    # bar 7: buy floor(9500 / 18) = 527 at 18 * 1.01 = 18.18 (high 18.5): cash 10000 - 9580.86
    assert equity.loc["2024-01-07", ["value", "cash"]].tolist() == pytest.approx([10_000, 10_000])
    assert equity.loc["2024-01-08", "cash"] == pytest.approx(419.14)
    # value = 419.14 + 527 * 18 = 9905.14: the 1 % slippage is a loss of the decision day
    assert equity.loc["2024-01-08", "value"] == pytest.approx(9_905.14)
    # bar 11: sell 527 at 19 * 0.99 = 18.81 (low 18.5): cash 419.14 + 9912.87, flat
    assert equity.loc["2024-01-12", ["value", "cash"]].tolist() == pytest.approx(
        [10_332.01, 10_332.01]
    )


@pytest.mark.parametrize("preload", [True, False])
def test_fill_at_close_order_decided_on_the_last_bar_fills(
    tmp_path: Path, x_csv: Path, preload: bool
) -> None:
    # decided on the last bar, the order stayed `submitted` and never filled
    last = str(START + dt.timedelta(days=len(CLOSES) - 1))
    result = backtest(
        tmp_path,
        x_csv,
        strategy="buy_and_hold",
        params={"sizing": "fixed", "size": 100},
        start=dt.date.fromisoformat(last),
        fill_at="close",
        preload=preload,
    )
    orders = frame(result, "orders")
    assert orders["status"].tolist() == ["completed"]
    fills = frame(result, "fills")
    assert fills[["datetime", "qty", "price"]].values.tolist() == [[last, 100, 13.0]]
    assert frame(result, "equity").values.tolist() == [[last, 10_000.0, 8_700.0]]


# ----------------------------------------------------------------------------------- slippage


def test_percent_slippage_is_against_the_trader(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, slippage="1%")
    # buys pay 1 % more than the open, sells get 1 % less; all inside the bar's range
    # 18.1 * 1.01, 19.1 * 0.99, 16.1 * 1.01, 17.1 * 0.99
    assert prices(result) == pytest.approx([18.281, 18.909, 16.261, 16.929])
    trades = frame(result, "trades")
    # 100 * (18.909 - 18.281) = 62.8; 100 * (16.929 - 16.261) = 66.8
    assert trades["pnl_gross"].tolist() == pytest.approx([62.8, 66.8])
    # 10000 + 62.8 + 66.8
    assert final_equity(result) == pytest.approx((10_129.6, 10_129.6))


def test_bps_slippage_equals_the_same_percentage(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, slippage="100bps")
    assert prices(result) == pytest.approx([18.281, 18.909, 16.261, 16.929])


def test_percent_slippage_is_capped_at_the_bar_high_and_low(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, slippage="20%")
    # bar 8 buy: 18.1 * 1.2 = 21.72 > high 20.5 -> 20.5
    # bar 12 sell: 19.1 * 0.8 = 15.28 < low 16.5 -> 16.5
    # bar 18 buy: 16.1 * 1.2 = 19.32 > high 18.5 -> 18.5
    # bar 22 sell: 17.1 * 0.8 = 13.68 < low 14.5 -> 14.5
    assert prices(result) == pytest.approx([20.5, 16.5, 18.5, 14.5])
    # 100 * (16.5 - 20.5) + 100 * (14.5 - 18.5) = -800
    assert final_equity(result) == pytest.approx((9_200.0, 9_200.0))


@pytest.mark.parametrize("text", ["0.05/share", "$0.05/share"])
def test_fixed_slippage_per_share(tmp_path: Path, x_csv: Path, text: str) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, slippage=text)
    # 18.1 + 0.05, 19.1 - 0.05, 16.1 + 0.05, 17.1 - 0.05
    assert prices(result) == pytest.approx([18.15, 19.05, 16.15, 17.05])
    # each round trip: 100 * (1.0 - 0.10) = 90
    assert frame(result, "trades")["pnl_gross"].tolist() == pytest.approx([90.0, 90.0])


def test_slippage_applies_to_close_fills_too(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, slippage="1%", fill_at="close")
    # 18 * 1.01, 19 * 0.99, 16 * 1.01, 17 * 0.99 (all inside the decision bars' ranges)
    assert prices(result) == pytest.approx([18.18, 18.81, 16.16, 16.83])


def test_close_fill_slippage_never_favours_the_trader_after_a_gap(
    tmp_path: Path, scripted: str
) -> None:
    bars = [
        (100, 101, 99, 100),
        (100, 101, 99, 100),
        (100, 101, 99, 100),
        (100, 100.5, 99, 100),  # decision bar 3: close 100, high 100.5
        (90, 91, 89, 90),  # gap down: high 91
        (90, 91, 89, 90),
    ]
    data = write_bars(tmp_path / "G.csv", bars)
    result = backtest(
        tmp_path,
        data,
        strategy=scripted,
        params={"plan": "3:buy:10"},
        slippage="1%",
        fill_at="close",
    )
    # the close 100 slipped 1 % against the buyer = 101, capped at the decision bar's high 100.5;
    # the simulator currently fills at 91, the next bar's high: 9 % better than the close
    assert prices(result) == pytest.approx([100.5])


# --------------------------------------------------------------------------------- commission


def test_commission_per_share(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, commission="0.01/share")
    fills = frame(result, "fills")
    assert fills["commission"].tolist() == pytest.approx([1.0] * 4)  # 100 * 0.01
    trades = frame(result, "trades")
    assert trades["pnl_gross"].tolist() == pytest.approx([100.0, 100.0])
    assert trades["commission"].tolist() == pytest.approx([2.0, 2.0])
    assert trades["pnl_net"].tolist() == pytest.approx([98.0, 98.0])
    orders = frame(result, "orders")
    assert orders["commission"].tolist() == pytest.approx([1.0] * 4)
    # 10000 + 200 - 4
    assert final_equity(result) == pytest.approx((10_196.0, 10_196.0))


@pytest.mark.parametrize("text", ["0.1%", "10bps"])
def test_commission_percent_of_notional(tmp_path: Path, x_csv: Path, text: str) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, commission=text)
    # 0.001 * 100 * [18.1, 19.1, 16.1, 17.1]
    assert frame(result, "fills")["commission"].tolist() == pytest.approx([1.81, 1.91, 1.61, 1.71])
    trades = frame(result, "trades")
    assert trades["commission"].tolist() == pytest.approx([3.72, 3.32])
    assert trades["pnl_net"].tolist() == pytest.approx([96.28, 96.68])
    # 10000 + 200 - 7.04
    assert final_equity(result) == pytest.approx((10_192.96, 10_192.96))


def test_commission_minimum_per_order(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, commission="0.005/share,min=1")
    # 100 * 0.005 = 0.50 < minimum 1.00
    assert frame(result, "fills")["commission"].tolist() == pytest.approx([1.0] * 4)
    assert frame(result, "trades")["pnl_net"].tolist() == pytest.approx([98.0, 98.0])


def test_commission_minimum_does_not_bind_above_it(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 300}
    result = backtest(tmp_path, x_csv, params=fixed, commission="0.005/share,min=1")
    # 300 * 0.005 = 1.50 > minimum 1.00
    assert frame(result, "fills")["commission"].tolist() == pytest.approx([1.5] * 4)


def test_commission_and_slippage_together(tmp_path: Path, x_csv: Path) -> None:
    fixed = {**SMA, "sizing": "fixed", "size": 100}
    result = backtest(tmp_path, x_csv, params=fixed, commission="0.1%", slippage="0.05/share")
    # fill prices 18.15, 19.05, 16.15, 17.05; commission 0.001 * 100 * price
    fills = frame(result, "fills")
    assert fills["price"].tolist() == pytest.approx([18.15, 19.05, 16.15, 17.05])
    assert fills["commission"].tolist() == pytest.approx([1.815, 1.905, 1.615, 1.705])
    # gross 2 * 90 = 180, commissions 7.04
    assert final_equity(result) == pytest.approx((10_172.96, 10_172.96))


# ------------------------------------------------------------------------------------- sizing


def test_fixed_sizing_buys_that_many_shares(tmp_path: Path, x_csv: Path) -> None:
    result = backtest(tmp_path, x_csv, params={**SMA, "sizing": "fixed", "size": 7})
    assert frame(result, "fills")["qty"].tolist() == [7, 7, 7, 7]
    # 7 * (19.1 - 18.1) + 7 * (17.1 - 16.1)
    assert final_equity(result) == pytest.approx((10_014.0, 10_014.0))


def test_percent_sizing_splits_equity_across_symbols(tmp_path: Path) -> None:
    folder = tmp_path / "bars"
    folder.mkdir()
    write_bars(folder / "X.csv", x_bars())
    write_bars(folder / "Y.csv", x_bars())
    result = backtest(tmp_path, folder, symbols=("X", "Y"), params={**SMA, "size": 0.5})
    fills = frame(result, "fills")
    # bar 7: floor(10000 * 0.5 / 2 / 18) = floor(138.89) = 138 shares of each symbol
    # bar 17: equity 10000 + 2 * 138 * 1.0 = 10276 -> floor(10276 * 0.5 / 2 / 16) = 160
    assert sorted(fills["symbol"].unique()) == ["X", "Y"]
    for symbol in ("X", "Y"):
        assert fills[fills["symbol"] == symbol]["qty"].tolist() == [138, 138, 160, 160]
    assert final_equity(result)[0] == pytest.approx(10_000 + 2 * 138 + 2 * 160)


def _sizing_bars() -> list[tuple[float, float, float, float]]:
    return [
        (100, 101, 99, 100),
        (100, 101, 99, 100),  # bar 1: first enter_long, decided at close 100
        (100, 121, 99, 120),  # bar 2: first fill at the open, 100
        (120, 121, 79, 80),  # bar 3: second enter_long, decided at close 80
        (80, 81, 79, 80),  # bar 4: second fill at the open, 80
        (80, 81, 79, 80),
    ]


@pytest.mark.parametrize(
    ("sizing", "size", "expected"),
    [
        # fixed: 7 shares on each call
        ("fixed", 7, [7, 7]),
        # percent: floor(10000 * 0.5 / 100) = 50; then equity 5000 + 50 * 80 = 9000 ->
        # floor(9000 * 0.5 / 80) = floor(56.25) = 56 more
        ("percent", 0.5, [50, 56]),
        # target: first 50 (nothing held); then target 56 minus the 50 held = 6
        ("target", 0.5, [50, 6]),
    ],
)
def test_sizing_modes(tmp_path: Path, sizing: str, size: float, expected: list[int]) -> None:
    strategy_file = tmp_path / "two_entries.py"
    strategy_file.write_text(TWO_ENTRIES)
    data = write_bars(tmp_path / "S.csv", _sizing_bars())
    result = backtest(
        tmp_path,
        data,
        strategy=f"{strategy_file}:TwoEntries",
        params={"sizing": sizing, "size": size},
    )
    fills = frame(result, "fills")
    assert fills["qty"].tolist() == expected
    assert fills["price"].tolist() == pytest.approx([100.0, 80.0])
    assert fills["bar"].tolist() == [2, 4]
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["params"] == {"sizing": sizing, "size": size, "units": "auto"}


@pytest.mark.parametrize(
    ("units", "sizing", "expected"),
    [
        # fractional: 10000 * 0.5 / 100 = 50; then (5000 + 50 * 80) * 0.5 / 80 = 56.25 shares
        ("fractional", "percent", [50.0, 56.25]),
        # target, fractional: 56.25 minus the 50 held
        ("fractional", "target", [50.0, 6.25]),
    ],
)
def test_fractional_sizing(tmp_path: Path, units: str, sizing: str, expected: list[float]) -> None:
    strategy_file = tmp_path / "two_entries.py"
    strategy_file.write_text(TWO_ENTRIES)
    data = write_bars(tmp_path / "S.csv", _sizing_bars())
    params = {"sizing": sizing, "size": 0.5, "units": units}
    result = backtest(tmp_path, data, strategy=f"{strategy_file}:TwoEntries", params=params)
    fills = frame(result, "fills")
    assert fills["qty"].tolist() == expected
    value, cash = final_equity(result)
    assert cash == pytest.approx(10_000 - 50 * 100 - (expected[1]) * 80, abs=1e-9)
    assert value == pytest.approx(cash + sum(expected) * 80, abs=1e-9)


def test_notional_orders_are_sized_at_the_fill_price(tmp_path: Path) -> None:
    """`units=notional` sends dollars: the fill buys what they buy at the fill's price (nine
    decimals, down), not what the decision bar's close would have bought."""
    strategy_file = tmp_path / "two_entries.py"
    strategy_file.write_text(TWO_ENTRIES)
    bars = _sizing_bars()
    bars[2] = (125, 126, 99, 120)  # the first fill opens at 125, the decision closed at 100
    bars[4] = (75, 81, 74, 80)  # the second at 75 after a close of 80
    data = write_bars(tmp_path / "S.csv", bars)
    params = {"sizing": "percent", "size": 0.5, "units": "notional"}
    result = backtest(tmp_path, data, strategy=f"{strategy_file}:TwoEntries", params=params)
    fills = frame(result, "fills")
    # $5,000 at 125 = 40; then equity 5000 + 40 * 80 = 8200, half of it, $4,100, at 75
    assert fills["qty"].tolist() == [40.0, 54.666666666]
    assert fills["price"].tolist() == [125.0, 75.0]
    orders = frame(result, "orders")
    assert orders["status"].tolist() == ["completed", "completed"]


# ------------------------------------------------------------------------------------ shorting


def test_sell_to_open_is_rejected_when_shorting_is_disabled(
    tmp_path: Path, x_csv: Path, scripted: str
) -> None:
    result = backtest(tmp_path, x_csv, strategy=scripted, params={"plan": "1:sell:10"})
    orders = frame(result, "orders")
    assert len(orders) == 1
    order = orders.iloc[0]
    assert order["side"] == "sell"
    assert order["status"] == "rejected"
    assert order["reason"] == "short selling is disabled (allow_short=false)"
    assert order["filled_qty"] == 0
    assert frame(result, "fills").empty
    assert final_equity(result) == pytest.approx((10_000.0, 10_000.0))


def test_second_sell_that_would_go_short_is_rejected(
    tmp_path: Path, x_csv: Path, scripted: str
) -> None:
    # buy 10 on bar 1 (fills bar 2 at 19.1); two sells of 10 on bar 3: the first closes the
    # position (fills bar 4 at open 17.1), the second would open a short and is rejected
    plan = "1:buy:10,3:sell:10,3:sell:10"
    result = backtest(tmp_path, x_csv, strategy=scripted, params={"plan": plan})
    orders = frame(result, "orders")
    assert orders["status"].tolist() == ["completed", "completed", "rejected"]
    assert orders["reason"].iloc[2] == "short selling is disabled (allow_short=false)"
    fills = frame(result, "fills")
    assert fills["price"].tolist() == pytest.approx([19.1, 17.1])
    # 10 * (17.1 - 19.1) = -20
    assert final_equity(result) == pytest.approx((9_980.0, 9_980.0))


def test_allow_short_lets_a_sell_to_open_through(
    tmp_path: Path, x_csv: Path, scripted: str
) -> None:
    # short 10 on bar 1 (fills bar 2 open 19.1), cover on bar 5 (fills bar 6 open 15.1)
    plan = "1:sell:10,5:buy:10"
    result = backtest(tmp_path, x_csv, strategy=scripted, params={"plan": plan}, allow_short=True)
    orders = frame(result, "orders")
    assert orders["status"].tolist() == ["completed", "completed"]
    fills = frame(result, "fills")
    assert fills["side"].tolist() == ["sell", "buy"]
    assert fills["price"].tolist() == pytest.approx([19.1, 15.1])
    trades = frame(result, "trades")
    assert trades["side"].tolist() == ["short"]
    assert trades["pnl_gross"].tolist() == pytest.approx([40.0])  # 10 * (19.1 - 15.1)
    assert trades["bars_held"].tolist() == [4]
    assert final_equity(result) == pytest.approx((10_040.0, 10_040.0))
