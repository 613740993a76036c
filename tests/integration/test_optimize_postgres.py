"""An optimisation's study in PostgreSQL (`PARITY_DB_URL`, a throwaway server as in the journal
tests): stopped by Ctrl+C and continued, every grid point runs once, and the study sits beside
the journal's tables in the same database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from distributed import Client, LocalCluster
from test_journal_postgres import pg_url  # noqa: F401 - the server fixture

from parity.config import BacktestConfig
from parity.errors import Interrupted
from parity.journal import Journal
from parity.optimize.objective import parse_objective
from parity.optimize.space import parse_space
from parity.runners.optimize import Execution, OptimizeConfig, run_optimize

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


def test_a_study_in_postgresql_continues_without_repeating(
    pg_url: str,  # noqa: F811
    client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARITY_DB_URL", pg_url)
    Journal.open(pg_url, create=True).close()  # the journal's tables in the same database
    config = OptimizeConfig(
        backtest=BacktestConfig(
            strategy="sma_cross", start=dt.date(2012, 1, 1), end=dt.date(2012, 12, 31),
            runs_dir=tmp_path,
        ),
        space=parse_space(["fast=5,10,15", "slow=30,40"]),
        objective=parse_objective("sharpe"),
        execution=Execution(client=client),
        study="pg-grid",
    )  # fmt: skip
    seen: list[int] = []

    def stop_after_two(progress: object) -> None:
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        run_optimize(config, on_progress=stop_after_two)
    result = run_optimize(config)
    assert result.ran == 4
    points = [(r["fast"], r["slow"]) for _, r in result.table.iterrows()]
    assert len(points) == 6 and len(set(points)) == 6
    storage = optuna.storages.RDBStorage(pg_url)
    try:
        study = optuna.load_study(study_name="pg-grid", storage=storage)
        assert len(study.trials) == 6 and study.best_value == result.best[0]["objective"]
        tables = set(sa.inspect(storage.engine).get_table_names())
    finally:
        storage.engine.dispose()
    assert {"runs", "fills", "studies", "trials"} <= tables
    assert not (tmp_path / "studies.sqlite").exists()  # nothing went to a SQLite file
