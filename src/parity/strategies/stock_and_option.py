"""Shares plus one option on them, rolled at expiry: the shape `covered_call` (a call sold
against the shares) and `protective_put` (a put bought under them) share.

With fewer shares than `contracts` x the multiplier, buy them (at the next open). Holding them
with no such option open, trade the option whose delta is nearest the strategy's target,
expiring `min_dte`..`max_dte` days out, at market, and hold it to expiry: out of the money it
expires and another is traded; exercised or assigned, the shares go at the strike and are
bought again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from parity.options.chain import nearest
from parity.strategies.options_base import OptionsStrategy


class StockAndOption(OptionsStrategy):
    """The shared `next`; a subclass names the option (`right`, `moneyness`, bought or sold)
    and its target delta."""

    right: ClassVar[str]
    moneyness: ClassVar[tuple[float, float]]
    buys_option: ClassVar[bool]  # True: a long option is held; False: a short one
    order_tag: ClassVar[str]  # the option orders' tag (the strategy's name)

    def target_delta(self) -> float:
        raise NotImplementedError

    def next(self) -> None:
        cfg = self.cfg
        data = self.options.underlying_data
        if self.has_pending(data) or self.options.pending():
            return
        quotes = self.options.chain(
            right=self.right, dte=(cfg.min_dte, cfg.max_dte), moneyness=self.moneyness
        )
        if not quotes:
            return  # the chain is warming up
        units = cfg.contracts * quotes[0].contract.multiplier
        held = self.getposition(data).size
        if held < units:
            self.buy(data=data, size=units - held)
            return
        sign = 1 if self.buys_option else -1
        if any(q * sign > 0 for q in self.options.positions.values()):
            return  # the option is open
        expiry = min(q.contract.expiry for q in quotes)
        pick = nearest(
            [q for q in quotes if q.contract.expiry == expiry], delta=self.target_delta()
        )
        if pick is not None:
            trade = self.options.buy if self.buys_option else self.options.sell
            trade(pick.contract, cfg.contracts, tag=self.order_tag)

    def notify_combo(self, order: Any) -> None:
        """Nothing to track: positions are read from the desk."""
