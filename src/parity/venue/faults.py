"""Fault injection: the runtime state of a `FaultPlan` (count-based REST errors, dropped bars,
stream disconnects, rejected client order ids), extendable while the venue runs."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from parity.venue.clock import MarketCalendar
from parity.venue.config import FaultPlan

REST_ERROR_BODIES: dict[int, tuple[int, str]] = {
    429: (42910000, "rate limit exceeded"),
    500: (50010000, "internal server error"),
    502: (50210000, "bad gateway"),
    503: (50310000, "service unavailable"),
    504: (50410000, "gateway timeout"),
}


def plan_from_json(body: Mapping[str, Any]) -> FaultPlan:
    """A `FaultPlan` from JSON using its field names (lists for tuples)."""
    known = {
        "rest_errors",
        "lost_responses",
        "drop_bars",
        "disconnect_data_after",
        "disconnect_trading_after",
        "reject_orders",
    }
    unknown = set(body) - known
    if unknown:
        raise ValueError(f"unknown fault fields {sorted(unknown)}; use {sorted(known)}")
    return FaultPlan(
        rest_errors=tuple((int(s), int(n)) for s, n in body.get("rest_errors", ())),
        lost_responses=tuple((int(s), int(n)) for s, n in body.get("lost_responses", ())),
        drop_bars=tuple(str(t) for t in body.get("drop_bars", ())),
        disconnect_data_after=tuple(int(n) for n in body.get("disconnect_data_after", ())),
        disconnect_trading_after=tuple(int(n) for n in body.get("disconnect_trading_after", ())),
        reject_orders=tuple(str(c) for c in body.get("reject_orders", ())),
    )


class FaultState:
    """The faults still to inject; `calendar` reads the times of bars to drop."""

    def __init__(self, calendar: MarketCalendar) -> None:
        self.calendar = calendar
        self.rest: deque[list[int]] = deque()  # [status, count, 1 if the request is carried out]
        self.dropped: set[datetime] = set()
        self.disconnect_data: set[int] = set()
        self.disconnect_trading: set[int] = set()
        self.reject_orders: set[str] = set()

    def add(self, plan: FaultPlan) -> None:
        """Queue more faults (REST errors after those already queued)."""
        self.rest.extend([status, count, 0] for status, count in plan.rest_errors if count > 0)
        self.rest.extend([status, count, 1] for status, count in plan.lost_responses if count > 0)
        self.dropped.update(self.calendar.parse_naive(t) for t in plan.drop_bars)
        self.disconnect_data.update(plan.disconnect_data_after)
        self.disconnect_trading.update(plan.disconnect_trading_after)
        self.reject_orders.update(plan.reject_orders)

    def next_rest_error(self) -> tuple[int, bool] | None:
        """The status the next REST request must answer, and whether it is carried out first
        (a lost response), consuming it; `None` = no fault."""
        while self.rest and self.rest[0][1] <= 0:
            self.rest.popleft()
        if not self.rest:
            return None
        entry = self.rest[0]
        entry[1] -= 1
        return entry[0], bool(entry[2])

    def describe(self) -> dict[str, Any]:
        return {
            "rest_errors": [e[:2] for e in self.rest if e[1] > 0 and not e[2]],
            "lost_responses": [e[:2] for e in self.rest if e[1] > 0 and e[2]],
            "drop_bars": sorted(t.isoformat() for t in self.dropped),
            "disconnect_data_after": sorted(self.disconnect_data),
            "disconnect_trading_after": sorted(self.disconnect_trading),
            "reject_orders": sorted(self.reject_orders),
        }
