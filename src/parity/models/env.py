"""`TradingEnv`: a gymnasium environment over one symbol's bars, trading as the simulated broker.

Step `t` (the decision bar): the observation is the normalised state of bars `[t-history+1, t]`
(`features.compute_features`); the action is masked (`masking.action_mask`, invalid → HOLD);
an order fills at bar `t+1`'s open as the one fill model prices a market order
(`parity.engine.fills.FillModel`: slippage against the trader, capped at that bar's high/low),
paying its commission; a
buy that cash cannot cover at the fill price is rejected, as Backtrader rejects it. The reward is
computed from equity marked at bar `t+1`'s close.

Rewards (`reward=`):
- `pnl`: the change in equity, in percent of the starting cash;
- `risk_adjusted`: `pnl - risk_aversion * std(last 20 pnl rewards)`.

The episode starts at the first bar with full history and ends at the last bar (no next open).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import pandas as pd

from parity.costs import CostModel
from parity.defaults import DEFAULT_CASH
from parity.engine.fills import Bar, FillModel
from parity.errors import ConfigError
from parity.models.features import FeatureSpec, Normaliser, feature_matrix
from parity.models.masking import (
    ACTIONS,
    BUY,
    HOLD,
    SELL,
    BoolArray,
    action_mask,
    buy_quantity,
    resolve_action,
    sell_quantity,
)

Reward = Literal["pnl", "risk_adjusted"]
_RISK_WINDOW = 20


@dataclass(frozen=True, kw_only=True)
class TradingSetup:
    """Account and trading rules of the environment (the strategy uses the same values)."""

    costs: CostModel = field(default_factory=lambda: CostModel(slippage_pct=0.0005))
    """Default: parity's backtest default (no commission, 5 bps slippage)."""
    cash: float = DEFAULT_CASH
    trade_size: int = 10
    max_position: int = 40
    reward: Reward = "pnl"
    risk_aversion: float = 0.1

    def __post_init__(self) -> None:
        if self.trade_size < 1 or self.max_position < 1:
            raise ConfigError(
                f"trade_size ({self.trade_size}) and max_position ({self.max_position}) must be "
                "positive share counts"
            )
        if not math.isfinite(self.cash) or self.cash <= 0:
            raise ConfigError(f"cash {self.cash} must be a positive amount")
        if self.reward not in ("pnl", "risk_adjusted"):
            raise ConfigError(f"reward {self.reward!r} must be pnl or risk_adjusted")


class TradingEnv(gym.Env[np.ndarray, np.int64]):
    """Long-only trading of one symbol with actions HOLD/BUY/SELL; see the module docstring."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        spec: FeatureSpec,
        setup: TradingSetup,
        normaliser: Normaliser | None = None,
    ) -> None:
        super().__init__()
        if len(frame) < spec.history + 1:
            raise ConfigError(
                f"{len(frame)} bars are too few to train on: features need {spec.history} bars "
                "of history plus at least one more; widen --from/--to"
            )
        self.feature_spec = spec
        self.setup = setup
        self.features = feature_matrix(spec, frame)
        self.normaliser = normaliser or Normaliser.fit(self.features)
        self.observations = self.normaliser.apply(self.features)
        self._open = frame["open"].to_numpy(dtype=np.float64)
        self._high = frame["high"].to_numpy(dtype=np.float64)
        self._low = frame["low"].to_numpy(dtype=np.float64)
        self._close = frame["close"].to_numpy(dtype=np.float64)
        self._volume = frame["volume"].to_numpy(dtype=np.float64)
        self.index = frame.index
        self.fill = FillModel(costs=setup.costs)
        clip = self.normaliser.clip
        self.observation_space = gym.spaces.Box(-clip, clip, shape=(spec.size,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(len(ACTIONS))
        self._first = spec.history - 1
        self._reset_state()

    def _reset_state(self) -> None:
        self.t = self._first
        self.cash = self.setup.cash
        self.position = 0
        self.equity = self.setup.cash
        self.trades = 0
        self._recent: deque[float] = deque(maxlen=_RISK_WINDOW)

    def observation(self) -> np.ndarray:
        """The normalised state at the current decision bar."""
        return self.observations[self.t - self._first].copy()

    def raw_features(self) -> np.ndarray:
        """The un-normalised state at the current decision bar."""
        return self.features[self.t - self._first].copy()

    def action_masks(self) -> BoolArray:
        """Allowed actions now (the name sb3-contrib's MaskablePPO looks for)."""
        setup = self.setup
        return action_mask(
            position=self.position,
            cash=self.cash,
            price=float(self._close[self.t]),
            trade_size=setup.trade_size,
            max_position=setup.max_position,
            costs=setup.costs,
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._reset_state()
        return self.observation(), self._info(HOLD)

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        nxt = self.t + 1
        if nxt >= len(self._close):
            raise RuntimeError("the episode is over (no next bar to fill at); call reset()")
        executed = resolve_action(int(action), self.action_masks())
        filled = self._execute(executed, nxt)
        self.t = nxt
        equity = self.cash + self.position * float(self._close[nxt])
        pnl = (equity - self.equity) / self.setup.cash * 100.0
        self.equity = equity
        self._recent.append(pnl)
        reward = pnl
        if self.setup.reward == "risk_adjusted" and len(self._recent) > 1:
            reward = pnl - self.setup.risk_aversion * float(np.std(np.array(self._recent)))
        terminated = nxt >= len(self._close) - 1
        info = {**self._info(executed), "fill": filled}
        return self.observation(), float(reward), terminated, False, info

    def bar(self, index: int) -> Bar:
        """Bar `index` of the frame."""
        return Bar(
            float(self._open[index]),
            float(self._high[index]),
            float(self._low[index]),
            float(self._close[index]),
            float(self._volume[index]),
        )

    def _execute(self, action: int, bar: int) -> tuple[float, float, float] | None:
        """Trade `action` at bar `bar`: the fill (signed quantity, price, commission) or None."""
        setup, fill = self.setup, self.fill
        if action == BUY:
            qty = buy_quantity(self.position, setup.trade_size, setup.max_position)
            price = fill.market(True, self.bar(bar))
            fee = fill.commission(qty, price)
            if qty * price + fee > self.cash:  # the broker rejects the order (margin)
                return None
            self.cash -= qty * price + fee
            self.position += qty
            self.trades += 1
            return qty, price, fee
        if action == SELL:
            qty = sell_quantity(self.position, setup.trade_size)
            price = fill.market(False, self.bar(bar))
            fee = fill.commission(qty, price, sell=True)
            self.cash += qty * price - fee
            self.position -= qty
            self.trades += 1
            return -qty, price, fee
        return None

    def _info(self, executed: int) -> dict[str, Any]:
        return {
            "equity": self.equity,
            "cash": self.cash,
            "position": self.position,
            "executed": executed,
            "bar": self.t,
        }
