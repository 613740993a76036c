"""The settlements of a `VenueOptionsDesk`: the account's expiry, exercise and assignment
activities (OPEXP, OPEXC, OPASN, with OPTRD for the shares), each applied once (by its
`group_id`), dated at the expiry's close as the backtest dates them; and Alpaca's daily
regulatory fees (FEE rows naming no order, a day's total per type rounded up to the cent),
each booked once (by its activity id) into cash, as a fee row of its day."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import backtrader as bt

from parity.options.chain import session_close
from parity.options.orders import AccountFee, EventKind, OptionFill
from parity.venues.alpaca.option_calls import daily_fee_rows, option_activities
from parity.venues.alpaca.option_fills import VenueFills
from parity.venues.types import OrderRejected, VenueUnavailable

_SETTLING = {"OPEXP", "OPEXC", "OPASN"}
FEE_PATIENCE = dt.timedelta(days=10)  # a traded day's fees looked for this long after it
log = logging.getLogger("parity.broker")


class VenueSettlements(VenueFills):
    """The settlements of `VenueOptionsDesk` (which sets these attributes)."""

    _settled: set[str]  # activity groups applied (ids when a row has none)
    venue_delivered: set[str]  # groups whose shares the positions adopted at a resume hold
    fees_booked: set[str]  # daily FEE activity ids booked
    traded_days: set[dt.date]  # the days the desk's orders filled (whose fees are its own)
    fee_days: set[dt.date]  # traded days whose daily fee rows have not been seen yet
    fees_read: dt.date | None  # the day the daily fee rows were last read

    def charge_daily_fees(self, rows: Sequence[dict[str, Any]] | None = None) -> int:
        """Book the account's daily regulatory FEE rows (naming no order) of the days this
        desk traded, each once by its id (read from the venue unless given, while a traded
        day's rows are awaited: they come after its close); returns how many were booked.
        The rows of a day the desk did not trade are not this run's; a day whose rows never
        come (Alpaca paper may not charge fees) is given up after `FEE_PATIENCE`."""
        today = self.now().date()
        if rows is None:
            if not self.fee_days or min(self.fee_days) >= today or self.fees_read == today:
                return 0  # a day's rows come after its close: read at most once a day
            after = f"{min(self.fee_days).isoformat()}T00:00:00Z"
            try:
                rows = daily_fee_rows(self.store, after=after)
                self.fees_read = today
            except (OrderRejected, VenueUnavailable) as exc:
                log.warning("daily fee rows could not be read (read again next bar): %s", exc)
                return 0
        booked = 0
        for row in rows:
            key, day = str(row.get("id")), dt.date.fromisoformat(str(row.get("date"))[:10])
            if day not in self.traded_days:
                continue
            self.fee_days.discard(day)
            if key in self.fees_booked:
                continue
            fee = AccountFee(session_close(self.calendar, day), day,
                             str(row.get("activity_sub_type")),
                             -float(row.get("net_amount") or 0.0), key)  # fmt: skip
            with self.journal_batch():
                self.book_fee(fee)
            booked += 1
        for day in [d for d in self.fee_days if today - d > FEE_PATIENCE]:
            # info, not a warning: a venue charging per fill, or none (Alpaca paper may not
            # simulate regulatory fees), never sends daily rows
            log.info("no daily regulatory fee rows of %s came from the venue: none booked", day)
            self.fee_days.discard(day)
        return booked

    def book_fee(self, fee: AccountFee) -> None:
        """Pay `fee` from cash, keep it in the book (a fee row of its day) and tell the
        listeners (the journal)."""
        assert self._account is not None
        self.fees_booked.add(fee.id)
        self._account.move_cash(-fee.amount)
        self.book.account_fees.append(fee)
        for listener in self._listeners:
            listener.fee_charged(fee)

    def settle_activities(self, rows: Sequence[dict[str, Any]] | None = None) -> int:
        """Apply the account's expiry/exercise/assignment activities not applied yet (read from
        the venue unless given); returns how many events were applied."""
        if rows is None:
            if not self.book.positions:
                return 0
            rows = option_activities(self.store)
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            key = str(row.get("group_id") or row.get("id"))
            groups.setdefault(key, []).append(row)
        applied = 0
        for key, members in groups.items():
            if key in self._settled:
                continue
            main = next((r for r in members if r.get("activity_type") in _SETTLING), None)
            if main is None:
                continue
            contract = self.chain_source.contract(str(main["symbol"]))
            if not self.book.positions.get(contract):
                self._settled.add(key)  # not this run's contract (or applied before a resume)
                continue
            trade = next((r for r in members if r.get("activity_type") == "OPTRD"), None)
            with self.journal_batch():
                delivered = key in self.venue_delivered
                applied += self._settle_one(contract, str(main["activity_type"]), trade, delivered)
            self._settled.add(key)
        return applied

    def _settle_one(
        self, contract: Any, kind: str, trade: dict[str, Any] | None, delivered: bool = False
    ) -> int:
        assert self._account is not None
        held = self.book.positions[contract]
        when = session_close(self.calendar, contract.expiry)
        spot = self._close_at(when)
        shares_total = float(trade.get("qty") or 0.0) if trade else 0.0
        cash_total = float(trade.get("net_amount") or 0.0) if trade else 0.0
        count = 0
        for group in list(self.book.groups.values()):
            qty = group.legs.get(contract, 0)
            if not qty:
                continue
            share = qty / held
            event_kind: EventKind
            if kind == "OPEXP" or trade is None:
                event_kind, price, cash, shares = "expiry", 0.0, 0.0, 0.0
            else:
                event_kind = "exercise" if qty > 0 else "assignment"
                price, cash, shares = contract.strike, cash_total * share, shares_total * share
            event = OptionFill(
                when, event_kind, 0, group.id, 0, contract, -qty, price, 0.0, cash, 0.0, 0.0,
                0.0, 0.0, shares=shares, underlying_price=spot,
            )  # fmt: skip
            self._account.move_cash(event.cash)
            if event.shares and not delivered:
                self._account.deliver(self._data, event.shares, contract.strike)
            self.book.apply(event)
            for listener in self._listeners:
                listener.settled(event)
            self._notify_leg(None, event)
            count += 1
        return count

    def _close_at(self, moment: dt.datetime) -> float:
        """The underlying's close of the last bar that started before `moment` (an expiry's
        close read at a later bar), else this bar's."""
        data = self._data
        for back in range(len(data)):
            start = bt.num2date(data.datetime[-back])
            if (start.date() <= moment.date()) if self.daily else start < moment:
                return float(data.close[-back])
        return float(data.close[0])

    def event_stamp(self, event: OptionFill) -> float:
        """An activity is read at a bar after the expiry: it belongs to the expiry session's
        last bar (as the backtest books it), labelled by its start."""
        label = (
            dt.datetime.combine(event.time.date(), dt.time())
            if self.daily
            else event.time - self.bar_period
        )
        return float(bt.date2num(label))
