"""`buy_and_hold`: buy every symbol on its first bar and hold to the end."""

from __future__ import annotations

from parity.strategies.base import ParityStrategy


class BuyAndHold(ParityStrategy):
    """The benchmark every strategy should beat. A rejected entry is retried on the next bar."""

    per_symbol_warmup = True

    def next(self) -> None:
        for data in self.datas:
            if not self.ready(data):
                continue
            if not self.getposition(data).size and not self.has_pending(data):
                self.enter_long(data)
