"""The options desk's book as journal events (`option_book`), so that `--resume` rebuilds it.

`OptionBookJournal` listens to a paper run's desk after the run's `OptionRecorder` (which
journals the orders and fills every artifact reads) and journals what rebuilding the desk takes
and no table holds: each order as the desk made it (legs, ratios, group, tag, limits), each fill
and settlement with every figure of the desk's `OptionFill` (unrounded: the rebuilt book sums
to the cent as the original), the desk's venue bookkeeping (cumulative quantity and notional
applied per client order id, fee rows seen), the recorder's records of open orders, and each
session's Greeks row and marks.

Each desk event is one `option_book` row, committed with the recorder's rows of the same fill
or settlement in one transaction (`Journal.atomic`, set as the desk's `journal_batch`): after a
crash a fill is journaled with all its legs or not at all, and what is not journaled is read
from the venue again on resume (`runners.option_resume`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import backtrader as bt
import pandas as pd

from parity.analyzers.option_journal import OptionRecorder
from parity.options.contracts import OptionContract
from parity.options.orders import AccountFee, OptionFill, OptionOrder

BOOK_EVENT = "option_book"


def fill_payload(fill: OptionFill) -> dict[str, Any]:
    """Every figure of `fill`, unrounded (JSON keeps a float exactly)."""
    return {
        "time": fill.time.isoformat(),
        "kind": fill.kind,
        "order": fill.order,
        "group": fill.group,
        "leg": fill.leg,
        "symbol": fill.contract.symbol,
        "qty": fill.qty,
        "price": fill.price,
        "mid": fill.mid,
        "cash": fill.cash,
        "spread_cost": fill.spread_cost,
        "slippage_cost": fill.slippage_cost,
        "commission": fill.commission,
        "fees": fill.fees,
        "shares": fill.shares,
        "underlying_price": fill.underlying_price,
    }


def fill_of(payload: Mapping[str, Any], contract: OptionContract) -> OptionFill:
    return OptionFill(
        dt.datetime.fromisoformat(str(payload["time"])),
        payload["kind"],
        int(payload["order"]),
        int(payload["group"]),
        int(payload["leg"]),
        contract,
        int(payload["qty"]),
        float(payload["price"]),
        float(payload["mid"]),
        float(payload["cash"]),
        float(payload["spread_cost"]),
        float(payload["slippage_cost"]),
        float(payload["commission"]),
        float(payload["fees"]),
        shares=float(payload["shares"]),
        underlying_price=float(payload["underlying_price"]),
    )


class OptionBookJournal:
    """A `DeskListener` journaling the desk's events as `option_book` rows (see the module)."""

    def __init__(self, desk: Any, recorder: OptionRecorder, journal: Any) -> None:
        self.desk = desk
        self.recorder = recorder
        self.journal = journal

    def _records(self, order: OptionOrder) -> dict[str, dict[str, Any]]:
        found = self.recorder._cids.get(order.ref)
        if found is None:
            return {}
        cid, _, legs, _ = found
        return {c: dict(self.recorder.orders[c]) for c in (cid, *legs) if c in self.recorder.orders}

    def _event(self, payload: dict[str, Any]) -> None:
        self.journal.event(BOOK_EVENT, payload)

    def submitted(self, order: OptionOrder) -> None:
        cid, number, legs, symbols = self.recorder._cids[order.ref]
        self._event(
            {
                "op": "submitted",
                "ref": order.ref,
                "group": order.group,
                "legs": [[leg.contract.symbol, leg.ratio] for leg in order.legs],
                "qty": order.qty,
                "created": order.created.isoformat(),
                "credit": order.credit,
                "debit": order.debit,
                "tif": order.tif,
                "tag": order.tag,
                "side": order.side,
                "cids": [cid, number, list(legs), list(symbols)],
                "records": self._records(order),
                "multipliers": {leg.contract.symbol: leg.contract.multiplier for leg in order.legs},
            }
        )

    def filled(self, order: OptionOrder, fills: Sequence[OptionFill]) -> None:
        cid = order.client_order_id
        group = self.desk.book.groups[order.group]
        venue_id = self.desk._venue_ids.get(cid)
        self._event(
            {
                "op": "filled",
                "ref": order.ref,
                "cid": cid,
                "fills": [fill_payload(f) for f in fills],
                "filled": order.filled,
                "net": order.net,
                "filled_at": None if order.filled_at is None else order.filled_at.isoformat(),
                "entry": [group.entry_net, group.contracts, group.opened.isoformat()],
                "venue": {
                    "id": venue_id,
                    "filled": self.desk._filled.get(cid, 0.0),
                    "notional": self.desk._notional.get(cid, 0.0),
                    "fees_seen": self.desk._fees_seen.get(venue_id, 0) if venue_id else 0,
                    "fee_rows": {
                        v: self.desk._fees_seen.get(v, 0) for v in self.desk._charged.get(cid, [])
                    },
                },
                "records": self._records(order),
            }
        )

    def finished(self, order: OptionOrder) -> None:
        self._event(
            {"op": "finished", "ref": order.ref, "status": order.status, "reason": order.reason}
        )

    def settled(self, event: OptionFill) -> None:
        self._event({"op": "settled", "fill": fill_payload(event)})

    def fee_charged(self, fee: AccountFee) -> None:
        self._event({"op": "fee", "fee": fee.payload()})

    def marked(
        self,
        row: Mapping[str, Any],
        marks: Mapping[str, float],
        positions: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self._event(
            {
                "op": "marked",
                "row": _stamped(row),
                "marks": dict(marks),
                "positions": [_stamped(p) for p in positions],
            }
        )


def _stamped(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}


class OptionBook(bt.Analyzer):
    """Journals the desk's book (`OptionBookJournal`, after the run's `Recorder`: add it after
    that analyzer) and makes each fill and settlement one transaction; `restore` (a resumed
    run's `runners.option_resume.restore_desk`) rebuilds the desk before the first bar."""

    params = (("journal", None), ("restore", None))

    def __init__(self) -> None:
        desk = self.strategy.broker.options
        recorder = next(x for x in desk._listeners if isinstance(x, OptionRecorder))
        desk.listen(OptionBookJournal(desk, recorder, self.p.journal))
        desk.journal_batch = self.p.journal.atomic
        self._desk, self._recorder = desk, recorder

    def start(self) -> None:
        if self.p.restore is not None:
            self.p.restore(self._desk, self._recorder, self.strategy)
