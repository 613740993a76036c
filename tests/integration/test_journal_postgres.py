"""The journal suite on both backends: a SQLite file and a real PostgreSQL server.

PostgreSQL comes from `PARITY_TEST_PG_URL` if set; otherwise a throwaway cluster is made with
Debian's binaries (`/usr/lib/postgresql/*/bin/initdb`, run as `postgres` when we are root) on a
free 127.0.0.1 port and stopped at the end. Without either, the PostgreSQL cases are skipped
with a loud reason — unless `PARITY_REQUIRE_PG_TESTS=1` (CI sets it), where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from parity.errors import JournalError
from parity.journal import BarRecord, EquityRecord, Journal, JournalReader
from parity.journal.schema import SCHEMA_VERSION

pytestmark = pytest.mark.timeout(180)

Target = Callable[[], "str | Path"]


# ------------------------------------------------------------------------------ the server


def _unavailable(reason: str) -> None:
    message = f"POSTGRESQL JOURNAL TESTS NOT RUN: {reason}"
    if os.environ.get("PARITY_REQUIRE_PG_TESTS") == "1":
        pytest.fail(message + " (PARITY_REQUIRE_PG_TESTS=1: CI must run them)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary directory (trust auth, 127.0.0.1 only)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="parity-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as `postgres`
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root without runuser to switch to postgres")
            shutil.chown(self.root, user="postgres")
            self.prefix = [runuser, "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        proc = subprocess.run(
            [*self.prefix, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode:
            raise RuntimeError(f"{args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def start(self) -> str:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        admin = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE parity_test")
        admin.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/parity_test"

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    given = os.environ.get("PARITY_TEST_PG_URL", "").strip()
    if given:
        yield given
        return
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        _unavailable(
            "PARITY_TEST_PG_URL is not set and Debian's PostgreSQL binaries are missing "
            "(apt-get install -y postgresql, or set PARITY_TEST_PG_URL)"
        )
    cluster = Cluster(Path(initdbs[-1]).parent)
    try:
        url = cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError, sa.exc.SQLAlchemyError) as exc:
        cluster.stop()
        _unavailable(f"could not start a throwaway cluster: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """A factory of journal locations: new SQLite files, or the one PostgreSQL database."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        return lambda: url
    counter = iter(range(1000))
    return lambda: tmp_path / f"journal{next(counter)}.sqlite"


def new_run_id() -> str:
    return f"20260101-000000-test-{uuid.uuid4().hex[:8]}"


def started(location: str | Path, **kwargs: object) -> Journal:
    journal = Journal.open(location, create=True, **kwargs)  # type: ignore[arg-type]
    journal.start_run(new_run_id(), {"strategy": {"name": "t"}, "k": 1}, "paper", "local")
    return journal


T0 = dt.datetime(2024, 1, 2, 9, 30)


def minute(i: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=i)


# ------------------------------------------------------------------------------ the suite


