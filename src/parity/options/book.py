"""The options book: positions by contract, position groups (one trade per opening combo, with
its legs until they are flat), every fill and lifecycle event, and the frames the run writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from parity.options.contracts import OptionContract
from parity.options.orders import AccountFee, OptionFill, OptionOrder

COSTS = ("spread_cost", "slippage_cost", "commission", "fees")


@dataclass
class Group:
    """One trade: what an opening combo put on, and everything that happened to it."""

    id: int
    opened: dt.datetime
    tag: str
    legs: dict[OptionContract, int] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    cash: float = 0.0  # received (negative: paid), all costs included
    delivered_value: float = 0.0  # shares delivered, valued at the delivering close
    costs: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COSTS, 0.0))
    entry_net: float | None = None  # per unit of the opening order (debit > 0)
    contracts: int = 0  # combo units opened
    closed: dt.datetime | None = None
    outcome: str = "open"

    @property
    def flat(self) -> bool:
        return not any(self.legs.values())

    @property
    def pnl(self) -> float:
        return self.cash + self.delivered_value


@dataclass
class Book:
    positions: dict[OptionContract, int] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    fills: list[OptionFill] = field(default_factory=list)
    orders: list[OptionOrder] = field(default_factory=list)
    marks: dict[OptionContract, float] = field(default_factory=dict)  # last mid per unit
    greeks: list[dict[str, Any]] = field(default_factory=list)
    position_greeks: list[dict[str, Any]] = field(default_factory=list)  # per open contract
    # fees charged naming no order (a venue's daily regulatory fees): rows of their own
    account_fees: list[AccountFee] = field(default_factory=list)

    def group(self, gid: int, when: dt.datetime, tag: str) -> Group:
        found = self.groups.get(gid)
        if found is None:
            found = self.groups[gid] = Group(gid, when, tag)
        return found

    def apply(self, fill: OptionFill) -> None:
        contract = fill.contract
        held = self.positions.get(contract, 0) + fill.qty
        if held:
            self.positions[contract] = held
        else:
            self.positions.pop(contract, None)
            self.marks.pop(contract, None)
        self.fills.append(fill)
        group = self.groups[fill.group]
        group.legs[contract] = group.legs.get(contract, 0) + fill.qty
        if contract.symbol not in group.seen:
            group.seen.append(contract.symbol)
        group.cash += fill.cash
        group.delivered_value += fill.shares * fill.underlying_price
        for name in COSTS:
            group.costs[name] += getattr(fill, name)
        if fill.kind != "trade":
            group.outcome = (
                {
                    "expiry": "expired",
                    "cash_settlement": "settled",
                    "exercise": "exercised",
                    "assignment": "assigned",
                }[fill.kind]
                if group.outcome in ("open", "expired")
                else group.outcome
            )
        if group.flat:
            group.closed = fill.time
            if group.outcome == "open":
                group.outcome = "closed"

    def marked_value(self) -> float:
        return sum(q * c.multiplier * self.marks.get(c, 0.0) for c, q in self.positions.items())

    # ------------------------------------------------------------------ frames
    def orders_frame(self) -> pd.DataFrame:
        rows = [
            {
                "order": o.ref,
                "group": o.group,
                "tag": o.tag,
                "submitted_at": o.created,
                "legs": o.describe_legs(),
                "qty": o.qty,
                "filled": o.filled,
                "type": o.kind,
                "credit": o.credit,
                "debit": o.debit,
                "tif": o.tif,
                "status": o.status,
                "reason": o.reason,
                "filled_at": o.filled_at,
                "net": None if o.net is None else round(o.net, 6),
            }
            for o in self.orders
        ]
        return pd.DataFrame(rows, columns=_ORDER_COLUMNS)

    def fills_frame(self) -> pd.DataFrame:
        rows = [f.row() for f in self.fills]
        if self.account_fees:  # each after the day's fills and events, in time order
            rows = sorted(
                [*rows, *(f.row() for f in self.account_fees)],
                key=lambda r: pd.Timestamp(r["datetime"]),  # type: ignore[arg-type]
            )
        return pd.DataFrame(rows, columns=_FILL_COLUMNS)

    def trades_frame(self) -> pd.DataFrame:
        rows = []
        for g in self.groups.values():
            rows.append(
                {
                    "group": g.id,
                    "tag": g.tag,
                    "opened": g.opened,
                    "closed": g.closed,
                    "legs": " ".join(g.seen),
                    "contracts": g.contracts,
                    "entry_net": g.entry_net,
                    "outcome": g.outcome,
                    "pnl": round(g.pnl, 6),
                    **{k: round(v, 6) for k, v in g.costs.items()},
                }
            )
        return pd.DataFrame(rows, columns=_TRADE_COLUMNS)

    def greeks_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.greeks, columns=_GREEK_COLUMNS)

    def positions_frame(self) -> pd.DataFrame:
        """`options_positions.csv`: each open contract's mark and Greeks at each mark."""
        return pd.DataFrame(self.position_greeks, columns=POSITION_COLUMNS)

    def cost_breakdown(self) -> dict[str, Any]:
        """Totals and per-contract figures of what trading cost (the metrics' `options` entry)."""
        traded = [f for f in self.fills if f.kind == "trade"]
        contracts = sum(abs(f.qty) for f in traded)
        totals = {name: round(sum(getattr(f, name) for f in traded), 2) for name in COSTS}
        total = round(sum(totals.values()), 2)
        per = {
            f"{k}_per_contract": round(v / contracts, 4) if contracts else 0.0
            for k, v in totals.items()
        }
        closed = [g for g in self.groups.values() if g.closed is not None]
        wins = [g for g in closed if g.pnl > 0]
        sessions = len({row["datetime"].date() for row in self.greeks})
        days_traded = len({f.time.date() for f in traded})
        pnl = sum(g.pnl for g in closed)
        return {
            "contracts_traded": contracts,
            "costs": {**totals, "total": total, **per},
            "trades": len(closed),
            "win_rate": round(len(wins) / len(closed), 4) if closed else None,
            "pnl": round(pnl, 2),
            "sessions": sessions,
            "pnl_per_session": round(pnl / sessions, 2) if sessions else None,
            "sessions_traded": round(days_traded / sessions, 4) if sessions else None,
            "events": {
                kind: sum(1 for f in self.fills if f.kind == kind)
                for kind in ("exercise", "assignment", "expiry", "cash_settlement")
            },
        }


