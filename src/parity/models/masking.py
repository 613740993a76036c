"""Actions and action masking, shared by the training environment and the `policy` strategy.

Fixed action map (stored in every checkpoint): `0 = HOLD`, `1 = BUY`, `2 = SELL`.

- BUY buys `min(trade_size, max_position - position)` shares; it is allowed when that is positive,
  nothing is pending on the symbol, and cash covers the estimated cost (the decision bar's close
  moved by the slippage, plus commission, as `parity.engine.fills.FillModel` prices a buy).
- SELL sells `min(trade_size, position)` shares; allowed when long and nothing is pending (no
  shorts).
- HOLD is always allowed.

An action the mask forbids is executed as HOLD (`resolve_action`), in training and in trading
alike, so the agent's learned consequences of an invalid choice match what happens live.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from parity.costs import CostModel
from parity.engine.fills import FillModel

HOLD, BUY, SELL = 0, 1, 2
ACTIONS: tuple[str, ...] = ("HOLD", "BUY", "SELL")
"""Action names by index: the action map written to `metadata.json`."""

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def buy_quantity(position: int, trade_size: int, max_position: int) -> int:
    """Shares a BUY would buy (0 at or above the position cap)."""
    return max(0, min(trade_size, max_position - position))


def sell_quantity(position: int, trade_size: int) -> int:
    """Shares a SELL would sell (0 when flat)."""
    return max(0, min(trade_size, position))


def estimated_buy_cost(qty: int, price: float, costs: CostModel) -> float:
    """Cash a buy of `qty` at about `price` needs: `price` slipped as the fill model slips a buy
    (uncapped: the fill's bar is not known yet) times qty, plus the commission."""
    fill = FillModel(costs=costs)
    slipped = fill.slip_up(math.inf, price)
    return qty * slipped + fill.commission(qty, slipped)


def action_mask(
    *,
    position: int,
    cash: float,
    price: float,
    trade_size: int,
    max_position: int,
    costs: CostModel,
    pending: bool = False,
) -> BoolArray:
    """Allowed actions `[HOLD, BUY, SELL]` for one symbol at the decision bar's close `price`."""
    mask = np.zeros(len(ACTIONS), dtype=np.bool_)
    mask[HOLD] = True
    if pending:
        return mask
    qty = buy_quantity(position, trade_size, max_position)
    mask[BUY] = qty > 0 and price > 0 and cash >= estimated_buy_cost(qty, price, costs)
    mask[SELL] = sell_quantity(position, trade_size) > 0
    return mask


def resolve_action(action: int, mask: BoolArray) -> int:
    """`action` when the mask allows it, else HOLD."""
    action = int(action)
    if not 0 <= action < len(ACTIONS):
        raise ValueError(f"action {action} is outside the action map {ACTIONS}")
    return action if bool(mask[action]) else HOLD