def test_round_trip(target: Target) -> None:
    location = target()
    journal = started(location)
    run = journal.run_id
    assert run is not None
    journal.intent(
        f"{run}-000001", seq=1, symbol="IBM", side="buy", qty=100, type="limit",
        limit_price=181.5, decided_at=minute(0),
    )  # fmt: skip
    journal.order_event(f"{run}-000001", "accepted", source="strategy", at=minute(0))
    journal.fill(
        f"{run}-000001", order_seq=1, symbol="IBM", side="buy", cum_qty=40, qty=40,
        price=181.25, commission=0.2, at=minute(1), bar=1,
    )  # fmt: skip
    journal.fill(
        f"{run}-000001", order_seq=1, symbol="IBM", side="buy", cum_qty=100, qty=60,
        price=181.5, commission=0.3, at=minute(2), bar=2,
    )  # fmt: skip
    journal.order_event(
        f"{run}-000001", "completed", source="strategy", filled_qty=100.0, avg_price=181.4,
        at=minute(2),
    )  # fmt: skip
    journal.order_event(f"{run}-000001", "fill", filled_qty=100.0, avg_price=181.4)  # venue
    times = np.array([minute(i) for i in range(3)], dtype="datetime64[us]")
    journal.equity_arrays(0, times, np.array([1e5, 1e5 - 1, 1e5 + 2]), np.array([1e5, 0.5, 0.5]))
    journal.equity([EquityRecord(3, minute(3), 100_010.0, 0.5, {"IBM": 100.0})])
    received = dt.datetime(2024, 1, 2, 14, 31, 0, 123456, tzinfo=dt.UTC)
    journal.bars([BarRecord("IBM", minute(3), 1.0, 2.0, 0.5, 1.5, 900.0, "stream", received)])
    journal.event("risk", {"rule": "max_position", "qty": 100}, "warn")
    journal.event("feed", {"symbol": "IBM", "state": "live"})
    journal.flush()

    reader = journal.reader
    orders = reader.orders(run)
    assert orders.to_dict("records") == [
        {
            "order_id": 1, "client_order_id": f"{run}-000001", "symbol": "IBM", "side": "buy",
            "type": "limit", "qty": 100, "limit_price": 181.5, "stop_price": None,
            "submitted_at": minute(0), "status": "completed", "reason": "",
            "filled_qty": 100.0, "avg_fill_price": 181.4, "commission": 0.5, "leg": None,
            "parent": None,
        }
    ]  # fmt: skip
    assert reader.fills(run)["kind"].tolist() == ["trade", "trade"]
    fills = reader.fills(run)
    assert list(fills["qty"]) == [40, 60] and list(fills["price"]) == [181.25, 181.5]
    assert list(fills["datetime"]) == [minute(1), minute(2)] and list(fills["bar"]) == [1, 2]
    equity = reader.equity(run)
    assert list(equity.index) == [minute(i) for i in range(4)]
    assert list(equity["value"]) == [1e5, 1e5 - 1, 1e5 + 2, 100_010.0]
    tape = reader.tape(run)
    assert tape.loc[0, "datetime"] == minute(3) and tape.loc[0, "volume"] == 900.0
    assert tape.loc[0, "received_at"] == received
    assert reader.positions(run) == {"IBM": 100.0}
    assert reader.last_bar(run) == minute(3)
    assert list(reader.events(run)["kind"]) == ["risk", "feed"]
    risk = reader.events(run, kind="risk")
    assert risk.loc[0, "payload"] == {"rule": "max_position", "qty": 100}
    assert risk.loc[0, "level"] == "warn"
    intents = reader.intents(run)
    assert list(intents["client_order_id"]) == [f"{run}-000001"]
    assert set(reader.order_events(run)["source"]) == {"strategy", "venue"}
    info = reader.run(run)
    assert (info.mode, info.venue, info.strategy, info.status) == ("paper", "local", "t", "running")
    assert info.manifest == {"strategy": {"name": "t"}, "k": 1}
    assert info.pid == os.getpid()
    journal.finish_run("finished")
    journal.close()
    other = JournalReader.open(location)
    try:
        assert other.run(run).status == "finished"
        assert run in [r.run_id for r in other.runs()]
    finally:
        other.close()


def test_fills_are_idempotent(target: Target) -> None:
    location = target()
    journal = started(location)
    run = journal.run_id
    assert run is not None
    fill = {
        "order_seq": 1, "symbol": "IBM", "side": "sell", "cum_qty": 10.000000000001,
        "qty": 10, "price": 99.5, "commission": 0.0, "at": minute(5), "bar": 5,
    }  # fmt: skip
    journal.fill(f"{run}-000001", **fill)  # type: ignore[arg-type]
    journal.fill(f"{run}-000001", **fill)  # type: ignore[arg-type]  # same batch
    journal.flush()
    journal.fill(f"{run}-000001", **{**fill, "cum_qty": 10.0}, durable=True)  # type: ignore[arg-type]
    journal.close()
    again = Journal.open(location, create=False)  # a restart replays the same fill
    again.resume_run(run)
    again.fill(f"{run}-000001", **fill, durable=True)  # type: ignore[arg-type]
    assert len(again.reader.fills(run)) == 1
    assert again.reader.positions(run) == {"IBM": -10.0}
    assert again.reader.run(run).status == "running"
    assert list(again.reader.events(run)["kind"]) == ["resumed"]
    again.close()


CRASH = """
import datetime as dt, os, sys
from parity.journal import EquityRecord, Journal
journal = Journal.open(sys.argv[1], create=True)
journal.start_run(sys.argv[2], {}, "paper", "local")
journal.equity([EquityRecord(0, dt.datetime(2024, 1, 2), 1.0, 1.0)])  # buffered, never flushed
journal.intent(sys.argv[2] + "-000001", seq=1, symbol="IBM", side="buy", qty=5, type="market",
               decided_at=dt.datetime(2024, 1, 2))
os._exit(9)  # the order would be sent now: the process dies without closing anything
"""


