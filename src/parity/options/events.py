"""What the options desk tells whoever records it (the run's `Recorder` journals it): the
orders it takes, their fills per leg, their final states, the expiries, exercises and
assignments it settles, and each session's marks and Greeks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from parity.options.orders import AccountFee, OptionFill, OptionOrder


class DeskListener(Protocol):
    def submitted(self, order: OptionOrder) -> None:
        """A new order (before it is checked: a refused one is `finished` at once)."""

    def filled(self, order: OptionOrder, fills: Sequence[OptionFill]) -> None:
        """One execution of `order`: a fill per leg (before its new state is `finished`)."""

    def finished(self, order: OptionOrder) -> None:
        """`order` reached a final state: filled, rejected, cancelled or expired."""

    def settled(self, event: OptionFill) -> None:
        """An expiry, exercise, assignment or cash settlement at a session's close."""

    def fee_charged(self, fee: AccountFee) -> None:
        """A fee the venue charged naming no order (a day's regulatory fee of one type)."""

    def marked(
        self,
        row: Mapping[str, Any],
        marks: Mapping[str, float],
        positions: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """A session's close: the Greeks and exposure row, each open contract's mid, and each
        open position's Greeks (`Book.position_greeks` rows)."""
