"""Buying power for options, as a broker reserves it (Alpaca's levels, Reg-T style):

- long options: the premium (paid from cash: no further reserve);
- defined-risk positions (spreads, condors, cash-secured puts, covered calls): the largest loss
  the position can take at expiry, from its payoff evaluated at every strike and at zero (the
  payoff is piecewise linear between strikes), per underlying and expiry;
- naked short calls (an unbounded loss not covered by shares held): refused unless naked
  shorts are allowed, then 20% of the underlying less the amount out of the money (at least
  10% of the underlying) per unit, plus the premium's mark.

Hand-written: no maintained Python library computes broker margin for option combinations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from parity.options.contracts import OptionContract


@dataclass(frozen=True)
class Requirement:
    amount: float  # cash to hold back beyond what was paid
    naked_calls: float  # short call contracts (x multiplier: units) not covered
    reason: str = ""  # why the position cannot be held at all


def requirement(
    positions: Mapping[OptionContract, int],
    shares: float,
    spot: float,
    *,
    allow_naked: bool,
    marks: Mapping[OptionContract, float] | None = None,
) -> Requirement:
    """What `positions` (contracts, signed) on one underlying reserve, with `shares` of the
    underlying held (they cover short calls)."""
    by_expiry: dict[dt.date, dict[OptionContract, int]] = {}
    for contract, qty in positions.items():
        if qty:
            by_expiry.setdefault(contract.expiry, {})[contract] = qty
    cover = max(shares, 0.0)
    total = 0.0
    naked_units = 0.0
    naked_contracts: list[tuple[OptionContract, float]] = []
    for legs in by_expiry.values():
        slope = sum(q * c.multiplier for c, q in legs.items() if c.right == "call")
        covered = min(cover, -slope) if slope < 0 else 0.0
        cover -= covered
        uncovered = -slope - covered if slope < 0 else 0.0
        points = sorted({0.0, *(c.strike for c in legs)})
        # beyond the top strike the payoff falls with the uncovered short calls only: covered
        # ones are paid by the shares' rise
        payoff = [_payoff(legs, s) for s in points]
        worst = min(payoff)
        if uncovered > 1e-9:
            naked_units += uncovered
            naked_contracts.extend(
                (c, -q * c.multiplier) for c, q in legs.items() if c.right == "call" and q < 0
            )
        total += max(-worst, 0.0)
    if naked_units > 1e-9:
        if not allow_naked:
            names = ", ".join(sorted(c.symbol for c, _ in naked_contracts))
            return Requirement(
                total,
                naked_units,
                f"naked short call {names} is not allowed (cover it with shares, buy a higher "
                "call, or set allow_naked_options)",
            )
        for contract, units in naked_contracts:
            share = min(units, naked_units)
            naked_units -= share
            otm = max(contract.strike - spot, 0.0)
            per_unit = max(0.2 * spot - otm, 0.1 * spot)
            mark = (marks or {}).get(contract, 0.0)
            total += share * (per_unit + mark)
    return Requirement(total, 0.0)


def _payoff(legs: Mapping[OptionContract, int], spot: float) -> float:
    return sum(q * c.multiplier * c.intrinsic(spot) for c, q in legs.items())
