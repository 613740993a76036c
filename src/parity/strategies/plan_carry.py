"""A plan's open brackets carried from one day's paper run to the next (`run paper --continue`),
and past a crash (`run paper --resume`).

A continued run is the same run on a later day: cash and positions come from the venue and the
journal, but the brackets still working when the previous day stopped live in the strategy (and
their orders were cancelled when that run stopped cleanly). `carry` writes them as JSON-ready
values; `restore` reads them back. The continued run re-processes the previous day's last bar
live and sends the carried orders on it, so they work from the next bar on, exactly as the
orders of one uninterrupted run would.

A resumed run takes the state of the last bar fully processed before the crash, whose orders
the resume cancelled at the venue; `settle` first applies what the venue filled of them since
(the bar after it was matched while the run was down, or while it processed that bar): an
entry filled makes the bracket open, an exit filled (the venue cancelled its other leg) or the
expiry's sale filled ends it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, cast

from parity.errors import ConfigError
from parity.strategies.plan_file import PlanRow

# bracket states a continued run goes on with ("done" ones are finished)
CARRIED_STATES = ("working", "open", "expiring", "closing")


@dataclasses.dataclass(frozen=True)
class CarriedBracket:
    """One bracket still alive when the previous day's run stopped."""

    row: PlanRow
    qty: float
    placed: dt.date
    sessions: tuple[dt.date, ...]
    state: str
    held: float  # shares the entry filled (positive)
    # its working orders' client order ids by role: entry, stop, target, closing
    orders: dict[str, str] = dataclasses.field(default_factory=dict)
    exit_reason: str = ""  # settled: "target" or "stop" filled while the run was down

    def record(self) -> dict[str, Any]:
        return {
            "row": self.row.record(),
            "qty": self.qty,
            "placed": self.placed.isoformat(),
            "sessions": [d.isoformat() for d in sorted(self.sessions)],
            "state": self.state,
            "held": self.held,
            "orders": dict(self.orders),
        }


def row_from_record(record: Mapping[str, Any]) -> PlanRow:
    """The `PlanRow` whose `record()` is `record`."""
    values = dict(record)
    values["date"] = dt.date.fromisoformat(str(values["date"]))
    until = values.get("valid_until")
    values["valid_until"] = dt.date.fromisoformat(str(until)) if until else None
    values["side"] = cast(Literal["long", "short"], values["side"])
    return PlanRow(**values)


def carry(
    brackets: Iterable[CarriedBracket],
    first_dates: Mapping[str, dt.date],
    ambiguous_exits: int,
    *,
    plan: str = "",
    cursor: int = 0,
) -> dict[str, Any]:
    """The plan strategy's state for the next day's run (or a resumed one): `cursor` rows of
    the plan whose digest is `plan` were placed or skipped."""
    alive = list(brackets)
    return {
        "brackets": [b.record() for b in alive],
        "first_dates": {s: d.isoformat() for s, d in first_dates.items()},
        "ambiguous_exits": ambiguous_exits,
        "plan": plan,
        "cursor": cursor,
        "orders": sorted({cid for b in alive for cid in b.orders.values()}),
    }


def settle(carried: Iterable[CarriedBracket], filled: Mapping[str, float]) -> list[CarriedBracket]:
    """`carried` after the fills `filled` (client order id -> quantity filled in all) of their
    orders: an entry filled beyond `held` opens the bracket (its exits are sent as an oco
    pair), an exit filled ends it (`done`, its reason kept), the expiry's sale filled ends it."""
    out = []
    for item in carried:
        got = {role: float(filled.get(cid, 0.0)) for role, cid in item.orders.items()}
        for role in ("target", "stop"):
            if got.get(role, 0.0) > 0:
                item = dataclasses.replace(item, state="done", exit_reason=role)
        if item.state != "done" and got.get("closing", 0.0) > 0:
            item = dataclasses.replace(item, state="done", exit_reason="expiry")
        entry = got.get("entry", 0.0)
        if item.state in ("working", "open") and entry > item.held + 1e-9:
            item = dataclasses.replace(item, state="open", held=entry)
        out.append(item)
    return out


def restore(state: Mapping[str, Any], symbols: Iterable[str]) -> list[CarriedBracket]:
    """The carried brackets of `state`; one-line error when a bracket's symbol is not traded."""
    known = set(symbols)
    carried = []
    for item in state.get("brackets", ()):
        row = row_from_record(item["row"])
        if row.symbol not in known:
            raise ConfigError(
                f"the run being continued holds an open bracket in {row.symbol} (plan line "
                f"{row.line}); continue it with {row.symbol} among --symbols"
            )
        if item["state"] not in CARRIED_STATES:  # (a "done" one is never carried)
            raise ConfigError(f"carried bracket state {item['state']!r} is not one of "
                              f"{', '.join(CARRIED_STATES)}; the journal is damaged")  # fmt: skip
        carried.append(
            CarriedBracket(
                row=row,
                qty=float(item["qty"]),
                placed=dt.date.fromisoformat(item["placed"]),
                sessions=tuple(dt.date.fromisoformat(d) for d in item["sessions"]),
                state=str(item["state"]),
                held=float(item["held"]),
                orders={str(k): str(v) for k, v in (item.get("orders") or {}).items()},
            )
        )
    return carried


def first_dates_of(state: Mapping[str, Any]) -> dict[str, dt.date]:
    return {s: dt.date.fromisoformat(d) for s, d in (state.get("first_dates") or {}).items()}


def plan_digest(path: str) -> str:
    """The plan file's SHA-256: a run going on with the same plan (resumed, or continued on a
    day without a new one) places none of its rows twice."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
