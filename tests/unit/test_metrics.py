"""Run metrics: hand computations, and cross-checks against QuantStats on the same returns."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import quantstats as qs

from parity.analyzers.metrics import METRIC_KEYS, compute_metrics, daily_returns

# Daily closes after 100 starting cash: returns +10 %, -10 %, +10 %, +10 %, -5 %.
HAND_VALUES = [110.0, 99.0, 108.9, 119.79, 113.8005]
HAND_CASH = [110.0, 50.0, 50.0, 50.0, 113.8005]  # flat on the first and last day
HAND_DATES = pd.date_range("2024-01-01 16:00", periods=5, freq="D")


def hand_equity() -> pd.DataFrame:
    return pd.DataFrame({"value": HAND_VALUES, "cash": HAND_CASH}, index=HAND_DATES)


def trades_with(*pnl: float) -> pd.DataFrame:
    return pd.DataFrame({"pnl_net": list(pnl)})


def fills_with(*notional: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame({"qty": [q for q, _ in notional], "price": [p for _, p in notional]})


def test_every_metric_on_a_hand_built_series() -> None:
    m = compute_metrics(
        hand_equity(),
        trades_with(10.0, -5.0, 20.0, 0.0),
        fills_with((1.0, 50.0), (1.0, 60.0)),
        starting_cash=100.0,
    )
    assert list(m) == [*METRIC_KEYS, "flags"]
    # mean 0.03; deviations .07 -.13 .07 .07 -.08 -> sum of squares .038 -> var .0095
    assert m["volatility"] == pytest.approx(math.sqrt(0.0095) * math.sqrt(252))
    assert m["sharpe"] == pytest.approx(0.03 / math.sqrt(0.0095) * math.sqrt(252))
    # downside: sqrt((.1^2 + .05^2) / 5) = .05
    assert m["sortino"] == pytest.approx(0.03 / 0.05 * math.sqrt(252))
    assert m["total_return"] == pytest.approx(0.138005)
    # baseline (2023-12-31) to 2024-01-05 is 5 calendar days
    cagr = 1.138005 ** (365.25 / 5) - 1
    assert m["cagr"] == pytest.approx(cagr)
    assert m["max_drawdown"] == pytest.approx(-0.1)  # 110 -> 99
    assert m["max_drawdown_duration_days"] == 3  # peak 01-01, recovered 01-04
    assert m["calmar"] == pytest.approx(cagr / 0.1)
    assert m["win_rate"] == pytest.approx(0.5)  # the breakeven trade is not a win
    assert m["profit_factor"] == pytest.approx(6.0)  # 30 / 5
    assert m["expectancy"] == pytest.approx(6.25)
    assert m["avg_win"] == pytest.approx(15.0)
    assert m["avg_loss"] == pytest.approx(-5.0)
    assert m["trades"] == 4
    assert m["exposure"] == pytest.approx(0.6)
    assert m["turnover"] == pytest.approx(110.0 / (sum(HAND_VALUES) / 5))
    assert m["flags"] == {}


def test_metrics_are_plain_json_types_in_contract_order() -> None:
    m = compute_metrics(hand_equity(), trades_with(1.0), fills_with(), starting_cash=100.0)
    for key in METRIC_KEYS:
        assert m[key] is None or type(m[key]) in (float, int), key
    text = json.dumps(m, indent=2, allow_nan=False)  # as the run store writes metrics.json
    parsed = json.loads(text)
    assert list(parsed) == [*METRIC_KEYS, "flags"]
    assert parsed["profit_factor"] is None
    assert parsed["flags"] == {"profit_factor": "no_losing_trades"}
    assert "NaN" not in text


def random_walk(seed: int, first: float | None = None, days: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0004, 0.012, days)
    if first is not None:
        returns[0] = first
    value = 100_000.0 * np.cumprod(1.0 + returns)
    index = pd.bdate_range("2021-01-04", periods=days) + pd.Timedelta(hours=16)
    return pd.DataFrame({"value": value, "cash": value / 2}, index=index)


@pytest.mark.parametrize(("seed", "first"), [(1, None), (2, -0.03), (3, 0.02), (4, -0.08)])
@pytest.mark.parametrize("rf", [0.0, 0.04])
def test_matches_quantstats_on_a_random_walk(seed: int, first: float | None, rf: float) -> None:
    equity = random_walk(seed, first)
    m = compute_metrics(equity, trades_with(), fills_with(), starting_cash=100_000.0, risk_free=rf)
    returns = daily_returns(equity["value"], 100_000.0)
    assert len(returns) == 500
    assert m["sharpe"] == pytest.approx(qs.stats.sharpe(returns, rf=rf), abs=1e-9)
    assert m["sortino"] == pytest.approx(qs.stats.sortino(returns, rf=rf), abs=1e-9)
    assert m["volatility"] == pytest.approx(qs.stats.volatility(returns), abs=1e-9)
    assert m["max_drawdown"] == pytest.approx(qs.stats.max_drawdown(returns), abs=1e-9)


def test_first_day_loss_counts_in_drawdown_like_quantstats() -> None:
    index = pd.date_range("2024-03-01", periods=3, freq="D")
    value = [90.0, 94.5, 99.225]  # -10 %, +5 %, +5 %: never back to 100
    m = compute_metrics(
        pd.DataFrame({"value": value, "cash": value}, index=index),
        trades_with(),
        fills_with(),
        starting_cash=100.0,
    )
    returns = daily_returns(pd.Series(value, index=index), 100.0)
    assert m["max_drawdown"] == pytest.approx(-0.1)
    assert qs.stats.max_drawdown(returns) == pytest.approx(-0.1)
    assert m["max_drawdown_duration_days"] == 3  # baseline 02-29 to the last date 03-03


def test_intraday_equity_collapses_to_daily_closes() -> None:
    times = ["09:30", "12:00", "16:00"]
    index = pd.DatetimeIndex([f"{day} {t}" for day in ("2024-01-02", "2024-01-03") for t in times])
    value = pd.Series([100.0, 105.0, 102.0, 95.0, 97.0, 101.0], index=index)
    returns = daily_returns(value, 100.0)
    assert returns.name == "return"
    assert list(returns.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert list(returns) == pytest.approx([0.02, 101.0 / 102.0 - 1.0])
    m = compute_metrics(
        pd.DataFrame({"value": value, "cash": 100.0}, index=index),
        trades_with(),
        fills_with(),
        starting_cash=100.0,
    )
    # drawdown is on daily closes: the intraday dip to 95 is not part of it
    assert m["max_drawdown"] == pytest.approx(101.0 / 102.0 - 1.0)
    assert m["total_return"] == pytest.approx(0.01)
    assert m["exposure"] == pytest.approx(5 / 6)  # the first bar has value == cash


def test_timezone_aware_equity_uses_local_dates() -> None:
    index = pd.DatetimeIndex(["2024-01-02 23:00", "2024-01-03 01:00"]).tz_localize("Asia/Tokyo")
    returns = daily_returns(pd.Series([110.0, 99.0], index=index), 100.0)
    assert list(returns.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert list(returns) == pytest.approx([0.1, -0.1])


def test_no_trades_gives_null_trade_stats() -> None:
    m = compute_metrics(hand_equity(), trades_with(), fills_with(), starting_cash=100.0)
    for key in ("win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss"):
        assert m[key] is None
    assert m["trades"] == 0
    assert m["turnover"] == 0.0
    assert m["flags"] == {}


def test_trades_frame_without_columns_counts_as_no_trades() -> None:
    m = compute_metrics(hand_equity(), pd.DataFrame(), pd.DataFrame(), starting_cash=100.0)
    assert m["trades"] == 0
    assert m["profit_factor"] is None


def test_no_losing_trades_flags_profit_factor() -> None:
    m = compute_metrics(hand_equity(), trades_with(3.0, 5.0), fills_with(), starting_cash=100.0)
    assert m["profit_factor"] is None
    assert m["flags"] == {"profit_factor": "no_losing_trades"}
    assert m["win_rate"] == 1.0
    assert m["avg_win"] == pytest.approx(4.0)
    assert m["avg_loss"] is None


def test_only_losing_trades_give_zero_profit_factor() -> None:
    m = compute_metrics(hand_equity(), trades_with(-3.0, -1.0), fills_with(), starting_cash=100.0)
    assert m["profit_factor"] == 0.0
    assert m["win_rate"] == 0.0
    assert m["avg_loss"] == pytest.approx(-2.0)


def test_flat_equity_has_no_ratios() -> None:
    index = pd.date_range("2024-01-01", periods=10, freq="D")
    equity = pd.DataFrame({"value": 100.0, "cash": 100.0}, index=index)
    m = compute_metrics(equity, trades_with(), fills_with(), starting_cash=100.0)
    assert m["volatility"] == 0.0
    assert m["sharpe"] is None
    assert m["sortino"] is None
    assert m["max_drawdown"] == 0.0
    assert m["max_drawdown_duration_days"] == 0
    assert m["calmar"] is None
    assert m["total_return"] == 0.0
    assert m["exposure"] == 0.0


def test_no_downside_means_no_sortino() -> None:
    index = pd.date_range("2024-01-01", periods=4, freq="D")
    value = [101.0, 103.0, 103.5, 106.0]
    m = compute_metrics(
        pd.DataFrame({"value": value, "cash": 0.0}, index=index),
        trades_with(),
        fills_with(),
        starting_cash=100.0,
    )
    assert m["sortino"] is None
    assert m["sharpe"] is not None
    assert m["max_drawdown"] == 0.0
    assert m["calmar"] is None


def test_single_day_has_no_volatility_and_nothing_is_nan() -> None:
    index = pd.DatetimeIndex(["2024-01-02 16:00"])
    m = compute_metrics(
        pd.DataFrame({"value": [99.0], "cash": [99.0]}, index=index),
        trades_with(),
        fills_with(),
        starting_cash=100.0,
    )
    assert m["volatility"] is None
    assert m["sharpe"] is None
    assert m["sortino"] is None
    assert m["max_drawdown"] == pytest.approx(-0.01)
    json.loads(json.dumps(m, allow_nan=False))
