"""Risk limits and the kill switch, applied between the strategy and the broker in every mode.

- `limits.py`: `RiskLimits` (frozen; from a run file's `risk:` mapping or flags).
- `guard.py`: `RiskGuard.check/review` (reject an order, with its reason) and `on_bar`.
- `state.py`: `RiskState` and its stores (`RUN_DIR/risk_state.json`).
- `monitor.py`: `RiskMonitor` analyzer and `attach_risk`, the runners' one call.
"""

from __future__ import annotations

from parity.risk.guard import RiskGuard
from parity.risk.limits import RiskLimits
from parity.risk.rules import BrokerView, OrderIntent
from parity.risk.state import JsonRiskStateStore, MemoryRiskStateStore, RiskState, RiskStateStore

__all__ = [
    "BrokerView",
    "JsonRiskStateStore",
    "MemoryRiskStateStore",
    "OrderIntent",
    "RiskGuard",
    "RiskLimits",
    "RiskState",
    "RiskStateStore",
]
