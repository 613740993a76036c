"""parity: one Backtrader strategy, backtested and paper traded, reconciled.

The public API, for scripts and notebooks (see the README's "Python API" section)::

    import parity

    bars = parity.load_bars("sample", ["AAPL", "MSFT"], adjustment="splits")
    result = parity.simulate(bars, "sma_cross", {"fast": 5, "slow": 20})
    result.metrics["total_return"], result.trades, result.equity

The names are imported on first use, so `import parity` (and the CLI's `--help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "simulate": "parity.engine.simulate",
    "RunResult": "parity.engine.simulate",
    "load_bars": "parity.feeds.loader",
    "BarSeries": "parity.feeds.bars",
    "ParityStrategy": "parity.strategies.base",
    "Instrument": "parity.instruments",
    "instrument_for": "parity.instruments",
    "CostModel": "parity.costs",
    "cost_model": "parity.costs",
    "RiskLimits": "parity.risk.limits",
    "ParityError": "parity.errors",
}

__all__ = [
    "BarSeries",
    "CostModel",
    "Instrument",
    "ParityError",
    "ParityStrategy",
    "RiskLimits",
    "RunResult",
    "__version__",
    "cost_model",
    "instrument_for",
    "load_bars",
    "simulate",
]

if TYPE_CHECKING:
    from parity.costs import CostModel, cost_model
    from parity.engine.simulate import RunResult, simulate
    from parity.errors import ParityError
    from parity.feeds.bars import BarSeries
    from parity.feeds.loader import load_bars
    from parity.instruments import Instrument, instrument_for
    from parity.risk.limits import RiskLimits
    from parity.strategies.base import ParityStrategy


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'parity' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
