"""Claims on a study's grid and random points, so that several processes (on one machine or
many) can work on one study without running a point twice.

A grid or random point is written to the Optuna study only once its outcome is known (one insert
per trial), so the study alone cannot tell a second process that a point is already running.
Before a point is submitted, its process inserts a row `(study, point)` into a table of the run
database; the primary key makes the insert succeed for exactly one process (SQLite and
PostgreSQL alike), and every other process skips the point. Optuna has no such primitive: its
`GridSampler` draws a point among those not yet in the study and documents that concurrent
workers may run one point twice, which is why this is written here.

A claim stays once its trial is recorded (the point is done). A process that stops releases the
claims of the trials it had in flight (a continuation runs them again); the claims of a process
that died without releasing them (killed, machine lost) are reaped by the next process on its
host, as the study's own RUNNING trials are."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

_METADATA = sa.MetaData()
CLAIMS = sa.Table(
    "parity_study_claims",
    _METADATA,
    sa.Column("study", sa.String(512), primary_key=True),
    sa.Column("point", sa.String(2048), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)


def point_key(key: tuple[Any, ...]) -> str:
    """A point's identity (`Space.key`) as text for the claims table."""
    return json.dumps(list(key), default=str, separators=(",", ":"))


class Claims:
    """The claims of one study, in the database `engine` (the study's own)."""

    def __init__(self, engine: sa.Engine, study: str, host: str, pid: int) -> None:
        self.engine = engine
        self.study = study
        self.host = host
        self.pid = pid
        self._create()

    def _create(self) -> None:
        try:
            _METADATA.create_all(self.engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # another process created it between the check and the CREATE: fine when it exists
            if not sa.inspect(self.engine).has_table(CLAIMS.name):
                raise

    def claim(self, point: str) -> bool:
        """True when this process now owns `point`; False when another one claimed it first."""
        row = {"study": self.study, "point": point, "host": self.host, "pid": self.pid}
        try:
            with self.engine.begin() as connection:
                connection.execute(CLAIMS.insert().values(**row))
        except sa.exc.IntegrityError:
            return False
        return True

    def count(self) -> int:
        """Points claimed in this study, by any process (done or in flight)."""
        query = sa.select(sa.func.count()).select_from(CLAIMS).where(CLAIMS.c.study == self.study)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def release(self, points: Iterable[str]) -> None:
        """Give up this process's claims on `points` (their trials were never recorded)."""
        points = list(points)
        if not points:
            return
        with self.engine.begin() as connection:
            connection.execute(
                CLAIMS.delete().where(
                    CLAIMS.c.study == self.study,
                    CLAIMS.c.host == self.host,
                    CLAIMS.c.pid == self.pid,
                    CLAIMS.c.point.in_(points),
                )
            )

    def reap(self, done: set[str], alive: Callable[[int], bool]) -> int:
        """Drop this host's claims of processes no longer alive whose point has no recorded
        trial (`done`); returns how many were dropped."""
        query = sa.select(CLAIMS.c.point, CLAIMS.c.pid).where(
            CLAIMS.c.study == self.study, CLAIMS.c.host == self.host
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        stale = [(point, pid) for point, pid in rows if point not in done and not alive(pid)]
        if stale:
            with self.engine.begin() as connection:
                for point, pid in stale:
                    connection.execute(
                        CLAIMS.delete().where(
                            CLAIMS.c.study == self.study,
                            CLAIMS.c.point == point,
                            CLAIMS.c.pid == pid,
                        )
                    )
        return len(stale)
