"""Backtrader strategies that run unchanged in backtest and paper, and their registry."""

from parity.strategies.base import ParityStrategy, SizingParams
from parity.strategies.registry import BUNDLED, StrategySpec, resolve_strategy

__all__ = ["BUNDLED", "ParityStrategy", "SizingParams", "StrategySpec", "resolve_strategy"]
