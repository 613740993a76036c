"""Action masking shared by the environment and the policy strategy."""

from __future__ import annotations

import numpy as np
import pytest

from parity.costs import CostModel
from parity.models.masking import (
    ACTIONS,
    BUY,
    HOLD,
    SELL,
    action_mask,
    buy_quantity,
    estimated_buy_cost,
    resolve_action,
    sell_quantity,
)

FREE = CostModel()


def mask(**overrides: object) -> list[bool]:
    values: dict[str, object] = {
        "position": 0,
        "cash": 10_000.0,
        "price": 100.0,
        "trade_size": 10,
        "max_position": 40,
        "costs": FREE,
    }
    values.update(overrides)
    return action_mask(**values).tolist()  # type: ignore[arg-type]


def test_action_map_is_fixed() -> None:
    assert ACTIONS == ("HOLD", "BUY", "SELL") and (HOLD, BUY, SELL) == (0, 1, 2)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, [True, True, False]),  # flat: cannot sell
        ({"position": 10}, [True, True, True]),
        ({"position": 40}, [True, False, True]),  # at the cap: cannot buy
        ({"position": 35}, [True, True, True]),  # buys the 5 left under the cap
        ({"cash": 999.0}, [True, False, False]),  # 10 x 100 not affordable
        ({"cash": 1_000.0}, [True, True, False]),  # exactly affordable
        ({"position": 10, "pending": True}, [True, False, False]),  # an order is in flight
        ({"price": 0.0}, [True, False, False]),
    ],
)
def test_mask_cases(overrides: dict[str, object], expected: list[bool]) -> None:
    assert mask(**overrides) == expected


def test_costs_enter_the_affordability_check() -> None:
    costs = CostModel(commission_min=1.0, slippage_pct=0.001)
    assert estimated_buy_cost(10, 100.0, costs) == pytest.approx(10 * 100.1 + 1.0)
    assert mask(cash=1_001.0, costs=costs) == [True, False, False]
    assert mask(cash=1_002.0, costs=costs) == [True, True, False]
    fixed = CostModel(slippage_fixed=0.5, commission_per_share=0.01)
    assert estimated_buy_cost(10, 100.0, fixed) == pytest.approx(1005.0 + 0.1)


def test_quantities() -> None:
    assert buy_quantity(0, 10, 40) == 10
    assert buy_quantity(35, 10, 40) == 5
    assert buy_quantity(45, 10, 40) == 0
    assert sell_quantity(25, 10) == 10
    assert sell_quantity(4, 10) == 4
    assert sell_quantity(0, 10) == 0


def test_resolve_action_turns_forbidden_into_hold() -> None:
    allowed = np.array([True, False, True])
    assert resolve_action(BUY, allowed) == HOLD
    assert resolve_action(SELL, allowed) == SELL
    assert resolve_action(np.int64(0), allowed) == HOLD  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside the action map"):
        resolve_action(3, allowed)
