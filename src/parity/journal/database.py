"""Where a journal lives and how it is opened: a SQLite file (WAL) or a database URL.

`PARITY_DB_URL` (e.g. `postgresql+psycopg://user@127.0.0.1:5432/parity`) puts every run in one
database; without it each run has `RUNS_DIR/RUN_ID/journal.sqlite`. Opening never overwrites:
`create=True` refuses an existing file that holds a run, `create=False` refuses a missing one,
and a file that is not a journal, or a journal of a newer schema, is a one-line `JournalError`.

Creating is atomic: a run's journal file is built aside and linked into place whole (schema and
version), and a database's schema is created in one transaction, so a process killed while
creating it leaves no journal or a complete one. A journal that holds no run yet (the process
died before recording it) is taken again by `create=True`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from parity.errors import JournalError
from parity.journal.migrate import migrate
from parity.journal.schema import SCHEMA_VERSION, Base, Run, SchemaInfo
from parity.processes import process_alive

ENV_DB_URL = "PARITY_DB_URL"
JOURNAL_FILE = "journal.sqlite"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def run_journal_target(run_dir: Path, env: dict[str, str] | None = None) -> str | Path:
    """`PARITY_DB_URL` if set, else the run directory's `journal.sqlite`."""
    url = (env if env is not None else os.environ).get(ENV_DB_URL, "").strip()
    return url or Path(run_dir) / JOURNAL_FILE


@dataclass(frozen=True)
class Target:
    """A resolved journal location: the URL, a label for messages, the file if it is one, and
    whether it is a database shared by many runs (a URL) rather than one run's own file."""

    url: str
    label: str
    path: Path | None
    shared: bool = False

    @classmethod
    def of(cls, url_or_path: str | Path) -> Target:
        text = str(url_or_path)
        if "://" in text:
            try:
                url = sa.engine.make_url(text)
            except (sa.exc.ArgumentError, ValueError):
                raise JournalError(
                    f"{ENV_DB_URL} {text!r} is not a database URL; use e.g. "
                    "postgresql+psycopg://user@127.0.0.1:5432/parity"
                ) from None
            if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
                return cls(text, url.render_as_string(hide_password=True), None, shared=True)
            path = Path(url.database).expanduser().resolve()
            return cls(f"sqlite:///{path}", str(path), path, shared=True)
        path = Path(text).expanduser().resolve()
        return cls(f"sqlite:///{path}", str(path), path)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()


def make_engine(target: Target) -> Engine:
    """An engine with `pool_pre_ping`; SQLite connections get WAL, NORMAL sync, foreign keys."""
    if target.path is None:
        return sa.create_engine(target.url, pool_pre_ping=True)
    engine = sa.create_engine(
        target.url,
        pool_pre_ping=True,
        connect_args={"check_same_thread": False, "timeout": 10.0},
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def check_file(target: Target, *, create: bool) -> None:
    """Refuse to overwrite a run's journal file, to open a missing one, or to read a non-SQLite
    file. A shared database (given as a URL) holds many runs: `create` may open it again."""
    path = target.path
    if path is None:
        return
    exists = _holds_data(path)
    if create and exists and not target.shared:
        raise _exists(path)
    if not create and not exists:
        raise JournalError(
            f"journal {path} not found: nothing to read or resume (check the run directory, "
            "or start a new run)"
        )
    if exists and path.stat().st_size > 0:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
        if head != _SQLITE_MAGIC:
            raise _corrupt(target, "not an SQLite database")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)


def _exists(path: Path) -> JournalError:
    return JournalError(
        f"journal {path} already exists and holds data; parity never overwrites a journal "
        "(use a new run id or directory, or open it without create)"
    )


