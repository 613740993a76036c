"""Finding a journaled exit order at the venue when the venue names it by another order's id:
a bracket's legs (by their parent's client order id) and an `oco` pair's stop leg (by the pair's
limit order). Used by `runners.resume.reconcile`."""

from __future__ import annotations

from typing import Any

from parity.venues.protocol import VenueAccount
from parity.venues.types import OrderSnapshot


def bracket_leg(store: VenueAccount, parents: dict[str, OrderSnapshot | None], row: Any) -> Any:
    """The venue's order of a journaled leg (a bracket's or oco pair's exit): the venue names
    a leg by its own id, so it is found among its parent's legs by side and type."""
    if row.parent not in parents:
        parents[row.parent] = store.order_by_client_id(row.parent)
    parent = parents[row.parent]
    if parent is None:
        return None
    for leg in (parent, *parent.legs):
        if leg.client_order_id != row.parent and (leg.side, leg.type) == (row.side, row.type):
            return leg
    return None


def oco_leg(
    store: VenueAccount, parents: dict[str, OrderSnapshot | None], row: Any, partner: Any
) -> OrderSnapshot | None:
    """The stop leg of an `oco` pair, for the journaled stop it was made of: the broker sends the
    stop alone, cancels it unfilled and sends the pair as the limit order journaled next (named
    by the limit's client order id), so a stop filled while the run was down is that pair's leg."""
    if row.type not in ("stop", "stop_limit") or partner is None:
        return None
    if (partner.symbol, partner.side, partner.type) != (row.symbol, row.side, "limit"):
        return None
    if partner.client_order_id not in parents:
        parents[partner.client_order_id] = store.order_by_client_id(partner.client_order_id)
    pair = parents[partner.client_order_id]
    if pair is None or pair.order_class != "oco":
        return None
    for leg in pair.legs:
        if leg.type == row.type and leg.side == row.side and leg.stop_price == row.stop_price:
            return leg
    return None
