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

from parity.strategies.params import bt_params
from parity.strategies.stock_and_option import StockAndOption


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


class ProtectivePut(StockAndOption):
    """Shares plus a long put under them, rolled at expiry; rebuys shares after an exercise."""

    Params = ProtectivePutParams
    params = bt_params(ProtectivePutParams)
    right, moneyness, buys_option, order_tag = "put", (0.8, 1.0), True, "protective_put"

    def target_delta(self) -> float:
        return -float(self.cfg.put_delta)
