"""`Bracket`: one plan row being executed by the `plan` strategy, and what it asks of its bars."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt

from parity.journal.ids import CLIENT_ID
from parity.strategies.plan_file import PlanRow


@dataclass
class Bracket:
    """One plan row being executed."""

    row: PlanRow
    data: Any
    qty: float
    placed: dt.date
    entry: bt.Order | None = None
    exits: list[bt.Order] = field(default_factory=list)
    closing: bt.Order | None = None
    sessions: set[dt.date] = field(default_factory=set)  # sessions seen after the placement
    state: str = "working"  # working -> open -> (expiring -> closing) -> done
    exit_reason: str = ""
    ambiguous: bool = False
    held: float = 0.0  # carried from the previous day's run: shares its entry filled


def working_ids(bracket: Bracket) -> dict[str, str]:
    """The client order ids of `bracket`'s live orders by role (a resume looks up their fills)."""
    roles = {"entry": bracket.entry, "closing": bracket.closing}
    for order in bracket.exits:
        roles["target" if order.exectype == bt.Order.Limit else "stop"] = order
    return {
        role: str(order.info[CLIENT_ID])
        for role, order in roles.items()
        if order is not None and order.alive() and order.info.get(CLIENT_ID)
    }


def date_of(data: Any) -> dt.date:
    return bt.num2date(data.datetime[0]).date()


def bar_of(data: Any, stamp: float, daily: bool) -> int | None:
    """How many bars ago (0, -1, ...) `data`'s bar holding the fill at `stamp` is (a paper
    broker may tell of a fill a bar late); None if not among the last few."""
    for ago in range(0, -min(len(data), 5), -1):
        start = data.datetime[ago]
        if (int(start) == int(stamp)) if daily else start <= stamp:
            return ago
    return None
