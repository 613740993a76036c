"""`AlertEngine`: reads a run's journal incrementally (rows with an id above the last one seen,
per table) and hands them to the rules, the alerts to the dispatcher.

It only reads the journal, so it works on a thread of the paper run (`RunAlerts`) and from
another process watching the same journal file or database alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from parity.alerts.config import AlertConfig
from parity.alerts.dispatch import AlertDispatcher
from parity.alerts.rules import Alert, Rules
from parity.journal.codec import Codec, utcnow
from parity.journal.reader import JournalReader
from parity.journal.schema import (
    EquitySnapshot,
    Event,
    Fill,
    OrderEvent,
    OrderIntent,
    table_of,
)

log = logging.getLogger("parity.alerts")

SKIP_KINDS = frozenset({"alert", "daily_report"})  # our own output is not input
BATCH = 5000


@dataclass
class Cursor:
    """The last row id handled per table."""

    equity: int = 0
    events: int = 0
    order_events: int = 0
    intents: int = 0
    fills: int = 0

    @classmethod
    def at_resume(cls, reader: JournalReader, run_id: str) -> Cursor:
        """Everything journaled before the latest `resumed` event (that restart still alerts;
        what the crashed process journaled was its own business)."""
        ids = {}
        for name, model in _MODELS.items():
            t = table_of(model)
            query = sa.select(sa.func.max(t.c.id)).where(t.c.run_id == run_id)
            if name == "events":
                query = query.where(t.c.kind != "resumed")
            with reader.engine.connect() as conn:
                ids[name] = int(conn.execute(query).scalar() or 0)
        return cls(**ids)


_MODELS = {
    "equity": EquitySnapshot,
    "events": Event,
    "order_events": OrderEvent,
    "intents": OrderIntent,
    "fills": Fill,
}


@dataclass
class AlertEngine:
    """Polls one run's journal; `poll()` once, or `start()` a thread polling every `interval`."""

    reader: JournalReader
    run_id: str
    rules: Rules
    dispatcher: AlertDispatcher
    warm_until: Cursor = field(default_factory=Cursor)
    interval: float = 1.0
    now: Callable[[], dt.datetime] = utcnow
    cursor: Cursor = field(default_factory=Cursor)
    symbols: dict[str, str] = field(default_factory=dict)  # client order id -> symbol
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def poll(self) -> list[Alert]:
        """Read what is new, evaluate, dispatch; the alerts raised (sent or not)."""
        with self._lock:
            alerts = self._read()
            alerts.extend(self.rules.tick(self.now()))
            for alert in alerts:
                self.dispatcher.submit(alert)
            return alerts

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="parity-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as exc:  # a journal hiccup: try again next time, never stop the run
                log.warning("alerts: polling the journal failed (%s); retrying", exc)

    # ------------------------------------------------------------------ reading

    def _rows(self, name: str, columns: tuple[str, ...], **where: Any) -> list[Any]:
        t = table_of(_MODELS[name])
        after = getattr(self.cursor, name)
        query = sa.select(t.c.id, *(t.c[c] for c in columns)).where(
            t.c.run_id == self.run_id, t.c.id > after
        )
        for key, value in where.items():
            query = query.where(t.c[key] == value)
        with self.reader.engine.connect() as conn:
            rows = list(conn.execute(query.order_by(t.c.id).limit(BATCH)))
        if rows:
            setattr(self.cursor, name, int(rows[-1][0]))
        return rows

    def _read(self) -> list[Alert]:
        alerts: list[Alert] = []
        while True:
            got = self._read_batch(alerts)
            if got < BATCH:
                return alerts

    def _read_batch(self, alerts: list[Alert]) -> int:
        warm = self.warm_until
        placed = ("client_order_id", "symbol", "side", "qty", "multiplier", "parent", "leg")
        for _id, cid, symbol, side, qty, multiplier, parent, leg in self._rows("intents", placed):
            self.symbols[cid] = symbol
            self.rules.on_intent(cid, symbol, side, qty, multiplier, parent, leg)
        equity = self._rows("equity", ("at", "value"))
        for row_id, at, value in equity:
            raised = self.rules.on_equity(at, value)
            if row_id > warm.equity:  # older rows only rebuild the peak and the day's base
                alerts.extend(raised)
        orders = self._rows("order_events", ("client_order_id", "status", "reason"))
        for row_id, cid, status, reason in orders:
            if row_id > warm.order_events:
                alerts.extend(self.rules.on_order_event(cid, status, reason, self.symbols.get(cid)))
        executed = ("client_order_id", "cum_qty", "qty", "price", "mid", "spread_cost")
        fills = self._rows("fills", executed)
        for row_id, cid, cum, qty, price, mid, spread in fills:
            if row_id > warm.fills:
                alerts.extend(self.rules.on_fill(cid, cum, qty, price, mid, spread))
        events = self._rows("events", ("kind", "payload", "at"))
        for row_id, kind, payload, at in events:
            if row_id > warm.events and kind not in SKIP_KINDS:
                alerts.extend(self.rules.on_event(kind, Codec.unjson(payload), at))
        return max(len(equity), len(orders), len(fills), len(events))


class RunAlerts:
    """The alerts of one paper run: the engine on a thread, journaling each alert."""

    def __init__(self, engine: AlertEngine, dispatcher: AlertDispatcher) -> None:
        self.engine = engine
        self.dispatcher = dispatcher

    @classmethod
    def start(
        cls,
        config: AlertConfig,
        journal: Any,
        run_id: str,
        *,
        resumed: bool = False,
        interval: float = 1.0,
    ) -> RunAlerts:
        """Watch `journal` (a `Journal` writing `run_id`); alerts are journaled through it."""

        def record(alert: Alert, payload: dict[str, Any]) -> None:
            journal.event("alert", payload, level=alert.severity)

        dispatcher = AlertDispatcher(config, record=record, run_label=run_id)
        warm = Cursor.at_resume(journal.reader, run_id) if resumed else Cursor()
        engine = AlertEngine(
            journal.reader, run_id, Rules(config), dispatcher, warm_until=warm, interval=interval
        )
        dispatcher.delivery.start()
        engine.start()
        if dispatcher.external:
            log.info("alerts to %s", ", ".join(dispatcher.delivery.names))
        return cls(engine, dispatcher)

    def send_report(self, title: str, body: str) -> bool:
        return self.dispatcher.send_report(title, body)

    def finish(self, timeout: float = 5.0) -> None:
        """The run is ending: stop polling, a last poll, and up to `timeout` s to deliver."""
        self.engine.stop()
        try:
            self.engine.poll()
        except Exception as exc:
            log.warning("alerts: the last journal poll failed (%s)", exc)
        self.dispatcher.flush_summary()
        self.dispatcher.delivery.drain(timeout)

    def stop(self) -> None:
        self.engine.stop()
        self.dispatcher.delivery.stop()
