"""`covered_call`: hold 100 shares per contract and sell a call against them.

With fewer shares than `contracts` x the multiplier, buy them (at the next open). Holding them
with no call open, sell the call whose delta is nearest `call_delta`, expiring `min_dte`..
`max_dte` days out, at market. The call is held to expiry: out of the money it expires and
another is sold; assigned, the shares go at the strike and are bought again.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.strategies.params import bt_params
from parity.strategies.stock_and_option import StockAndOption


@dataclass(frozen=True, kw_only=True)
class CoveredCallParams:
    contracts: int = 1
    call_delta: float = 0.3
    min_dte: int = 20
    max_dte: int = 45

    def __post_init__(self) -> None:
        if self.contracts < 1 or not 0 < self.call_delta < 1:
            raise ValueError("contracts >= 1 and call_delta in (0, 1) are required")
        if self.min_dte < 0 or self.max_dte < self.min_dte:
            raise ValueError(f"min_dte {self.min_dte}, max_dte {self.max_dte}: 0 <= min <= max")


class CoveredCall(StockAndOption):
    """Shares plus a short call against them, rolled at expiry; rebuys shares after assignment."""

    Params = CoveredCallParams
    params = bt_params(CoveredCallParams)
    right, moneyness, buys_option, order_tag = "call", (1.0, 1.2), False, "covered_call"

    def target_delta(self) -> float:
        return float(self.cfg.call_delta)
