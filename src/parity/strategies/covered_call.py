"""`covered_call`: hold 100 shares per contract and sell a call against them.

With fewer shares than `contracts` x the multiplier, buy them (at the next open). Holding them
with no call open, sell the call whose delta is nearest `call_delta`, expiring `min_dte`..
`max_dte` days out, at market. The call is held to expiry: out of the money it expires and
another is sold; assigned, the shares go at the strike and are bought again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parity.options.chain import nearest
from parity.strategies.options_base import OptionsStrategy
from parity.strategies.params import bt_params


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


class CoveredCall(OptionsStrategy):
    """Shares plus a short call against them, rolled at expiry; rebuys shares after assignment."""

    Params = CoveredCallParams
    params = bt_params(CoveredCallParams)

    def next(self) -> None:
        cfg = self.cfg
        data = self.options.underlying_data
        if self.has_pending(data) or self.options.pending():
            return
        quotes = self.options.chain(
            right="call", dte=(cfg.min_dte, cfg.max_dte), moneyness=(1.0, 1.2)
        )
        if not quotes:
            return  # the chain is warming up
        units = cfg.contracts * quotes[0].contract.multiplier
        held = self.getposition(data).size
        if held < units:
            self.buy(data=data, size=units - held)
            return
        if any(q < 0 for q in self.options.positions.values()):
            return  # a call is open
        expiry = min(q.contract.expiry for q in quotes)
        call = nearest([q for q in quotes if q.contract.expiry == expiry], delta=cfg.call_delta)
        if call is not None:
            self.options.sell(call.contract, cfg.contracts, tag="covered_call")

    def notify_combo(self, order: Any) -> None:
        """Nothing to track: positions are read from the desk."""
