"""`OptionsStrategy`: the base of strategies that trade options. `self.options` is the desk the
broker carries (`parity.options.OptionsDesk` in a backtest; part 2 puts Alpaca's behind the same
methods): ask the chain (`chain(right=, dte=, strikes=, moneyness=, delta=)`), read quotes and
Greeks, submit single legs (`buy`, `sell`) and 2-4-leg combos (`combo`, all or none, a net
credit/debit limit or market), close a trade (`close(group)`), read `positions` and `greeks()`.

`notify_combo(order)` hears every status of an option order (submitted, filled, rejected with its
reason, cancelled, expired); `notify_leg(order, fill)` every leg's fill and every expiry,
exercise and assignment (`order` is None for those).
"""

from __future__ import annotations

from typing import Any, ClassVar

from parity.errors import StrategyError
from parity.strategies.base import ParityStrategy


class OptionsStrategy(ParityStrategy):
    trades_options: ClassVar[bool] = True  # the runner gives such a strategy an options desk

    def start(self) -> None:
        desk = getattr(self.broker, "options", None)
        if desk is None:
            raise StrategyError(
                f"{type(self).__name__} trades options but the broker has no options desk; "
                "run it through parity (simulate / parity run backtest)"
            )
        desk.attach(self)

    @property
    def options(self) -> Any:
        return self.broker.options

    def notify_combo(self, order: Any) -> None:
        """Every status change of an option order (override to react)."""

    def notify_leg(self, order: Any, fill: Any) -> None:
        """Every leg fill and lifecycle event (override to react)."""
