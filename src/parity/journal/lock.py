"""One writer per run: an exclusive lock held by the process that writes a run's journal.

Beside a SQLite journal it is a file lock (`journal.sqlite.lock`, through `filelock`; the holder's
pid in `journal.sqlite.lock.pid`); on PostgreSQL (`PARITY_DB_URL`) a session advisory lock on a
connection kept open for the run (the holder's pid in that connection's application name). The
operating system or the server frees it when the holder dies, even by SIGKILL. A second writer
gets a one-line `JournalError` naming the holder's pid. Readers (`parity status`, reports, the
dashboard) never take it.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy.pool import NullPool

from parity.errors import JournalError
from parity.journal.database import Target

_APP = "parity-run pid "  # PostgreSQL application_name of a lock's connection: + the pid
_NAMESPACE = 0x70617279  # "pary": the first key of parity's advisory locks


class RunLock:
    """A held lock; `release()` frees it (idempotent). This base holds nothing: a database
    without advisory locks is not locked."""

    def release(self) -> None:
        """Free the lock."""


def lock_run(url_or_path: str | Path, run_id: str) -> RunLock:
    """Take `run_id`'s writer lock for the journal at `url_or_path`, or raise a `JournalError`
    naming the process that holds it."""
    target = Target.of(url_or_path)
    if target.path is not None:
        name = f"{target.path.name}.{run_id}" if target.shared else target.path.name
        return _FileLock.take(target.path.with_name(name + ".lock"), run_id)
    if sa.engine.make_url(target.url).get_backend_name() == "postgresql":
        return _AdvisoryLock.take(target, run_id)
    return RunLock()


def _refusal(run_id: str, pid: str | None) -> JournalError:
    holder = f"process {pid}" if pid else "another process (pid unknown)"
    return JournalError(
        f"run {run_id} is being written by {holder}; one process writes a run at a time: "
        f"stop that process (kill {pid or 'PID'}) or wait for it to end "
        "(parity status reads the run meanwhile)"
    )


class _FileLock(RunLock):
    def __init__(self, lock: FileLock, owner: Path) -> None:
        self._lock = lock
        self._owner = owner

    @classmethod
    def take(cls, path: Path, run_id: str) -> _FileLock:
        owner = path.with_name(path.name + ".pid")
        lock = FileLock(str(path), timeout=0)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:
            try:
                pid = owner.read_text().strip() or None
            except OSError:
                pid = None
            raise _refusal(run_id, pid) from None
        except OSError as exc:
            raise JournalError(
                f"cannot lock run {run_id} ({path}: {exc.strerror or exc}); check the run "
                "directory is writable"
            ) from None
        try:
            tmp = owner.with_name(owner.name + ".tmp")
            tmp.write_text(f"{os.getpid()}\n")
            tmp.replace(owner)
        except OSError:
            pass  # the lock holds; a refusal then names no pid
        return cls(lock, owner)

    def release(self) -> None:
        if self._lock.is_locked:
            with contextlib.suppress(OSError):
                self._owner.unlink()
            self._lock.release()


class _AdvisoryLock(RunLock):
    def __init__(self, engine: sa.Engine, conn: sa.Connection) -> None:
        self._engine = engine
        self._conn: sa.Connection | None = conn

    @classmethod
    def take(cls, target: Target, run_id: str) -> _AdvisoryLock:
        key = {"a": _NAMESPACE, "b": zlib.crc32(run_id.encode()) & 0x7FFFFFFF}
        engine = sa.create_engine(
            target.url,
            poolclass=NullPool,
            connect_args={"application_name": f"{_APP}{os.getpid()}"},
            isolation_level="AUTOCOMMIT",
        )
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise JournalError(
                f"cannot reach journal database {target.label} to lock run {run_id} ({detail}); "
                "check PARITY_DB_URL and that the server is running"
            ) from None
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"), key).scalar()
        if got:
            return cls(engine, conn)
        holder = conn.execute(
            sa.text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid = :a AND l.objid = :b AND l.objsubid = 2"
            ),
            key,
        ).scalar()
        conn.close()
        engine.dispose()
        name = str(holder or "")
        raise _refusal(run_id, name.removeprefix(_APP) if name.startswith(_APP) else None)

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            conn.close()  # the session ends: the server frees its advisory locks
        self._engine.dispose()
