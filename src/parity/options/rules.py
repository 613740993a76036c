"""What the options desk is given: the rules it applies (`DeskRules`) and the account it
trades in (`OptionAccount`, the simulated broker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from parity.options.lifecycle import LifecycleRules


class OptionAccount(Protocol):
    """What the desk needs of the broker it sits in."""

    cash: float

    def move_cash(self, amount: float) -> None: ...
    def shares(self, data: Any) -> float: ...
    def deliver(self, data: Any, size: float, price: float) -> None: ...


@dataclass(frozen=True, kw_only=True)
class DeskRules:
    allow_naked_options: bool = False
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)

    def describe(self) -> dict[str, Any]:
        return {"allow_naked_options": self.allow_naked_options, **self.lifecycle.describe()}
