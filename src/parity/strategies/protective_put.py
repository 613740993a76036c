"""`protective_put`: hold 100 shares per contract and a put under them (a married put).

With fewer shares than `contracts` x the multiplier, buy them (at the next open). Holding them
with no put, buy the put whose delta is nearest -`put_delta`, expiring `min_dte`..`max_dte`
days out, at market. The put is held to expiry: out of the money it expires and another is
bought; in the money it is exercised, the shares go at the strike, and they are bought again.
Every option order opens or closes a long position: it runs on a venue that allows no short
options (Alpaca's level 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parity.options.chain import nearest
from parity.strategies.options_base import OptionsStrategy
from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class ProtectivePutParams:
    contracts: int = 1
    put_delta: float = 0.3
    min_dte: int = 20
    max_dte: int = 45

    def __post_init__(self) -> None:
        if self.contracts < 1 or not 0 < self.put_delta < 1:
            raise ValueError("contracts >= 1 and put_delta in (0, 1) are required")
        if self.min_dte < 0 or self.max_dte < self.min_dte:
            raise ValueError(f"min_dte {self.min_dte}, max_dte {self.max_dte}: 0 <= min <= max")


class ProtectivePut(OptionsStrategy):
    """Shares plus a long put under them, rolled at expiry; rebuys shares after an exercise."""

    Params = ProtectivePutParams
    params = bt_params(ProtectivePutParams)

    def next(self) -> None:
        cfg = self.cfg
        data = self.options.underlying_data
        if self.has_pending(data) or self.options.pending():
            return
        quotes = self.options.chain(
            right="put", dte=(cfg.min_dte, cfg.max_dte), moneyness=(0.8, 1.0)
        )
        if not quotes:
            return  # the chain is warming up
        units = cfg.contracts * quotes[0].contract.multiplier
        held = self.getposition(data).size
        if held < units:
            self.buy(data=data, size=units - held)
            return
        if any(q > 0 for q in self.options.positions.values()):
            return  # a put is held
        expiry = min(q.contract.expiry for q in quotes)
        put = nearest([q for q in quotes if q.contract.expiry == expiry], delta=-cfg.put_delta)
        if put is not None:
            self.options.buy(put.contract, cfg.contracts, tag="protective_put")

    def notify_combo(self, order: Any) -> None:
        """Nothing to track: positions are read from the desk."""
