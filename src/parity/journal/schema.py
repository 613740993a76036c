"""The journal's tables as SQLAlchemy 2 declarative models.

One schema serves a per-run SQLite file and a shared PostgreSQL database: every row carries the
`run_id` it belongs to. Times are naive: bar times are America/New_York bar-start labels (the
backtest's convention), wall-clock times (`created_at`, `received_at`, `heartbeat_at`) are UTC.
Bump `SCHEMA_VERSION` on any change; a journal of a newer version is refused, one of an older
version is brought up to date when opened (`parity.journal.migrate`).

Versions: 1, the first; 2, `order_intents` gains `leg`, `parent` (multi-leg combos and bracket
exits), `asset_class` and `multiplier` (the order's instrument); 3, `fills` gains `kind` (`trade`,
or the option event that booked it: `expiry`, `exercise`, `assignment`, `cash_settlement`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 4
RUN_STATUSES = ("running", "finished", "crashed")


class Base(DeclarativeBase):
    """Declarative base of the journal's models (its own metadata, nothing global)."""

    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: DateTime()}


def table_of(model: type[Base]) -> Table:
    """The Core table of a model (typed)."""
    return cast(Table, model.__table__)


def _shared(index: Index) -> Index:
    """An index on a high-volume table, only where a database holds many runs: a per-run
    SQLite file holds one run, and the index would only slow the backtest's inserts."""
    return index.ddl_if(dialect="postgresql")


def _run_fk() -> Mapped[str]:
    return mapped_column(String(128), ForeignKey("runs.id"), nullable=False)


class SchemaInfo(Base):
    """Key/value facts about the journal itself (`schema_version`)."""

    __tablename__ = "schema_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Run(Base):
    """One backtest or paper run."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    venue: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(256))
    manifest: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    pid: Mapped[int | None]
    heartbeat_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class Bar(Base):
    """The tape: every bar received (paper) with its source and arrival time."""

    __tablename__ = "bars"
    __table_args__ = (_shared(Index("ix_bars_run", "run_id", "start")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    symbol: Mapped[str] = mapped_column(String(32))
    start: Mapped[dt.datetime]
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[dt.datetime]


class Decision(Base):
    """A strategy decision (optional; order intents are the decisions that became orders)."""

    __tablename__ = "decisions"
    __table_args__ = (_shared(Index("ix_decisions_run", "run_id")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    at: Mapped[dt.datetime]
    symbol: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]


class OrderIntent(Base):
    """An order as decided, committed before it is sent (`client_order_id` is the venue's key)."""

    __tablename__ = "order_intents"
    __table_args__ = (Index("ix_intents_run", "run_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    client_order_id: Mapped[str] = mapped_column(String(160), unique=True)
    seq: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[float] = mapped_column(Float)
    type: Mapped[str] = mapped_column(String(32))
    limit_price: Mapped[float | None] = mapped_column(Float)
    stop_price: Mapped[float | None] = mapped_column(Float)
    decided_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    # schema 2 (NULL in a journal written before): the order's place in a combo (`leg`, from 1)
    # or under the order it exits (`parent`: that order's client order id), and its instrument
    leg: Mapped[int | None] = mapped_column(Integer)
    parent: Mapped[str | None] = mapped_column(String(160))
    asset_class: Mapped[str | None] = mapped_column(String(16))
    multiplier: Mapped[float | None] = mapped_column(Float)


class OrderEvent(Base):
    """A change of an order's state, as the strategy saw it (`source=strategy`) or as the venue
    reported it (`source=venue`)."""

    __tablename__ = "order_events"
    __table_args__ = (_shared(Index("ix_order_events_run", "run_id", "client_order_id")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    client_order_id: Mapped[str] = mapped_column(String(160))
    source: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    filled_qty: Mapped[float] = mapped_column(Float)
    avg_price: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(512))
    at: Mapped[dt.datetime | None]
    recorded_at: Mapped[dt.datetime]


class Fill(Base):
    """One execution. `cum_qty` (the order's filled quantity after it, to 1e-6) makes it unique:
    the same fill seen again (stream and REST, a replay after a restart) is never a second row."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("run_id", "client_order_id", "cum_qty", name="uq_fills_order_cum"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    client_order_id: Mapped[str] = mapped_column(String(160))
    order_seq: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    cum_qty: Mapped[float] = mapped_column(Float)
    qty: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.datetime]
    bar: Mapped[int | None]
    # schema 3 (NULL, a trade, in a journal written before): what booked it
    kind: Mapped[str | None] = mapped_column(String(16))
    # schema 4 (NULL for an equity fill and in a journal written before): an option leg's
    # quote mid when it filled, and the spread and slippage it paid against it, in cash
    mid: Mapped[float | None] = mapped_column(Float)
    spread_cost: Mapped[float | None] = mapped_column(Float)
    slippage_cost: Mapped[float | None] = mapped_column(Float)


class EquitySnapshot(Base):
    """Equity and cash per strategy bar; `positions` (symbol → qty) where the writer has them."""

    __tablename__ = "equity"
    __table_args__ = (_shared(Index("ix_equity_run", "run_id")),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    bar: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime]
    value: Mapped[float] = mapped_column(Float)
    cash: Mapped[float] = mapped_column(Float)
    positions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Event(Base):
    """Anything else worth keeping: risk events, alerts, feed state, divergence, operator
    commands (`kind`, `level`, a JSON `payload`)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_run", "run_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_fk()
    kind: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[dt.datetime]
