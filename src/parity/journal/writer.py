"""`Journal`: the writer. Every run's record of truth goes through it.

Rows are buffered per table and written with the driver's `executemany` in one transaction when
a buffer reaches `batch_size` rows or on `flush()` (a backtest writes an equity row per bar at a
few percent of its run time). What must survive a crash is committed at once: `intent()` (before
the order is sent), `event()`, `start_run()`/`finish_run()`, and anything written with
`durable=True`. Inserts are `ON CONFLICT DO NOTHING`, so a fill or intent written twice (stream
and REST, a replay after a restart, the broker and the recorder) is one row. Thread-safe: feeds
add bars from their threads while the strategy thread writes orders.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from parity.errors import JournalError
from parity.journal.codec import utcnow
from parity.journal.database import (
    Target,
    check_file,
    create_file,
    make_engine,
    prepare_schema,
)
from parity.journal.reader import JournalReader
from parity.journal.schema import (
    RUN_STATUSES,
    Bar,
    Base,
    Decision,
    EquitySnapshot,
    Event,
    Fill,
    OrderEvent,
    OrderIntent,
    Run,
    table_of,
)

# buffered tables, in the order a flush writes them, with the columns the writer fills
_TABLES: dict[str, tuple[type[Base], tuple[str, ...]]] = {
    "order_intents": (
        OrderIntent,
        ("run_id", "client_order_id", "seq", "symbol", "side", "qty", "type", "limit_price",
         "stop_price", "decided_at", "created_at", "leg", "parent", "asset_class", "multiplier"),
    ),
    "order_events": (
        OrderEvent,
        ("run_id", "client_order_id", "source", "event", "status", "filled_qty", "avg_price",
         "reason", "at", "recorded_at"),
    ),
    "fills": (
        Fill,
        ("run_id", "client_order_id", "order_seq", "symbol", "side", "cum_qty", "qty", "price",
         "commission", "at", "bar", "kind", "mid", "spread_cost", "slippage_cost"),
    ),
    "bars": (
        Bar,
        ("run_id", "symbol", "start", "open", "high", "low", "close", "volume", "source",
         "received_at"),
    ),
    "equity": (EquitySnapshot, ("run_id", "bar", "at", "value", "cash", "positions")),
    "equity_arrays": (EquitySnapshot, ("run_id", "bar", "at", "value", "cash")),
    "decisions": (Decision, ("run_id", "at", "symbol", "action", "payload", "created_at")),
    "events": (Event, ("run_id", "kind", "level", "payload", "at")),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class BarRecord:
    """A bar received: `start` is the naive New York bar-start label, `received_at` wall time."""

    symbol: str
    start: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    source: str
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EquityRecord:
    """Equity at one strategy bar (`bar` counts from 0); `positions` maps symbol → qty."""

    bar: int
    at: dt.datetime
    value: float
    cash: float
    positions: dict[str, float] | None = None


class Journal:
    """Writes one run (`start_run` or `resume_run` first) into a journal; `reader` reads it."""

    def __init__(self, engine: Engine, target: Target, *, batch_size: int = 5000) -> None:
        self.engine = engine
        self.target = target
        self.reader = JournalReader(engine, target)
        self.codec = self.reader.codec
        self.batch_size = max(int(batch_size), 1)
        self.run_id: str | None = None
        self._lock = threading.RLock()
        self._buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _TABLES}
        self._sql = {name: self._insert_sql(model, cols) for name, (model, cols) in _TABLES.items()}
        self._closed = False

    @classmethod
    def open(cls, url_or_path: str | Path, *, create: bool, batch_size: int = 5000) -> Journal:
        """Open a journal: a SQLite file path or a database URL. `create=True` makes a new one
        (refusing an existing file that holds a run); `create=False` requires it to exist."""
        target = Target.of(url_or_path)
        if create and target.path is not None and not target.shared:
            create_file(target)  # atomic; then opened like any existing journal
            create = False
        check_file(target, create=create)
        engine = make_engine(target)
        try:
            prepare_schema(engine, target, create=create)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, target, batch_size=batch_size)

    @property
    def label(self) -> str:
        return self.target.label

    @property
    def closed(self) -> bool:
        return self._closed

    def _insert_sql(self, model: type[Base], columns: tuple[str, ...]) -> str:
        table = table_of(model)
        quote = self.engine.dialect.identifier_preparer.quote
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        marks = [
            f"CAST({mark} AS JSON)"
            if self.engine.dialect.name == "postgresql" and isinstance(table.c[c].type, sa.JSON)
            else mark
            for c in columns
        ]
        return (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(marks)}) ON CONFLICT DO NOTHING"
        )

    def _run(self) -> str:
        if self.run_id is None:
            raise JournalError(f"journal {self.label}: no run started (call start_run first)")
        return self.run_id

    # ------------------------------------------------------------------ runs

    def start_run(
        self,
        run_id: str,
        manifest: dict[str, Any],
        mode: str,
        venue: str,
        pid: int | None = None,
        *,
        strategy: str | None = None,
    ) -> None:
        """Record a new run as `running` (committed). A run id already present is refused."""
        name = strategy or str((manifest.get("strategy") or {}).get("name", ""))
        now = utcnow()
        values = {
            "id": run_id,
            "mode": mode,
            "venue": venue,
            "strategy": name,
            "manifest": manifest,
            "status": "running",
            "pid": os.getpid() if pid is None else pid,
            "heartbeat_at": now,
            "created_at": now,
        }
        try:
            with self._lock, self.engine.begin() as conn:
                conn.execute(sa.insert(table_of(Run)).values(**self._jsonable(values)))
        except sa.exc.IntegrityError:
            raise JournalError(
                f"run {run_id!r} is already in journal {self.label}; parity never overwrites a "
                "run (resume it, or start a new run)"
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise self.reader._error("starting the run", exc) from None
        self.run_id = run_id

    @staticmethod
    def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
        values["manifest"] = json.loads(json.dumps(values["manifest"], default=str))
        return values

    def resume_run(self, run_id: str) -> None:
        """Continue writing `run_id` (after a restart): status back to `running`, event logged."""
        info = self.reader.run(run_id)
        self.run_id = run_id
        self._update(status="running", pid=os.getpid(), heartbeat_at=utcnow(), finished_at=None)
        self.event("resumed", {"previous_status": info.status, "previous_pid": info.pid})

    def heartbeat(self) -> None:
        """Mark the run alive now."""
        self._update(heartbeat_at=utcnow())

    def finish_run(self, status: str = "finished") -> None:
        """Flush and mark the run `finished` or `crashed`."""
        if status not in RUN_STATUSES:
            raise ValueError(f"status {status!r} is not one of {RUN_STATUSES}")
        self.flush()
        self._update(status=status, heartbeat_at=utcnow(), finished_at=utcnow())

    def set_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the run's manifest with the final one (written when the run ends)."""
        self._update(manifest=json.loads(json.dumps(manifest, default=str)))

    def _update(self, **values: Any) -> None:
        table = table_of(Run)
        try:
            with self._lock, self.engine.begin() as conn:
                conn.execute(sa.update(table).where(table.c.id == self._run()).values(**values))
        except sa.exc.SQLAlchemyError as exc:
            raise self.reader._error("updating the run", exc) from None

    # ------------------------------------------------------------------ orders and fills

    def intent(
        self,
        client_order_id: str,
        *,
        seq: int,
        symbol: str,
        side: str,
        qty: float,
        type: str,
        limit_price: float | None = None,
        stop_price: float | None = None,
        decided_at: dt.datetime,
        leg: int | None = None,
        parent: str | None = None,
        asset_class: str | None = None,
        multiplier: float | None = None,
        durable: bool = True,
    ) -> None:
        """An order about to be sent. `durable` (default): committed before this returns, so
        a crash after submission can never lose it. A backtest passes `durable=False`.
        `leg` (from 1) and `parent` (a client order id) place it in a combo or under the order
        it exits; `asset_class` and `multiplier` are its instrument's."""
        c = self.codec
        row = (
            self._run(), client_order_id, int(seq), symbol, side, float(qty), type,
            _opt_float(limit_price), _opt_float(stop_price), c.time(decided_at), c.time(utcnow()),
            None if leg is None else int(leg), parent, asset_class, _opt_float(multiplier),
        )  # fmt: skip
        self._add("order_intents", [row], durable)

    def order_event(
        self,
        client_order_id: str,
        status: str,
        *,
        event: str | None = None,
        filled_qty: float = 0.0,
        avg_price: float | None = None,
        reason: str | None = None,
        at: dt.datetime | None = None,
        source: str = "venue",
        durable: bool = False,
    ) -> None:
        """An order's new state (`source`: `strategy` as Backtrader notified it, or `venue`)."""
        c = self.codec
        row = (
            self._run(), client_order_id, source, event or status, status, float(filled_qty),
            _opt_float(avg_price), reason or None, c.time(at), c.time(utcnow()),
        )  # fmt: skip
        self._add("order_events", [row], durable)

    def fill(
        self,
        client_order_id: str,
        *,
        order_seq: int,
        symbol: str,
        side: str,
        cum_qty: float,
        qty: float,
        price: float,
        commission: float,
        at: dt.datetime,
        bar: int | None = None,
        kind: str = "trade",
        mid: float | None = None,
        spread_cost: float | None = None,
        slippage_cost: float | None = None,
        durable: bool = False,
    ) -> None:
        """One execution; `cum_qty` is the order's filled quantity after it. Idempotent: the
        same (order, cum_qty) again is a no-op. `kind`: `trade`, or the option event that
        booked it (`expiry`, `exercise`, `assignment`, `cash_settlement`). An option leg's
        fill also gives its quote's `mid` and the `spread_cost`/`slippage_cost` it paid."""
        row = (
            self._run(), client_order_id, int(order_seq), symbol, side, round(float(cum_qty), 6),
            float(qty), float(price), float(commission), self.codec.time(at),
            None if bar is None else int(bar), kind, _opt_float(mid), _opt_float(spread_cost),
            _opt_float(slippage_cost),
        )  # fmt: skip
        self._add("fills", [row], durable)

    # ------------------------------------------------------------------ bars, equity, events

    def bars(self, rows: Iterable[BarRecord], *, durable: bool = False) -> None:
        """Bars received (the tape)."""
        run, t = self._run(), self.codec.time
        encoded = [
            (run, r.symbol, t(r.start), float(r.open), float(r.high), float(r.low),
             float(r.close), float(r.volume), r.source, t(r.received_at))
            for r in rows
        ]  # fmt: skip
        self._add("bars", encoded, durable)

    def equity(self, rows: Iterable[EquityRecord], *, durable: bool = False) -> None:
        """Equity snapshots."""
        run, c = self._run(), self.codec
        encoded = [
            (run, int(r.bar), c.time(r.at), float(r.value), float(r.cash), c.json(r.positions))
            for r in rows
        ]
        self._add("equity", encoded, durable)

    def equity_arrays(
        self, first_bar: int, at: np.ndarray, value: np.ndarray, cash: np.ndarray
    ) -> None:
        """Equity for consecutive bars from arrays (`at` is `datetime64`): the backtest path."""
        n = len(value)
        if not n:
            return
        run = self._run()
        rows = zip(
            itertools.repeat(run, n),
            range(first_bar, first_bar + n),
            self.codec.times(at),
            np.asarray(value, dtype="float64").tolist(),
            np.asarray(cash, dtype="float64").tolist(),
            strict=True,
        )
        # streamed to the driver, not buffered: a batch of row tuples kept alive would be
        # promoted through the garbage collector's generations and make it rescan the whole
        # Backtrader object graph far more often
        with self._lock:
            pending = self._take()
            self._write([*pending, ("equity_arrays", rows)])

    def decision(
        self,
        at: dt.datetime,
        action: str,
        *,
        symbol: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """A strategy decision (buffered)."""
        c = self.codec
        row = (self._run(), c.time(at), symbol, action, c.json(payload), c.time(utcnow()))
        self._add("decisions", [row], durable=False)

    def event(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        level: str = "info",
        *,
        at: dt.datetime | None = None,
        durable: bool = True,
    ) -> None:
        """A risk event, alert, feed state change, divergence or operator command (committed;
        a backtest's option events and session marks pass `durable=False`)."""
        c = self.codec
        row = (self._run(), kind, level, c.json(payload), c.time(at or utcnow()))
        self._add("events", [row], durable=durable)

    # ------------------------------------------------------------------ buffering

    def _add(self, table: str, rows: list[tuple[Any, ...]], durable: bool) -> None:
        with self._lock:
            if self._closed:
                raise JournalError(f"journal {self.label} is closed; cannot record more")
            buffer = self._buffers[table]
            buffer.extend(rows)
            if durable or len(buffer) >= self.batch_size:
                self._flush_locked()

    def flush(self) -> None:
        """Write every buffered row; when this returns, everything recorded is committed."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        pending = self._take()
        try:
            self._write(pending)
        except BaseException:
            for name, rows in pending:  # nothing recorded is dropped: retried on the next flush
                self._buffers[name][:0] = list(rows)
            raise

    def _take(self) -> list[tuple[str, Iterable[tuple[Any, ...]]]]:
        pending: list[tuple[str, Iterable[tuple[Any, ...]]]] = []
        for name, rows in self._buffers.items():
            if rows:
                pending.append((name, rows))
                self._buffers[name] = []
        return pending

    def _write(self, pending: list[tuple[str, Iterable[tuple[Any, ...]]]]) -> None:
        """Rows of several tables in one transaction, through the driver's `executemany`."""
        if self._closed:
            raise JournalError(f"journal {self.label} is closed; cannot record more")
        if not pending:
            return
        errors = (sa.exc.SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)
        try:
            with self.engine.begin() as conn:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    for name, rows in pending:
                        cursor.executemany(self._sql[name], rows)
                finally:
                    cursor.close()
        except errors as exc:
            raise self.reader._error("writing", exc) from None

    def discard_run_outputs(self) -> None:
        """Forget this run's orders, fills, equity and decisions (buffered and written). Only
        for an attempt the runner re-runs from scratch in the same process (a backtest's
        vectorised pass falling back to bar by bar); never used on recorded live data."""
        run = self._run()
        with self._lock, self.engine.begin() as conn:
            for name in ("order_intents", "order_events", "fills", "equity", "decisions"):
                self._buffers[name] = []
                table = table_of(_TABLES[name][0])
                conn.execute(sa.delete(table).where(table.c.run_id == run))
            # the options desk's events (`option_<kind>`, `options_session`) come again too
            self._buffers["events"] = [r for r in self._buffers["events"] if not _desk(r[1])]
            table = table_of(Event)
            conn.execute(
                sa.delete(table).where(table.c.run_id == run, table.c.kind.like("option%"))
            )

    def close(self) -> None:
        """Flush and release the connections (idempotent)."""
        with self._lock:
            if self._closed:
                return
            try:
                self._flush_locked()
            finally:
                self._closed = True
                self.engine.dispose()


def _desk(kind: str) -> bool:
    """An event the options desk's recorder writes (a re-run writes it again)."""
    return kind.startswith("option")


def _opt_float(value: float | None) -> float | None:
    return None if value is None else float(value)