def test_intent_is_committed_before_submission(target: Target) -> None:
    location, run = target(), new_run_id()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), str(location), run],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 9, proc.stderr
    reader = JournalReader.open(location)
    try:
        assert list(reader.intents(run)["client_order_id"]) == [f"{run}-000001"]
        assert reader.run(run).status == "running"  # never finished: a crash to resume
        # the intent's commit carried the equity row buffered before it (one transaction)
        assert len(reader.equity(run)) == 1
    finally:
        reader.close()


def test_rows_are_written_in_batches(target: Target) -> None:
    location = target()
    journal = started(location, batch_size=3)
    run = journal.run_id
    assert run is not None
    reader = JournalReader.open(location)
    try:
        journal.equity([EquityRecord(i, minute(i), 1.0, 1.0) for i in range(2)])
        assert len(reader.equity(run)) == 0  # buffered
        journal.equity([EquityRecord(2, minute(2), 1.0, 1.0)])
        assert len(reader.equity(run)) == 3  # the batch is full: written
        journal.equity([EquityRecord(3, minute(3), 1.0, 1.0)])
        assert len(reader.equity(run)) == 3
        journal.flush()
        assert len(reader.equity(run)) == 4
    finally:
        reader.close()
        journal.close()


def test_a_run_id_is_never_reused(target: Target) -> None:
    journal = started(target())
    with pytest.raises(JournalError, match="already in journal"):
        journal.start_run(journal.run_id or "", {}, "paper", "local")
    journal.close()


def test_heartbeat_manifest_and_crash_status(target: Target) -> None:
    journal = started(target())
    run = journal.run_id or ""
    first = journal.reader.run(run).heartbeat_at
    journal.heartbeat()
    assert journal.reader.run(run).heartbeat_at >= first  # type: ignore[operator]
    journal.set_manifest({"run_id": run, "final": True})
    journal.finish_run("crashed")
    info = journal.reader.run(run)
    assert info.status == "crashed" and info.finished_at is not None
    assert info.manifest == {"run_id": run, "final": True}
    with pytest.raises(ValueError):
        journal.finish_run("exploded")
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.event("late", {})


def test_a_newer_schema_is_refused(target: Target) -> None:
    location = target()
    journal = started(location)
    with journal.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE schema_info SET value = '99' WHERE key = 'schema_version'")
    journal.close()
    try:
        for reopen in (Journal.open, JournalReader.open):
            with pytest.raises(JournalError) as caught:
                if reopen is Journal.open:
                    Journal.open(location, create=False)
                else:
                    JournalReader.open(location)
            message = str(caught.value)
            assert "schema version 99" in message and "upgrade parity" in message
            assert "\n" not in message and caught.value.exit_code == 8
    finally:
        fix = sa.create_engine(
            f"sqlite:///{location}" if isinstance(location, Path) else str(location)
        )
        with fix.begin() as conn:  # the PostgreSQL database is shared by the other tests
            conn.execute(
                sa.text("UPDATE schema_info SET value = :v WHERE key = 'schema_version'"),
                {"v": str(SCHEMA_VERSION)},
            )
        fix.dispose()


def test_unknown_run_is_a_clear_error(target: Target) -> None:
    journal = started(target())
    with pytest.raises(JournalError, match="not in journal"):
        journal.reader.run("no-such-run")
    assert journal.reader.orders("no-such-run").empty
    assert journal.reader.equity("no-such-run").empty
    assert journal.reader.last_bar("no-such-run") is None
    journal.close()


