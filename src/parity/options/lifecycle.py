"""Expiry, exercise and assignment at the session close.

At the close of a contract's expiry session, a contract in the money by `itm_threshold` ($0.01)
or more is exercised (a long) or assigned (a short): physically settled contracts deliver
shares at the strike, cash-settled ones pay the intrinsic value; the rest expire worthless.
The optional early-assignment rule assigns a short American contract at a close within
`early_days` of expiry when it is in the money and its time value (mid - intrinsic) is below
`early_extrinsic` — the case in which holders exercise early.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from parity.errors import ConfigError
from parity.options.book import Book
from parity.options.contracts import OptionContract
from parity.options.orders import OptionFill


@dataclass(frozen=True, kw_only=True)
class LifecycleRules:
    itm_threshold: float = 0.01
    early_assignment: bool = False
    early_days: int = 2
    early_extrinsic: float = 0.05

    def __post_init__(self) -> None:
        if self.itm_threshold < 0 or self.early_days < 0 or self.early_extrinsic < 0:
            raise ConfigError("option lifecycle thresholds must be >= 0")

    def describe(self) -> dict[str, Any]:
        return {
            "expiry": "at the expiry session's close",
            "itm_threshold": self.itm_threshold,
            "early_assignment": self.early_assignment,
            "early_days": self.early_days,
            "early_extrinsic": self.early_extrinsic,
        }

    def summary(self) -> str:
        early = (
            f"early assignment of short American contracts within {self.early_days} days of "
            f"expiry when time value < ${self.early_extrinsic:g}"
            if self.early_assignment
            else "no early assignment"
        )
        return (
            f"lifecycle: expiry at the session close, exercised/assigned when in the money by "
            f"${self.itm_threshold:g} or more; {early}"
        )


def settle(
    book: Book,
    day: dt.date,
    now: dt.datetime,
    spot: float,
    marks: Mapping[OptionContract, float | None],
    rules: LifecycleRules,
) -> Iterator[OptionFill]:
    """The events of the positions in `book` at the close of `day` (applied by the caller, in
    order, one at a time: each group's legs are read before any event of it is applied)."""
    plan: list[tuple[OptionContract, int, int, str]] = []
    for contract, _ in list(book.positions.items()):
        for group in book.groups.values():
            qty = group.legs.get(contract, 0)
            if not qty:
                continue
            if contract.expiry <= day:
                plan.append((contract, qty, group.id, "expiry"))
            elif qty < 0 and _early(contract, day, spot, marks.get(contract), rules):
                plan.append((contract, qty, group.id, "early"))
    for contract, qty, gid, why in plan:
        intrinsic = contract.intrinsic(spot)
        m = contract.multiplier
        if why == "expiry" and intrinsic < rules.itm_threshold:
            yield _event(now, "expiry", gid, contract, -qty, 0.0, 0.0, 0.0, spot)
            continue
        if contract.settlement == "cash":
            cash = qty * m * intrinsic
            yield _event(now, "cash_settlement", gid, contract, -qty, intrinsic, cash, 0.0, spot)
            continue
        # physical: a call's holder buys the shares at the strike, a put's holder sells them
        units = qty * m if contract.right == "call" else -qty * m
        kind = "exercise" if qty > 0 else "assignment"
        cash = -units * contract.strike
        yield _event(now, kind, gid, contract, -qty, contract.strike, cash, units, spot)


def _early(
    contract: OptionContract, day: dt.date, spot: float, mark: float | None, rules: LifecycleRules
) -> bool:
    if not rules.early_assignment or contract.style != "american" or mark is None:
        return False
    if (contract.expiry - day).days > rules.early_days:
        return False
    intrinsic = contract.intrinsic(spot)
    return intrinsic >= rules.itm_threshold and mark - intrinsic < rules.early_extrinsic


def _event(
    now: dt.datetime,
    kind: Any,
    gid: int,
    contract: OptionContract,
    qty: int,
    price: float,
    cash: float,
    shares: float,
    spot: float,
) -> OptionFill:
    return OptionFill(
        now,
        kind,
        0,
        gid,
        0,
        contract,
        qty,
        price,
        0.0,
        cash,
        0.0,
        0.0,
        0.0,
        0.0,
        shares=shares,
        underlying_price=spot,
    )
