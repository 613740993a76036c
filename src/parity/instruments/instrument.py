"""The instrument: the facts about a tradable thing that pricing, accounting and venues need.

It travels with every feed, order, fill and position, so that options (multiplier 100, expiry,
legs), crypto (fractional quantities, 24/7) and other exchanges (calendar, currency) are data
rather than branches. Frozen and hashable: one value per symbol, shared freely.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

AssetClass = Literal["us_equity", "equity", "crypto", "option"]
OptionRight = Literal["call", "put"]


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    asset_class: AssetClass
    currency: str
    exchange: str  # ISO 10383 MIC where one exists ("XNYS", "XNSE"); "CRYPTO" trades 24/7
    multiplier: float = 1.0  # cash per point per unit: 100 for a US equity option
    tick_size: float = 0.01
    quantity_step: float = 1.0  # smallest quantity increment; crypto trades fractions
    underlying: str | None = None
    expiry: dt.date | None = None
    strike: float | None = None
    right: OptionRight | None = None

    def __post_init__(self) -> None:
        for name in ("multiplier", "tick_size", "quantity_step"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"instrument {self.symbol}: {name} must be positive, got {value}")
        terms = [
            value is not None for value in (self.underlying, self.expiry, self.strike, self.right)
        ]
        if all(terms) != (self.asset_class == "option") or any(terms) != all(terms):
            raise ValueError(
                f"instrument {self.symbol}: an option needs underlying, expiry, strike and right, "
                "and only an option has them"
            )

    @property
    def fractional(self) -> bool:
        return self.quantity_step < 1.0

    @property
    def trades_around_the_clock(self) -> bool:
        return self.exchange == "CRYPTO"

    def notional(self, quantity: float, price: float) -> float:
        """Cash value of `quantity` units at `price` (the multiplier applied)."""
        return quantity * price * self.multiplier