def test_alerts_and_the_dashboard_read_either_database(target: Target, tmp_path: Path) -> None:
    """Monitoring over the same journal on SQLite and PostgreSQL: the alert engine finds a
    drawdown, a rejected order and a stale feed; the dashboard's summary shows the run, its
    alerts and its fills."""
    from parity.alerts.config import AlertConfig
    from parity.alerts.engine import RunAlerts
    from parity.dashboard.catalog import Catalog
    from parity.dashboard.views import summary

    location = target()
    journal = started(location)
    run = journal.run_id
    assert run is not None
    values = [100_000.0, 101_000.0, 95_000.0, 80_000.0]
    journal.equity([EquityRecord(i, minute(i), v, v) for i, v in enumerate(values)])
    cid = f"{run}-000001"
    journal.intent(cid, seq=1, symbol="IBM", side="buy", qty=10, type="market",
                   decided_at=minute(1))  # fmt: skip
    journal.order_event(cid, "rejected", reason="insufficient buying power", at=minute(1))
    journal.event("feed", {"symbol": "IBM", "state": "stale"}, level="warning")
    journal.flush()
    alerts = RunAlerts.start(AlertConfig(drawdown_pct=15.0, daily_loss_pct=50.0), journal, run)
    alerts.finish()
    alerts.stop()
    rows = journal.reader.events(run, kind="alert")
    rules = sorted(p["rule"] for p in rows["payload"])
    assert rules == ["drawdown", "feed_stale", "order_rejected"]
    rejected = next(p for p in rows["payload"] if p["rule"] == "order_rejected")
    assert "insufficient buying power" in rejected["message"] and rejected["symbol"] == "IBM"
    journal.close()

    env = {"PARITY_DB_URL": location} if isinstance(location, str) else {}
    runs_dir = tmp_path / "runs"
    if not env:  # a per-run SQLite file lives in its run's directory
        (runs_dir / run).mkdir(parents=True)
        Path(location).rename(runs_dir / run / "journal.sqlite")
    catalog = Catalog(runs_dir, env=env)
    try:
        body = summary(
            catalog, catalog.get(run), since=None, twin_rev=None, fills_limit=10, worker=None
        )
    finally:
        catalog.close()
    assert body["series"]["equity"] == values
    # the run's figure as `runs show` prints it (daily closes from the starting cash: one day
    # closing at 80,000) beside the per-bar one from the intraday peak
    assert body["run"]["max_drawdown"] == pytest.approx(80_000 / 100_000 - 1)
    assert body["run"]["max_drawdown_per_bar"] == pytest.approx(80_000 / 101_000 - 1)
    assert sorted(a["rule"] for a in body["alerts"]) == rules
    assert body["feeds"][0]["state"] == "stale"


def test_a_schema_3_journal_gains_the_option_fill_costs(target: Target) -> None:
    """Schema 4 adds `fills.mid`, `spread_cost`, `slippage_cost` (an option leg's quote and
    what it paid, for the spread alert and the reports): a journal of schema 3 is upgraded in
    place when opened, on SQLite and PostgreSQL alike, reads its old fills with no mid and
    takes new ones with it."""
    location = target()
    journal = started(location)
    run = journal.run_id
    assert run is not None
    symbol = "SPY240119P00470000"
    journal.fill(f"{run}-000001-L1", order_seq=1, symbol=symbol, side="sell", cum_qty=2, qty=2,
                 price=1.18, commission=0.0, at=T0)  # fmt: skip
    journal.close()
    url = f"sqlite:///{location}" if isinstance(location, Path) else str(location)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for column in ("mid", "spread_cost", "slippage_cost"):
                conn.exec_driver_sql(f"ALTER TABLE fills DROP COLUMN {column}")
            conn.exec_driver_sql("UPDATE schema_info SET value = '3' WHERE key = 'schema_version'")
        journal = Journal.open(location, create=False)  # upgraded here
        with engine.connect() as conn:
            version = conn.exec_driver_sql(
                "SELECT value FROM schema_info WHERE key = 'schema_version'"
            ).scalar()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("fills")}
        assert version == str(SCHEMA_VERSION) == "4"
        assert {"mid", "spread_cost", "slippage_cost"} <= columns
        journal.resume_run(run)
        journal.fill(f"{run}-000001-L1", order_seq=1, symbol=symbol, side="sell", cum_qty=4,
                     qty=2, price=1.17, commission=0.0, at=minute(1), mid=1.25,
                     spread_cost=8.0, slippage_cost=2.0)  # fmt: skip
        journal.flush()
        paid = journal.reader.option_fill_costs(run)
        journal.close()
        assert paid["price"].tolist() == [1.18, 1.17]
        assert paid["mid"].isna().tolist() == [True, False] and paid["mid"].iloc[1] == 1.25
        assert (paid["spread_cost"].iloc[1], paid["slippage_cost"].iloc[1]) == (8.0, 2.0)
    finally:
        Journal.open(location, create=False).close()  # the shared database stays upgraded
        engine.dispose()
