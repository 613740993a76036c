"""`Recorder`: the one analyzer a parity run needs. It keeps per-bar equity and cash in plain arrays
and every order and fill as they are notified; all metrics are computed once at the end from these
arrays (stacking Backtrader's own analyzers costs +77 % run time).

Given a `journal` (an `OrderJournal`), it also writes everything it sees to the run journal:
equity in batches of `batch` bars (the journal's `executemany`), and per bar with positions when
`live` (a paper run: flushed and heart-beaten on every bar); order intents, order states (as the
strategy saw them) and fills as they are notified (an intent or fill a live broker journaled
already is not written again). The run artifacts are exported from there.

Client order ids come from the run's one `OrderIds` (`ids`, shared with a live broker). A `live`
run keeps nothing per bar or per finished order in memory: the journal has it.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from parity.analyzers.lean import LeanAnalyzer
from parity.analyzers.option_journal import OptionRecorder
from parity.journal.codec import bt_datetime, bt_datetimes
from parity.journal.columns import FILL_COLUMNS, ORDER_COLUMNS, placement_dtypes
from parity.journal.hook import (
    OrderJournal,
    fill_bar,
    order_decision,
    order_fields,
    placement_fields,
)
from parity.journal.ids import OrderIds, number_of
from parity.journal.writer import EquityRecord
from parity.timeframe import BT_EPOCH_ORDINAL

__all__ = ["FILL_COLUMNS", "ORDER_COLUMNS", "Recorder", "num2timestamps"]

_REASONS = {
    bt.Order.Margin: "insufficient cash or margin",
    bt.Order.Expired: "expired",
    bt.Order.Canceled: "canceled",
    bt.Order.Rejected: "rejected by broker",
}


def num2timestamps(values: Sequence[float] | np.ndarray, daily: bool) -> pd.DatetimeIndex:
    """Backtrader float-day numbers to naive timestamps (dates if daily, else whole seconds)."""
    days = np.asarray(values, dtype="float64") - BT_EPOCH_ORDINAL
    if daily:
        return pd.to_datetime(np.floor(days), unit="D")
    seconds = np.round(days * 86400.0)
    return pd.to_datetime(seconds, unit="s")


class Recorder(LeanAnalyzer):
    """Records equity, orders and fills. `progress(done)` is called every `progress_every` bars."""

    params = (
        ("id_prefix", "run"),
        ("progress", None),
        ("progress_every", 0),
        ("journal", None),  # an OrderJournal, or None to keep everything in memory only
        ("live", False),  # journal every bar with positions, flushed (paper runs)
        ("batch", 5000),  # bars per equity batch written to the journal (backtests)
        ("ids", None),  # the run's OrderIds (shared with a live broker); default: id_prefix's
        # a resumed run: bars up to this time were recorded before the crash (re-read as
        # warm-up, never recorded twice); later ones are numbered on from `first_bar`
        ("skip_through", None),
        ("first_bar", 0),
        # a continued run: bars up to this time have their equity recorded already (the
        # previous day's last bar is processed again, live, and recorded once)
        ("equity_through", None),
    )

    def __init__(self) -> None:
        # array('d'): 8 bytes a bar instead of a boxed float in a list
        self.bar_times = array.array("d")
        self.values = array.array("d")
        self.cash = array.array("d")
        # Backtrader ref -> record (and an option order's client order id -> its record)
        self.orders: dict[Any, dict[str, Any]] = {}
        self.fills: list[dict[str, Any]] = []
        # the strategy's decisions (an order's `decision=`, a `note`): at, symbol, action, payload
        self.decisions: list[dict[str, Any]] = []
        self._progress: Callable[[int], None] | None = self.p.progress
        self._every = int(self.p.progress_every) or 0
        self._next_tick = self._every
        self._journal: OrderJournal | None = self.p.journal
        self._sent = 0  # bars already written to the journal
        # journal when this many bars are recorded (every bar when live; never without one)
        self._journal_at = (1 if self.p.live else int(self.p.batch)) if self._journal else -1
        self._open_orders: dict[str, dict[str, Any]] = {}  # backtest: state not yet journaled
        self._recorded_notifs = 0  # broker notifications recorded at stop()
        self._skip = self.p.skip_through
        self._daily = bool(self._journal.daily) if self._journal is not None else False
        self.ids: OrderIds = self.p.ids or OrderIds(str(self.p.id_prefix))
        # live: every bar and every finished order is journaled at once and not kept here
        self._keep = not (self.p.live and self._journal is not None)
        self._bars = 0  # bars recorded
        # an options desk's orders, fills and events are recorded with the run's own
        desk = getattr(self.strategy.broker, "options", None)
        self.options: OptionRecorder | None = None
        if desk is not None:
            self.options = OptionRecorder(
                desk, self.ids, self._journal, orders=self.orders, fills=self.fills,
                keep=self._keep, live=bool(self.p.live),
            )  # fmt: skip
            desk.listen(self.options)

    def next(self) -> None:
        broker = self.strategy.broker
        stamp = self.strategy.datetime[0]
        if self._skip is not None:
            if bt_datetime(stamp, self._daily) <= self._skip:
                return
            self._skip = None  # bars only move forward: the rest is new
        if self.p.equity_through is not None:
            if bt_datetime(stamp, self._daily) <= self.p.equity_through:
                return
            self.p.equity_through = None
        self._bars += 1
        if not self._keep:
            self._journal_live_bar(stamp, broker.getvalue(), broker.getcash())
        else:
            self.bar_times.append(stamp)
            self.values.append(broker.getvalue())
            self.cash.append(broker.getcash())
            if 0 <= self._journal_at <= len(self.values):
                self._journal_equity()
                self._journal_at = self._sent + int(self.p.batch)
        if self._progress is not None and self._bars >= self._next_tick:
            self._progress(self._bars)
            self._next_tick += self._every

    def stop(self) -> None:
        # notifications Backtrader never delivered: a backtest ends before the order decided
        # on its last bar is notified (a live run delivers it while waiting for the next bar);
        # recorded here, both modes hold the same decisions
        notifs = list(getattr(self.strategy.broker, "notifs", ()))
        for order in notifs:
            self.notify_order(order)
        self._recorded_notifs = len(notifs)
        if self.options is not None:
            self.options.stop()
        if self._journal is not None:
            self._journal_equity()
            for record in list(self._open_orders.values()):  # still open at the end
                self._journal_event(record, record["reason"] or None, None, False)
            self._open_orders.clear()
            self._journal.journal.flush()

    def record_late(self) -> None:
        """Record what the broker notified after the strategy stopped (the graceful stop's
        cancels), as the strategy would have seen it."""
        notifs = list(getattr(self.strategy.broker, "notifs", ()))
        for order in notifs[self._recorded_notifs :]:
            self.notify_order(order)
        self._recorded_notifs = len(notifs)
        if self._journal is not None:
            self._journal.journal.flush()

    def _journal_equity(self) -> None:
        """Equity of the bars not yet journaled, as one batch."""
        assert self._journal is not None
        start, end = self._sent, len(self.values)
        if end <= start:
            return
        times = bt_datetimes(np.frombuffer(self.bar_times)[start:end], self._journal.daily)
        self._journal.journal.equity_arrays(
            int(self.p.first_bar) + start,
            times,
            np.frombuffer(self.values)[start:end],
            np.frombuffer(self.cash)[start:end],
        )
        self._sent = end

    def _journal_live_bar(self, stamp: float, value: float, cash: float) -> None:
        """A paper bar: its equity with positions, flushed at once."""
        assert self._journal is not None
        broker = self.strategy.broker
        positions = {}
        for data in self.strategy.datas:
            size = broker.getposition(data).size
            if size:
                positions[data._name] = float(size)
        bar = self._bars - 1
        record = EquityRecord(
            int(self.p.first_bar) + bar, self._journal.bar_time(stamp), value, cash, positions
        )
        journal = self._journal.journal
        journal.equity([record])
        journal.flush()  # (the run's liveness is the paper runner's `Heartbeat` thread)

    def notify_order(self, order: bt.Order) -> None:
        record = self.orders.get(order.ref)
        if record is None and self._replayed(order):
            return
        if record is None:
            record = self._new_record(order)
            self.orders[order.ref] = record
            if self._journal is not None:
                self._journal.intent(order, durable=bool(self.p.live))
        record["status"] = order.getstatusname().lower()
        reason = order.info.get("reason") or _REASONS.get(order.status)
        recorded_reason = reason if reason and order.status != bt.Order.Completed else None
        if recorded_reason:
            record["reason"] = recorded_reason
        data = order.data
        for bit in order.executed.iterpending():
            commission = (bit.closedcomm or 0.0) + (bit.openedcomm or 0.0)
            fill = {
                "datetime": bit.dt,
                "bar": fill_bar(data, bit.dt),
                "symbol": order.data._name,
                "side": record["side"],
                "qty": abs(bit.size),
                "price": bit.price,
                "commission": commission,
                "order_id": record["order_id"],
                "client_order_id": record["client_order_id"],
                "kind": "trade",
            }
            if self._keep:
                self.fills.append(fill)
            record["filled_qty"] += abs(bit.size)
            record["commission"] += commission
            record["_notional"] += abs(bit.size) * bit.price
            if self._journal is not None:  # (a live broker journaled it already: skipped)
                self._journal.fill(
                    order, qty=abs(bit.size), price=bit.price, commission=commission,
                    cum_qty=record["filled_qty"], stamp=bit.dt, durable=bool(self.p.live),
                )  # fmt: skip
        if record["filled_qty"]:
            record["avg_fill_price"] = record["_notional"] / record["filled_qty"]
        if self._journal is not None:
            self._journal_state(order, record, recorded_reason)
        if not self._keep and not order.alive():
            del self.orders[order.ref]  # final and journaled: nothing more comes for it

    def _replayed(self, order: bt.Order) -> bool:
        """A decision on a bar a resumed run re-reads as warm-up: the broker refused it (it was
        decided before the crash, or not at all), and it is no order of the run."""
        skip = self.p.skip_through
        return skip is not None and bt_datetime(order.created.dt, self._daily) <= skip

    def _journal_state(self, order: bt.Order, record: dict[str, Any], reason: str | None) -> None:
        """The order's state as the strategy sees it. Live: every change, committed. Backtest:
        only the final state of each order (its intermediate states carry nothing a re-run
        would not reproduce, and a backtest can place tens of thousands of orders)."""
        assert self._journal is not None
        live = bool(self.p.live)
        if not live and order.alive():
            self._open_orders[record["client_order_id"]] = record
            return
        self._open_orders.pop(record["client_order_id"], None)
        at = self._journal.bar_time(self.strategy.datetime[0]) if len(self.strategy) else None
        self._journal_event(record, reason if live else record["reason"] or None, at, live)

    def _journal_event(
        self, record: dict[str, Any], reason: str | None, at: Any, durable: bool
    ) -> None:
        assert self._journal is not None
        self._journal.journal.order_event(
            record["client_order_id"],
            record["status"],
            filled_qty=record["filled_qty"],
            avg_price=record["avg_fill_price"],
            reason=reason,
            at=at,
            source="strategy",
            durable=durable,
        )

    def note(self, action: str, order: bt.Order | None, payload: dict[str, Any]) -> None:
        """A decision of the strategy that is no order (`ParityStrategy.note`), about `order`
        if given (its client order id goes in the payload); journaled with the orders'."""
        data = order.data if order is not None else self.strategy.data
        body = dict(payload)
        if order is not None:
            body["client_order_id"] = self.ids.of(order)
        at = bt_datetime(self.strategy.datetime[0], self._daily)
        if self._keep:
            self.decisions.append(
                {"at": at, "symbol": data._name, "action": action, "payload": body}
            )
        if self._journal is not None:
            self._journal.note(at, action, data._name, body)

    def _new_record(self, order: bt.Order) -> dict[str, Any]:
        cid = self.ids.of(order)  # a live broker's (the venue's key) when it sent the order
        placed = placement_fields(order)
        decision = order_decision(order)
        if decision is not None and self._keep:
            self.decisions.append({
                "at": bt_datetime(order.created.dt, self._daily),
                "symbol": order.data._name,
                "action": str(decision.get("reason") or "order"),
                "payload": {"client_order_id": cid, **decision},
            })  # fmt: skip
        return {
            "order_id": number_of(order),
            "client_order_id": cid,
            **order_fields(order),
            "submitted_at": order.created.dt,
            "status": "",
            "reason": "",
            "filled_qty": 0.0,
            "avg_fill_price": None,
            "commission": 0.0,
            "leg": placed["leg"],
            "parent": placed["parent"],
            "_notional": 0.0,
        }

    def get_analysis(self) -> dict[str, Any]:
        return {"bars": self._bars}

    # ---- frames (called once, after the run) -------------------------------------------------

    def equity_frame(self, daily: bool) -> pd.DataFrame:
        index = num2timestamps(np.frombuffer(self.bar_times), daily)
        # one row per strategy bar: several feeds at one timestamp make a single bar, so the
        # index is unique by construction. The arrays are viewed, not copied.
        frame = pd.DataFrame(
            {"value": np.frombuffer(self.values), "cash": np.frombuffer(self.cash)},
            index=index,
            copy=False,
        )
        frame.index.name = "datetime"
        return frame

    def orders_frame(self, daily: bool) -> pd.DataFrame:
        rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.orders.values()]
        frame = pd.DataFrame(rows, columns=ORDER_COLUMNS)
        if len(frame):
            frame["submitted_at"] = num2timestamps(frame["submitted_at"].to_numpy(float), daily)
        return placement_dtypes(frame)

    def fills_frame(self, daily: bool) -> pd.DataFrame:
        frame = pd.DataFrame(self.fills, columns=FILL_COLUMNS)
        if len(frame):
            frame["datetime"] = num2timestamps(frame["datetime"].to_numpy(float), daily)
        return frame
