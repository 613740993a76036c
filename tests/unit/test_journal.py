"""The SQLite journal: what is specific to a file — WAL with a reader beside the writer, the
refusals (corrupt, newer schema, missing, existing), URLs and paths, and time encoding."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import threading
from pathlib import Path

import backtrader as bt
import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from parity.analyzers.recorder import num2timestamps
from parity.errors import JournalError, ParityError
from parity.journal import EquityRecord, Journal, JournalReader, run_journal_target
from parity.journal.codec import Codec, bt_datetime, bt_datetimes
from parity.journal.database import Target
from parity.journal.schema import EquitySnapshot
from parity.timeframe import BT_EPOCH_ORDINAL

T0 = dt.datetime(2024, 1, 2, 9, 30)


def new_journal(path: Path, run_id: str = "run-1", **kwargs: int) -> Journal:
    journal = Journal.open(path, create=True, **kwargs)
    journal.start_run(run_id, {"strategy": {"name": "t"}}, "backtest", "sim")
    return journal


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(error: pytest.ExceptionInfo[JournalError], *fragments: str) -> str:
    message = str(error.value)
    assert "\n" not in message and error.value.exit_code == 8
    assert isinstance(error.value, ParityError)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# ------------------------------------------------------------------------------ SQLite setup


def test_sqlite_pragmas(tmp_path: Path) -> None:
    journal = new_journal(tmp_path / "j.sqlite")
    with journal.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    journal.close()


def test_foreign_keys_hold(tmp_path: Path) -> None:
    journal = new_journal(tmp_path / "j.sqlite")
    journal.run_id = "not-a-run"  # rows must belong to a recorded run
    with pytest.raises(JournalError, match="writing failed"):
        journal.equity([EquityRecord(0, T0, 1.0, 1.0)], durable=True)


def test_a_reader_reads_while_the_writer_writes(tmp_path: Path) -> None:
    """WAL: `parity status` reads a live run's journal, even mid-transaction of the writer."""
    path = tmp_path / "j.sqlite"
    journal = new_journal(path, batch_size=50)
    journal.equity([EquityRecord(0, T0, 1.0, 1.0)], durable=True)
    hold = sqlite3.connect(path, isolation_level=None)
    hold.execute("BEGIN IMMEDIATE")  # another writer holds the write lock, uncommitted
    hold.execute(
        "INSERT INTO equity (run_id, bar, at, value, cash) VALUES ('run-1', 1, '2024', 2, 2)"
    )
    reader = JournalReader.open(path)
    assert len(reader.equity("run-1")) == 1  # the committed state, no "database is locked"
    hold.execute("ROLLBACK")
    hold.close()

    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(1, 2001):
                journal.equity([EquityRecord(i, T0 + dt.timedelta(minutes=i), i, i)])
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            journal.flush()
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen = [len(reader.equity("run-1"))]
    while not done.is_set():
        seen.append(len(reader.equity("run-1")))
        assert reader.run("run-1").status == "running"
    writer.join()
    assert not failures
    seen.append(len(reader.equity("run-1")))
    assert seen == sorted(seen) and seen[-1] == 2001
    reader.close()
    journal.close()


# ------------------------------------------------------------------------------ refusals


def test_missing_journal(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r1" / "journal.sqlite"
    for opener in (lambda: Journal.open(path, create=False), lambda: JournalReader.open(path)):
        with pytest.raises(JournalError) as caught:
            opener()
        one_line(caught, str(path), "not found", "resume")
    assert not path.exists() and not path.parent.exists()  # nothing created


def test_garbage_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"\x00garbage\xff" * 500)
    before = digest(path)
    with pytest.raises(JournalError) as caught:
        Journal.open(path, create=False)
    one_line(caught, str(path), "unreadable", "not an SQLite database", "backup")
    with pytest.raises(JournalError, match="already exists"):
        Journal.open(path, create=True)
    assert digest(path) == before


def test_damaged_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    new_journal(path).close()
    data = bytearray(path.read_bytes())
    data[16:4096] = b"\xa5" * (4096 - 16)  # header intact, the rest of page one garbage
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(JournalError) as caught:
        JournalReader.open(path)
    one_line(caught, str(path), "unreadable")
    assert digest(path) == before


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = new_journal(path)
    journal.close()
    before = digest(path)
    with pytest.raises(JournalError) as caught:
        Journal.open(path, create=True)
    one_line(caught, str(path), "already exists", "never overwrites")
    assert digest(path) == before
    assert JournalReader.open(path).run("run-1").status == "running"