POSITION_GREEKS = ("delta", "gamma", "theta", "vega", "rho")
POSITION_COLUMNS = ["datetime", "symbol", "qty", "mark", "value", *POSITION_GREEKS]


def position_rows(
    now: dt.datetime,
    held: Sequence[tuple[OptionContract, int]],
    quotes: Sequence[Any],
    marks: Mapping[OptionContract, float],
) -> list[dict[str, Any]]:
    """One row per open contract: its mark (mid) and value, and its Greeks sized by the
    position (qty x multiplier x the quote's: they add up to the portfolio's, shares aside);
    Greeks are None where the contract has no quote."""
    rows = []
    for (contract, qty), quote in zip(held, quotes, strict=True):
        size = qty * contract.multiplier
        mark = marks.get(contract)
        rows.append(
            {
                "datetime": pd.Timestamp(now),
                "symbol": contract.symbol,
                "qty": qty,
                "mark": None if mark is None else round(mark, 6),
                "value": None if mark is None else round(size * mark, 6),
                **{
                    k: None if quote is None else round(size * getattr(quote, k), 6)
                    for k in POSITION_GREEKS
                },
            }
        )
    return rows


_ORDER_COLUMNS = [
    "order",
    "group",
    "tag",
    "submitted_at",
    "legs",
    "qty",
    "filled",
    "type",
    "credit",
    "debit",
    "tif",
    "status",
    "reason",
    "filled_at",
    "net",
]
_FILL_COLUMNS = [
    "datetime",
    "kind",
    "order",
    "group",
    "leg",
    "symbol",
    "underlying",
    "expiry",
    "strike",
    "right",
    "qty",
    "price",
    "mid",
    "cash",
    "spread_cost",
    "slippage_cost",
    "commission",
    "fees",
    "shares",
    "underlying_price",
]
_TRADE_COLUMNS = [
    "group",
    "tag",
    "opened",
    "closed",
    "legs",
    "contracts",
    "entry_net",
    "outcome",
    "pnl",
    *COSTS,
]
_GREEK_COLUMNS = [
    "datetime",
    "underlying_price",
    "contracts",
    "option_value",
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "shares",
    "requirement",
]
