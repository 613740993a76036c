"""`VenueStore`: a venue's state in one SQLite file, so that the venue a `--venue local` paper run
starts in its own process outlives the run's crash and `--resume` restarts it where it stopped.

The venue saves in the same step it changes state, before it answers the request or sends the
trade updates and bars of that step: whatever a client saw is on disk. Each save is one SQLite
transaction (WAL; `synchronous=NORMAL` survives the death of the process, as the run's journal
does), so a SIGKILL at any moment leaves the last complete state, never half of one. Saves are
incremental: the account row, the orders that changed and the new fills.

The file is created on the first save, built aside and renamed into place: a venue that never
changed state leaves no file, and restarts from its configuration.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from parity.errors import ConfigError, JournalError
from parity.venue.engine import Order

SCHEMA_VERSION = 1
FILE_NAME = "venue.sqlite"
_TIMES = tuple(f.name for f in fields(Order) if f.name.endswith("_at") or f.name == "fillable_from")
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE account (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)",
    "CREATE TABLE orders (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
    "CREATE TABLE fills (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)",
)


@dataclass(frozen=True)
class SavedVenue:
    """A venue's saved state: the replay it belongs to, the account and replay cursor, every
    order (legs included, in the order the venue registered them) and every fill."""

    replay: dict[str, Any]
    account: dict[str, Any]
    orders: list[dict[str, Any]]
    fills: list[dict[str, Any]]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)  # saved with its offset: the same instant on reload


def order_record(order: Order) -> dict[str, Any]:
    """An order as JSON-ready values (legs by id)."""
    record: dict[str, Any] = {f.name: getattr(order, f.name) for f in fields(Order)}
    for name in _TIMES:
        record[name] = _time(record[name])
    record["session_date"] = order.session_date.isoformat() if order.session_date else None
    record["legs"] = [leg.id for leg in order.legs]
    return record


def orders_from_records(records: Iterable[Mapping[str, Any]]) -> dict[str, Order]:
    """Orders by id, in the records' order, legs linked to their parents."""
    orders: dict[str, Order] = {}
    legs: dict[str, list[str]] = {}
    for record in records:
        values = dict(record)
        legs[values["id"]] = list(values.pop("legs"))
        for name in _TIMES:
            values[name] = _parse_time(values[name])
        day = values["session_date"]
        values["session_date"] = date.fromisoformat(day) if day else None
        order = Order(**values)
        orders[order.id] = order
    for order_id, leg_ids in legs.items():
        orders[order_id].legs = [orders[leg] for leg in leg_ids]
    return orders


class VenueStore:
    """The venue state file at `path` (a run's `venue.sqlite`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._written: dict[str, int] = {}  # order id -> hash of the body last written
        self._fills = 0  # fills already written

    @classmethod
    def for_run(cls, run_dir: Path, *, resume: bool) -> VenueStore:
        """The store of the run in `run_dir`; a new run refuses a directory that holds one."""
        store = cls(run_dir / FILE_NAME)
        if not resume and store.exists():
            raise ConfigError(
                f"{store.path} already holds a venue's state; resume that run with --resume "
                f"{run_dir.name} or pick another --run-id"
            )
        return store

    def exists(self) -> bool:
        return self.path.exists()

    # ----------------------------------------------------------------- read
    def load(self) -> SavedVenue | None:
        """The saved state; `None` when the venue never saved one (no file, or a file whose
        first save never committed)."""
        if not self.path.exists():
            return None
        try:
            conn = sqlite3.connect(self.path)
            try:
                saved = self._read(conn)
            finally:
                conn.close()
        except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
            raise JournalError(
                f"venue state {self.path} is unreadable ({exc}); parity leaves it untouched"
            ) from None
        if saved is not None:  # what is on disk now needs no rewriting
            self._written = {o["id"]: hash(json.dumps(o, sort_keys=True)) for o in saved.orders}
            self._fills = len(saved.fills)
        return saved

    def _read(self, conn: sqlite3.Connection) -> SavedVenue | None:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        version = int(meta.get("version", 0))
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema version {version}, this parity reads {SCHEMA_VERSION}")
        row = conn.execute("SELECT body FROM account WHERE id = 1").fetchone()
        if row is None:
            return None
        orders = [json.loads(b) for (b,) in conn.execute("SELECT body FROM orders ORDER BY seq")]
        fills = [json.loads(b) for (b,) in conn.execute("SELECT body FROM fills ORDER BY seq")]
        return SavedVenue(json.loads(meta["replay"]), json.loads(row[0]), orders, fills)

    # ----------------------------------------------------------------- write
    def save(
        self,
        *,
        replay: Mapping[str, Any],
        account: Mapping[str, Any],
        orders: Iterable[Order],
        fills: list[dict[str, Any]],
    ) -> None:
        """One transaction: the account row, each of `orders` that changed since it was last
        written, and the fills not written yet."""
        conn = self._connect(replay)
        changed = []
        for order in orders:
            body = json.dumps(order_record(order), sort_keys=True)
            if self._written.get(order.id) != hash(body):
                changed.append((order.id, body))
        with conn:
            conn.execute(
                "INSERT INTO account (id, body) VALUES (1, ?) "
                "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                (json.dumps(dict(account)),),
            )
            conn.executemany(
                "INSERT INTO orders (id, body) VALUES (?, ?) "
                "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                changed,
            )
            conn.executemany(
                "INSERT INTO fills (body) VALUES (?)",
                [(json.dumps(f),) for f in fills[self._fills :]],
            )
        self._written.update((order_id, hash(body)) for order_id, body in changed)
        self._fills = len(fills)

    def _connect(self, replay: Mapping[str, Any]) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.exists():
                self._create(replay)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.isolation_level = "DEFERRED"
            self._conn = conn
        return self._conn

    def _create(self, replay: Mapping[str, Any]) -> None:
        """Schema and metadata built aside, then renamed into place (atomic)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        aside = self.path.with_name(self.path.name + ".new")
        aside.unlink(missing_ok=True)
        conn = sqlite3.connect(aside, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("version", str(SCHEMA_VERSION)), ("replay", json.dumps(dict(replay)))],
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        os.replace(aside, self.path)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
