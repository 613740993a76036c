"""`OrderIds`: the client order ids of one run, minted once per order from one counter."""

from __future__ import annotations

import backtrader as bt

CLIENT_ID = "client_order_id"  # order.info: the order's client order id
NUMBER = "order_number"  # order.info: its number within the run


class OrderIds:
    """The client order ids of one run: `PREFIX-000001`, `PREFIX-000002`, ... One counter for
    the whole run; an order gets its id once (kept in `order.info`, with its number), whoever
    asks first (the broker before sending it, the `Recorder` for an order never sent).

    Backtrader's own `order.ref` counts across a whole process, so it is not used."""

    def __init__(self, prefix: str, *, next_number: int = 1) -> None:
        """`next_number`: a resumed run's comes from its journal (`next_order_number`)."""
        self.prefix = prefix
        self.next_number = int(next_number)

    def of(self, order: bt.Order) -> str:
        """`order`'s client order id, minted now if it has none yet."""
        cid = order.info.get(CLIENT_ID)
        if cid is None:
            cid, number = self.mint()
            order.addinfo(**{CLIENT_ID: cid, NUMBER: number})
        return str(cid)

    def mint(self) -> tuple[str, int]:
        """A new client order id and its number, for an order that is no Backtrader order (an
        option order of the options desk, an expiry or assignment)."""
        number = self.next_number
        self.next_number += 1
        return f"{self.prefix}-{number:06d}", number


def number_of(order: bt.Order) -> int:
    """The order's number within its run (0 for an order no `OrderIds` named)."""
    return int(order.info.get(NUMBER) or 0)
