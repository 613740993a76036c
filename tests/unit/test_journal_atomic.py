"""`Journal.atomic()`: what is recorded inside is committed in one transaction when it ends
(durable writes included), so a crash inside leaves none of it: a combo's legs are journaled
both or neither. A SIGKILL inside the scope is a real crash of a child process."""

from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from parity.journal import Journal

AT = dt.datetime(2012, 2, 15, 9, 30)


def _fills(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:  # another connection: sees what is committed
        return conn.execute("SELECT client_order_id, cum_qty FROM fills ORDER BY id").fetchall()


def _leg(journal: Journal, cid: str) -> None:
    journal.fill(cid, order_seq=1, symbol=cid, side="buy", cum_qty=2.0, qty=2.0, price=1.5,
                 commission=0.0, at=AT, bar=3, kind="trade", durable=True)  # fmt: skip


def test_durable_rows_inside_wait_for_the_end_then_commit_together(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal.open(path, create=True)
    journal.start_run("r", {"strategy": {"name": "t"}}, "paper", "local")
    with journal.atomic():
        _leg(journal, "r-1-L1")
        journal.flush()  # inside the scope, a flush waits for its end too
        assert _fills(path) == []
        with journal.atomic():  # nested: the outer scope commits
            _leg(journal, "r-1-L2")
        assert _fills(path) == []
    assert _fills(path) == [("r-1-L1", 2.0), ("r-1-L2", 2.0)]
    _leg(journal, "r-2")  # outside: durable again at once
    assert len(_fills(path)) == 3
    journal.close()


CHILD = """
import datetime as dt, os, signal, sys
from pathlib import Path
from parity.journal import Journal
journal = Journal.open(Path(sys.argv[1]), create=True)
journal.start_run("r", {"strategy": {"name": "t"}}, "paper", "local")
at = dt.datetime(2012, 2, 15, 9, 30)
def leg(cid):
    journal.fill(cid, order_seq=1, symbol=cid, side="buy", cum_qty=2.0, qty=2.0, price=1.5,
                 commission=0.0, at=at, bar=3, kind="trade", durable=True)
leg("r-1")
with journal.atomic():
    leg("r-2-L1")
    journal.event("option_book", {"op": "filled"})
    os.kill(os.getpid(), signal.SIGKILL)  # between the legs
    leg("r-2-L2")
"""


def test_a_kill_inside_leaves_none_of_it(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert _fills(path) == [("r-1", 2.0)]
    with sqlite3.connect(path) as conn:
        assert (
            conn.execute("SELECT count(*) FROM events WHERE kind = 'option_book'").fetchone()[0]
            == 0
        )
