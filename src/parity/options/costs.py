"""Option fill prices and costs: buy at the ask, sell at the bid, each moved by `slippage` (a
fraction of the premium) against the trader; commission per contract through the one cost model
(`parity.costs.CostModel`, per unit = per contract); regulatory fees per contract, optional.

Text forms: `--option-commission 0.65/contract` (or `0`), `--option-slippage 0.5%` or `50bps`.
The fee rates are parameters (set them to your broker's current schedule): ORF per contract on
every trade, OCC clearing per contract, FINRA TAF per contract sold.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from parity.costs import CostModel, parse_slippage
from parity.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class OptionCosts:
    commission_per_contract: float = 0.65
    slippage: float = 0.005  # of the premium
    regulatory_fees: bool = False
    orf_per_contract: float = 0.02685
    occ_per_contract: float = 0.02
    taf_per_contract_sold: float = 0.00279

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name != "regulatory_fees" and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"option cost {name}={value} must be a non-negative number")
        if self.slippage >= 1:
            raise ConfigError(f"option slippage {self.slippage} is a fraction of premium (< 1)")

    @property
    def commission_model(self) -> CostModel:
        return CostModel(commission_per_share=self.commission_per_contract)

    def fill_price(self, buy: bool, bid: float, ask: float) -> float:
        """The price per unit a leg fills at: the ask (bid) moved by the slippage."""
        return ask * (1 + self.slippage) if buy else bid * (1 - self.slippage)

    def commission(self, contracts: int, price: float) -> float:
        return self.commission_model.commission(abs(contracts), price)

    def fees(self, contracts: int) -> float:
        if not self.regulatory_fees:
            return 0.0
        n = abs(contracts)
        sold = n if contracts < 0 else 0
        return (
            n * (self.orf_per_contract + self.occ_per_contract) + sold * self.taf_per_contract_sold
        )

    def fee_parts(self, contracts: int) -> dict[str, float]:
        """`fees(contracts)` by the fee's name as Alpaca's FEE activities name it (`ORF`,
        `OCC`, `TAF`); none that is zero."""
        if not self.regulatory_fees:
            return {}
        n = abs(contracts)
        sold = n if contracts < 0 else 0
        parts = {
            "ORF": n * self.orf_per_contract,
            "OCC": n * self.occ_per_contract,
            "TAF": sold * self.taf_per_contract_sold,
        }
        return {name: amount for name, amount in parts.items() if amount > 0}

    def describe(self) -> dict[str, Any]:
        return dict(vars(self))

    def summary(self) -> str:
        fees = "regulatory fees on" if self.regulatory_fees else "no regulatory fees"
        return (
            f"option costs: buy at ask, sell at bid, slippage {self.slippage:.2%} of premium, "
            f"commission ${self.commission_per_contract:g}/contract, {fees}"
        )


_PER_CONTRACT = re.compile(r"^\s*\$?([0-9]*\.?[0-9]+)\s*(?:/\s*contract)?\s*$")


def per_contract(text: str) -> float:
    """`0.65/contract` (or `0.65`, `0`) -> 0.65."""
    match = _PER_CONTRACT.match(str(text))
    if match is None:
        raise ConfigError(
            f"option commission {text!r} is not understood; write dollars per contract, "
            "e.g. --option-commission 0.65/contract"
        )
    return float(match.group(1))


def premium_fraction(text: str) -> float:
    """`0.5%`, `50bps` or `0` -> a fraction of premium."""
    parsed = parse_slippage(str(text))
    if parsed["slippage_fixed"]:
        raise ConfigError(
            f"option slippage {text!r} is a fraction of premium: write e.g. 0.5% or 50bps"
        )
    return parsed["slippage_pct"]
