"""The fills of a `VenueOptionsDesk`: the venue's word on an order (its state, read back or
handed over as a trade update) applied once, keyed by the cumulative quantity, as one fill per
leg as the backtest books it; the fee is what the venue reports for the order (its FEE
activities naming it)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from parity.errors import BrokerError
from parity.options.chain import session_open
from parity.options.desk import OptionsDesk
from parity.options.orders import OptionFill, OptionOrder
from parity.venues.alpaca.option_calls import REGULATORY_FEES
from parity.venues.types import OrderRejected, OrderSnapshot, VenueUnavailable

if TYPE_CHECKING:
    from parity.venues.alpaca.client import AlpacaStore
    from parity.venues.alpaca.option_chain import VenueChain

log = logging.getLogger("parity.broker")

_FINAL = {"canceled": "cancelled", "expired": "expired", "rejected": "rejected",
          "done_for_day": "expired", "suspended": "cancelled"}  # fmt: skip


class VenueFills(OptionsDesk):
    """The fill booking of `VenueOptionsDesk` (which sets these attributes)."""

    store: AlpacaStore
    chain_source: VenueChain
    journal_batch: Callable[[], AbstractContextManager[Any]]
    _filled: dict[str, float]  # client order id -> cumulative contracts applied
    _notional: dict[str, float]  # client order id -> cumulative premium applied
    _fees_seen: dict[str, int]  # venue order id -> its fee rows applied
    _charged: dict[str, list[str]]  # client order id -> venue ids read for fees
    traded_days: set[dt.date]
    fee_days: set[dt.date]

    def _apply(
        self, order: OptionOrder, snap: OrderSnapshot, price: float | None, qty: float | None
    ) -> None:
        if not order.alive:
            return
        cid = order.client_order_id
        done = self._filled.get(cid, 0.0)
        increment = snap.filled_qty - done
        if increment > 1e-9:
            if price is None or qty is None or abs(qty - increment) > 1e-9:
                average = snap.filled_avg_price or price or 0.0
                price = (average * snap.filled_qty - self._notional.get(cid, 0.0)) / increment
            self._filled[cid] = snap.filled_qty
            self._notional[cid] = self._notional.get(cid, 0.0) + increment * price
            when = snap.filled_at or snap.updated_at or self.now()
            if self.daily:  # a daily replay stamps its bar's label: a fill is in the session
                when = max(when, session_open(self.calendar, when.date()))
            self._executed(order, snap, round(increment), price, when)
        final = _FINAL.get(snap.status)
        if final is not None and order.alive:
            said = None
            if final == "rejected":  # the venue's message, as an equity rejection's
                with contextlib.suppress(BrokerError):
                    said = self.store.rejection_reason(snap.id)
            self._finish(order, final, f"venue: {snap.status}" + (f": {said}" if said else ""))

    def _executed(
        self, order: OptionOrder, snap: OrderSnapshot, filled: int, price: float, when: dt.datetime
    ) -> None:
        """`filled` more at `price` (a single leg: contracts at the premium per share; an mleg
        order: the venue's units at their net price): one fill per leg, as the backtest's."""
        # the venue's charges (commission, regulatory fees): the order's, on its first leg,
        # and a combo's legs' (the venue fills each leg as an order of its own)
        charges = self._venue_charges(order, snap.id)
        spot = float(self._data.open[0])  # the venue fills at its step's quote: the bar's open
        if len(order.legs) == 1:
            ratio = order.legs[0].ratio
            units, prices = filled // abs(ratio), {order.legs[0].contract.symbol: price}
            net = ratio * price
        else:  # the venue's units are the desk's x the ratios' common factor
            unit = math.gcd(*(abs(leg.ratio) for leg in order.legs))
            units = filled // unit
            prices = {leg.symbol: leg.filled_avg_price or 0.0 for leg in snap.legs}
            net = price * unit
        with self.journal_batch():
            fills = self._leg_fills(order, prices, units, charges, when)
            self._book_fills(order, when, spot, fills, net, units)

    def _leg_fills(
        self,
        order: OptionOrder,
        prices: dict[str, float],
        units: int,
        charges: dict[str, tuple[float, float]],
        when: dt.datetime,
    ) -> list[OptionFill]:
        spot = float(self._data.open[0])
        fills: list[OptionFill] = []
        for i, leg in enumerate(order.legs, 1):
            n, m = leg.ratio * units, leg.contract.multiplier
            leg_price = prices.get(leg.contract.symbol, 0.0)
            seen = self.chain_source.last.get(leg.contract.symbol)
            touch = (seen.ask if n > 0 else seen.bid) if seen is not None else leg_price
            mid = (seen.bid + seen.ask) / 2 if seen is not None else leg_price
            commission, fees = charges.get(leg.contract.symbol, (0.0, 0.0))
            fills.append(
                OptionFill(
                    when,
                    "trade",
                    order.ref,
                    order.group,
                    i,
                    leg.contract,
                    n,
                    round(leg_price, 6),
                    mid,
                    -n * m * leg_price - commission - fees,
                    abs(n) * m * abs(touch - mid),
                    abs(n) * m * abs(leg_price - touch),
                    commission,
                    fees,
                    underlying_price=spot,
                )
            )
        return fills

    def _book_fills(
        self,
        order: OptionOrder,
        now: dt.datetime,
        spot: float,
        fills: Sequence[OptionFill],
        net: float,
        units: int,
    ) -> None:
        self.traded_days.add(now.date())  # its fees may come as daily rows (`option_settle`)
        self.fee_days.add(now.date())
        super()._book_fills(order, now, spot, fills, net, units)

    def _venue_charges(self, order: OptionOrder, venue_id: str) -> dict[str, tuple[float, float]]:
        """The commission and the regulatory fees (`ORF`, `OCC`, `TAF` FEE activities) the
        venue charged on the order since last read, by the contract charged (a combo's rows
        name the combo and the leg's contract; one naming no leg goes to the first): each
        activity applied once."""
        self._charged.setdefault(order.client_order_id, []).append(venue_id)
        try:
            rows = self.store.order_fee_rows(venue_id)
        except (OrderRejected, VenueUnavailable) as exc:
            log.warning("fees of option order %s could not be read (taken as 0): %s", venue_id, exc)
            return {}
        seen = self._fees_seen.get(venue_id, 0)
        self._fees_seen[venue_id] = len(rows)
        legs = {leg.contract.symbol for leg in order.legs}
        charges: dict[str, tuple[float, float]] = {}
        for name, amount, symbol in rows[seen:]:
            leg = symbol if symbol in legs else order.legs[0].contract.symbol
            commission, fees = charges.get(leg, (0.0, 0.0))
            if name in REGULATORY_FEES:
                charges[leg] = (commission, fees + amount)
            else:
                charges[leg] = (commission + amount, fees)
        return charges
