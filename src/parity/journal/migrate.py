"""Bringing a journal written by an older parity up to `SCHEMA_VERSION`, in place, when it is
opened: each step adds what its version introduced (only nullable columns so far, so rows
written before read as NULL there) and records the new version, in one transaction.

Hand-written rather than Alembic: the steps are a few `ADD COLUMN`s that must run wherever a
journal is opened (a per-run SQLite file as well as a shared database), with no migration
environment to ship.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from parity.journal.schema import SCHEMA_VERSION, Fill, OrderIntent, SchemaInfo, table_of

# version reached -> (table model, its columns that version added)
STEPS = {
    2: (OrderIntent, ("leg", "parent", "asset_class", "multiplier")),
    3: (Fill, ("kind",)),
    4: (Fill, ("mid", "spread_cost", "slippage_cost")),
}


def stored_version(conn: Connection) -> int:
    text = conn.execute(
        sa.select(SchemaInfo.value).where(SchemaInfo.key == "schema_version")
    ).scalar()
    return int(text or 0)


def migrate(engine: Engine) -> int:
    """Upgrade the journal to `SCHEMA_VERSION`; returns the version it had (a version the
    caller has checked: 1 up to `SCHEMA_VERSION`)."""
    with engine.begin() as conn:
        found = stored_version(conn)
        if found >= SCHEMA_VERSION:
            return found
        for version in range(found + 1, SCHEMA_VERSION + 1):
            model, names = STEPS[version]
            _add_columns(conn, table_of(model), names)
        conn.execute(
            sa.update(SchemaInfo)
            .where(SchemaInfo.key == "schema_version")
            .values(value=str(SCHEMA_VERSION))
        )
    return found


def _add_columns(conn: Connection, table: sa.Table, names: tuple[str, ...]) -> None:
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    quote = conn.dialect.identifier_preparer.quote
    # PostgreSQL: another run upgrading the shared database at the same moment added it first
    guard = "IF NOT EXISTS " if conn.dialect.name == "postgresql" else ""
    for name in names:
        if name in present:
            continue
        kind = table.c[name].type.compile(dialect=conn.dialect)
        conn.execute(
            sa.text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {guard}{quote(name)} {kind}")
        )
