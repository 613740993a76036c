"""Deterministic evaluation of a policy on a `TradingEnv` (the held-out validation of training)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from parity.models.env import TradingEnv


def evaluate(env: TradingEnv, act: Callable[[np.ndarray], int]) -> dict[str, Any]:
    """Run one episode choosing `act(observation)` each bar (the env masks it) and return
    backtest-style metrics: total and buy-and-hold return, Sharpe (per-bar, √252), max drawdown,
    exposure, trades, bars and final equity."""
    observation, info = env.reset()
    equity = [float(info["equity"])]
    held = 0
    done = False
    while not done:
        observation, _, done, _, info = env.step(act(observation))
        equity.append(float(info["equity"]))
        held += int(info["position"] != 0)
    curve = np.array(equity)
    returns = curve[1:] / curve[:-1] - 1.0
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    peaks = np.maximum.accumulate(curve)
    first, last = env.t - (len(curve) - 1), env.t
    closes = env._close
    return {
        "bars": len(returns),
        "first": str(env.index[first]),
        "last": str(env.index[last]),
        "total_return": float(curve[-1] / curve[0] - 1.0),
        "buy_and_hold_return": float(closes[last] / closes[first] - 1.0),
        "sharpe": float(returns.mean() / std * math.sqrt(252)) if std > 0 else None,
        "max_drawdown": float((curve / peaks - 1.0).min()),
        "exposure": held / max(len(returns), 1),
        "trades": env.trades,
        "final_equity": float(curve[-1]),
    }
