"""`TradingEnv`: fills at the next open with the sim broker's costs, masking, rewards, episodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

from parity.costs import CostModel
from parity.engine.fills import Bar, FillModel
from parity.errors import ConfigError
from parity.models.env import TradingEnv, TradingSetup
from parity.models.features import FeatureSpec
from parity.models.masking import BUY, HOLD, SELL

SPEC = FeatureSpec(window=3, features=("returns",), history=3)


def frame(opens: list[float], closes: list[float], spread: float = 1.0) -> pd.DataFrame:
    o, c = np.array(opens), np.array(closes)
    return pd.DataFrame(
        {
            "open": o,
            "high": np.maximum(o, c) + spread,
            "low": np.minimum(o, c) - spread,
            "close": c,
            "volume": np.full(len(o), 1000.0),
        },
        index=pd.date_range("2021-01-04", periods=len(o), freq="B"),
    )


def make_env(bars: pd.DataFrame, **setup: object) -> TradingEnv:
    values: dict[str, object] = {"trade_size": 10, "max_position": 20, "cash": 10_000.0}
    values.update(setup)
    return TradingEnv(bars, spec=SPEC, setup=TradingSetup(**values))  # type: ignore[arg-type]


BARS = frame(
    [100, 101, 102, 103, 104, 105, 106, 107],
    [100.5, 101.5, 102.5, 103.5, 104.5, 105.5, 106.5, 107.5],
)


def test_buy_fills_at_next_open_with_slippage_and_commission() -> None:
    costs = CostModel(commission_per_share=0.01, slippage_pct=0.001)
    env = make_env(BARS, costs=costs)
    obs, info = env.reset(seed=0)
    assert obs.shape == (2,) and obs.dtype == np.float32 and env.t == 2
    _, reward, done, truncated, info = env.step(BUY)
    price = 103 * 1.001  # bar 3's open, slipped up
    assert info["position"] == 10 and info["executed"] == BUY
    assert info["cash"] == pytest.approx(10_000 - 10 * price - 0.1)
    equity = info["cash"] + 10 * 103.5
    assert info["equity"] == pytest.approx(equity)
    assert reward == pytest.approx((equity - 10_000) / 10_000 * 100)
    assert not done and not truncated


def test_slippage_is_capped_at_the_bar_range() -> None:
    def fill(buy: bool, high: float, low: float, costs: CostModel) -> float:
        return FillModel(costs=costs).market(buy, Bar(100.0, high, low, 100.0, 1e6))

    assert fill(True, 100.02, 99.0, CostModel(slippage_pct=0.001)) == 100.02
    assert fill(False, 101.0, 99.99, CostModel(slippage_fixed=0.05)) == 99.99
    assert fill(False, 101.0, 99.0, CostModel(slippage_fixed=0.05)) == 99.95
    assert fill(True, 101.0, 99.0, CostModel()) == 100.0


def test_invalid_actions_execute_as_hold_and_the_cap_holds() -> None:
    env = make_env(BARS)
    env.reset()
    _, _, _, _, info = env.step(SELL)  # flat: cannot sell
    assert info["executed"] == HOLD and info["position"] == 0
    env.step(BUY)
    env.step(BUY)
    _, _, _, _, info = env.step(BUY)  # at max_position=20
    assert info["executed"] == HOLD and info["position"] == 20
    _, _, done, _, info = env.step(SELL)
    assert info["position"] == 10 and done  # bar 7 is the last: no next open
    assert env.trades == 3
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(HOLD)


def test_buy_the_broker_could_not_afford_at_the_open_is_rejected() -> None:
    gap = frame([100, 100, 100, 150, 150], [100, 100, 100, 150, 150])
    env = make_env(gap, cash=1_050.0)
    env.reset()
    assert env.action_masks().tolist() == [True, True, False]  # affordable at the close
    _, _, _, _, info = env.step(BUY)
    assert info["position"] == 0 and info["cash"] == 1_050.0  # 10 x 150 is not


def test_risk_adjusted_reward_penalises_volatility() -> None:
    wild = frame([100, 100, 100, 110, 95, 112, 90], [100, 100, 100, 110, 95, 112, 90])
    pnl, risk = make_env(wild), make_env(wild, reward="risk_adjusted", risk_aversion=1.0)
    for env in (pnl, risk):
        env.reset()
    rewards = [(pnl.step(BUY)[1], risk.step(BUY)[1]) for _ in range(4)]
    assert rewards[0][0] == rewards[0][1]  # one reward: no std yet
    assert all(r < p for p, r in rewards[1:])


def test_episode_resets_to_the_start() -> None:
    env = make_env(BARS)
    first, _ = env.reset()
    env.step(BUY)
    again, info = env.reset()
    assert np.array_equal(first, again) and info["position"] == 0 and env.cash == 10_000.0


def test_gymnasium_api_checker_passes() -> None:
    env = make_env(BARS)
    check_env(env, skip_render_check=True)


def test_bad_setup_and_too_few_bars() -> None:
    with pytest.raises(ConfigError, match="positive share counts"):
        TradingSetup(trade_size=0)
    with pytest.raises(ConfigError, match="reward"):
        TradingSetup(reward="sharpe")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="too few"):
        make_env(BARS.iloc[:3])


def test_the_env_charges_an_indian_brokers_cap_and_sell_tax_as_the_broker_does() -> None:
    """0.03 % capped at 20 an order, plus 0.1 % of a sell: by hand, and as `FillModel` does."""
    from parity.costs import cost_model

    costs = cost_model("0.03%,max=20,sell=0.1%", "0")
    env = make_env(BARS, costs=costs, cash=100_000.0, trade_size=20, max_position=20)
    env.reset(seed=0)
    _, _, _, _, bought = env.step(BUY)  # 20 at bar 3's open, 103: 0.03 % of 2,060 = 0.618
    assert bought["cash"] == pytest.approx(100_000 - 20 * 103 - 0.618)
    _, _, _, _, sold = env.step(SELL)  # 20 at 104: 0.624 + 0.1 % of 2,080 = 2.704
    assert sold["cash"] == pytest.approx(bought["cash"] + 20 * 104 - 0.624 - 2.08)
    fill = FillModel(costs=costs)
    assert fill.commission(20, 104.0, sell=True) == pytest.approx(0.624 + 2.08)