def test_an_empty_file_left_by_a_killed_creator_does_not_block_a_start(tmp_path: Path) -> None:
    # a creator killed after the file appeared but before a byte was written leaves 0 bytes:
    # no data to keep, so a start creates the journal in its place (before: refused as
    # "already exists and holds data")
    path = tmp_path / "journal.sqlite"
    path.touch()
    journal = new_journal(path)
    journal.close()
    assert path.stat().st_size > 0
    assert JournalReader.open(path).run("run-1").status == "running"


def test_a_database_that_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(JournalError) as caught:
        JournalReader.open(path)
    one_line(caught, "not a parity journal")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    new_journal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_info SET value = '99' WHERE key = 'schema_version'")
    before = digest(path)
    with pytest.raises(JournalError) as caught:
        Journal.open(path, create=False)
    one_line(caught, str(path), "schema version 99", "upgrade parity")
    assert digest(path) == before


def test_bad_database_url() -> None:
    with pytest.raises(JournalError, match="not a database URL"):
        Target.of("nonsense://::")


# ------------------------------------------------------------------------------ locations


def test_location_from_environment(tmp_path: Path) -> None:
    assert run_journal_target(tmp_path / "r1", env={}) == tmp_path / "r1" / "journal.sqlite"
    url = "postgresql+psycopg://u@127.0.0.1:5432/parity"
    assert run_journal_target(tmp_path / "r1", env={"PARITY_DB_URL": url}) == url


def test_sqlite_url_is_the_file(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    target = Target.of(f"sqlite:///{path}")
    assert target.path == path and target.label == str(path)
    assert Target.of("postgresql+psycopg://u:secret@h/db").label.count("secret") == 0


# ------------------------------------------------------------------------------ encoding


def test_bar_times_match_the_artifacts() -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(730_000, 740_000, 2000)
    for daily in (False, True):
        expected = list(num2timestamps(values, daily))
        assert [bt_datetime(v, daily) for v in values] == expected
        assert list(bt_datetimes(values, daily).astype("datetime64[ns]")) == [
            np.datetime64(t) for t in expected
        ]


def test_the_one_epoch_is_backtraders() -> None:
    """The float-day numbers written by the feed and read back by the journal and the Recorder
    use the epoch Backtrader's own `date2num`/`num2date` use."""
    assert bt.date2num(dt.datetime(1970, 1, 1)) == BT_EPOCH_ORDINAL
    label = dt.datetime(2024, 1, 2, 9, 31)
    number = bt.date2num(label)
    assert bt_datetime(number, daily=False) == label == bt.num2date(number)
    assert list(num2timestamps([number], daily=False)) == [label]


def test_text_times_are_what_sqlalchemy_stores(tmp_path: Path) -> None:
    """Rows written through the fast path read back through the ORM models, and vice versa."""
    path = tmp_path / "j.sqlite"
    journal = new_journal(path)
    when = dt.datetime(2024, 1, 2, 9, 30, 0, 250)
    journal.equity([EquityRecord(0, when, 1.0, 2.0, {"IBM": 3.0})], durable=True)
    with Session(journal.engine) as session:
        row = session.scalars(sa.select(EquitySnapshot)).one()
        assert (row.at, row.positions) == (when, {"IBM": 3.0})
        session.add(EquitySnapshot(run_id="run-1", bar=1, at=T0, value=4.0, cash=5.0))
        session.commit()
    assert list(journal.reader.equity("run-1").index) == [when, T0]
    assert Codec("sqlite").time(when) == "2024-01-02 09:30:00.000250"
    aware = dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC)
    assert Codec("postgresql").time(aware) == dt.datetime(2024, 1, 2, 14, 30)
    journal.close()


def test_a_failed_write_keeps_the_rows_for_the_next_flush(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = new_journal(path)
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    journal.engine.dispose()
    sa.event.listen(journal.engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout=50"))
    journal.equity([EquityRecord(0, T0, 1.0, 1.0)])
    with pytest.raises(JournalError, match="writing failed"):
        journal.flush()
    blocker.execute("ROLLBACK")
    blocker.close()
    journal.flush()
    assert len(journal.reader.equity("run-1")) == 1
    journal.close()