def _holds_data(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return path.is_file() and (
        path.stat().st_size > 0 or (wal.is_file() and wal.stat().st_size > 0)
    )


def _remove_sqlite(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm", path.name + "-journal"):
        with contextlib.suppress(FileNotFoundError):
            (path.parent / name).unlink()


def create_file(target: Target) -> None:
    """Make the journal file of one run, atomically: built aside (schema and version) and
    linked into place whole. An existing journal that holds no run (its process died before
    recording it) is kept and completed; one that holds a run is refused."""
    path = target.path
    assert path is not None and not target.shared
    if path.parent.is_dir():
        _remove_stale_partials(path)
    if _holds_data(path):
        if not _reusable(target):
            raise _exists(path)
        engine = make_engine(target)
        try:
            prepare_schema(engine, target, create=True)  # what its creator did not finish
        finally:
            engine.dispose()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():  # an empty file (a creator killed before it wrote a byte): no data
        _remove_sqlite(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    _remove_sqlite(partial)
    engine = make_engine(Target(f"sqlite:///{partial}", str(partial), partial))
    try:
        prepare_schema(engine, target, create=True)
    finally:
        engine.dispose()  # the last connection closing checkpoints the WAL into the file
    try:
        os.link(partial, path)  # never replaces a journal created meanwhile
    except FileExistsError:
        raise _exists(path) from None
    finally:
        _remove_sqlite(partial)


def _remove_stale_partials(path: Path) -> None:
    """Remove what a killed creator left aside, before or after it linked the journal."""
    for stale in path.parent.glob(f".{path.name}.*.partial"):
        pid = stale.name.split(".")[-2]
        if pid.isdigit() and not process_alive(int(pid)):
            _remove_sqlite(stale)


def _reusable(target: Target) -> bool:
    """A parity journal that holds no run (its process died before recording one): only
    parity's own tables, maybe not all of them, and maybe no schema version yet."""
    assert target.path is not None
    with target.path.open("rb") as handle:
        if handle.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            return False
    engine = make_engine(target)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        return tables <= set(Base.metadata.tables) and not _has_runs(engine)
    except sa.exc.DatabaseError:
        return False
    finally:
        engine.dispose()


def _corrupt(target: Target, why: str) -> JournalError:
    return JournalError(
        f"journal {target.label} is unreadable ({why}); parity leaves it untouched: restore it "
        "from a backup, or start a new run elsewhere"
    )


def prepare_schema(engine: Engine, target: Target, *, create: bool) -> None:
    """Create the tables (`create`) or check they exist; refuse a newer schema version."""
    try:
        if create:
            with engine.begin() as conn:  # one transaction (PostgreSQL's DDL is transactional)
                Base.metadata.create_all(conn)
                found = conn.execute(
                    sa.select(SchemaInfo.value).where(SchemaInfo.key == "schema_version")
                ).scalar()
                if found is None:
                    conn.execute(
                        sa.insert(SchemaInfo).values(
                            key="schema_version", value=str(SCHEMA_VERSION)
                        )
                    )
        _check_version(engine, target)
        migrate(engine)  # an older journal: brought up to this version (rows kept as written)
    except sa.exc.DatabaseError as exc:
        detail = (str(exc.orig) if exc.orig else str(exc)).strip().splitlines()[0]
        if target.path is None and isinstance(exc, sa.exc.OperationalError):
            raise JournalError(
                f"cannot reach journal database {target.label} ({detail}); check {ENV_DB_URL} "
                "and that the server is running"
            ) from None
        raise _corrupt(target, detail) from None


def _check_version(engine: Engine, target: Target) -> None:
    if not sa.inspect(engine).has_table(SchemaInfo.__tablename__):
        raise JournalError(
            f"{target.label} is not a parity journal (no schema_info table); point parity at "
            "a run's journal.sqlite or at a database parity created"
        )
    with engine.connect() as conn:
        text = conn.execute(
            sa.select(SchemaInfo.value).where(SchemaInfo.key == "schema_version")
        ).scalar()
    try:
        version = int(text or 0)
    except ValueError:
        version = -1
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"journal {target.label} has schema version {version}, newer than this parity "
            f"reads ({SCHEMA_VERSION}); upgrade parity (pip install -U parity) to open it"
        )
    if text is None and not _has_runs(engine):
        raise JournalError(
            f"journal {target.label} was never completed (its run stopped while creating it) "
            "and holds no run: start the run again with the same --run-id"
        )
    if version < 1:
        raise _corrupt(target, f"bad schema version {text!r}")


def _has_runs(engine: Engine) -> bool:
    if not sa.inspect(engine).has_table(Run.__tablename__):
        return False
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(sa.func.count()).select_from(Run)).scalar())
