"""`parity optimize` as a user runs it beyond one process: on a Dask cluster that already exists
(`--scheduler tcp://HOST:PORT`), and as several processes working on one study at once (SQLite
and PostgreSQL), each giving exactly the trials of a one-process run; and the progress line the
command prints while it works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from distributed import Client, LocalCluster
from test_journal_postgres import pg_url  # noqa: F401 - the server fixture

pytestmark = pytest.mark.timeout(400)

CLI = [sys.executable, "-c", "from parity.cli import main; main()", "optimize", "sma_cross"]
WINDOW = ["--from", "2012-01-01", "--to", "2014-12-31"]
POINTS = 18

# The objective of the studies below: the Sharpe ratio, returned once every process named in
# PARITY_TEST_BARRIER (`FOLDER:COUNT:NAME`) has a trial running, so that two processes started
# together both work on the study however loaded the machine is (without the variable: at once).
BARRIER = """
import os, time
from pathlib import Path

def sharpe(result):
    given = os.environ.get("PARITY_TEST_BARRIER")
    if given:
        folder, count, name = given.split(":")
        Path(folder, name).touch()
        deadline = time.monotonic() + 120
        while len(list(Path(folder).iterdir())) < int(count) and time.monotonic() < deadline:
            time.sleep(0.05)
    return result.metrics["sharpe"]
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    script = tmp_path_factory.mktemp("objective") / "barrier.py"
    script.write_text(BARRIER)
    return ["--space", "fast=4:20:2", "--space", "slow=30,50", "--objective", f"{script}:sharpe"]


def optimize(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [*CLI, *WINDOW, *args, "--json"], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def trials(study: str, storage: str) -> dict[tuple[int, int], tuple[str, float | None, Any]]:
    """Every trial of the study by point: state, objective and metrics (a point seen twice
    fails here)."""
    storage_ = optuna.storages.RDBStorage(storage)
    try:
        found = optuna.load_study(study_name=study, storage=storage_).trials
    finally:
        storage_.engine.dispose()
    points = [(t.params["fast"], t.params["slow"]) for t in found]
    assert len(points) == len(set(points)), sorted(points)
    return {
        (t.params["fast"], t.params["slow"]): (
            t.state.name,
            t.value,
            t.user_attrs["outcome"]["metrics"],
        )
        for t in found
    }


def chosen(payload: dict[str, Any]) -> dict[str, Any]:
    """The best trial's params, objective and metrics (its number is the order it was
    recorded in, which depends on which worker finished first)."""
    (best,) = payload["best"]
    return {k: v for k, v in best.items() if k != "trial"}


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory, grid: list[str]) -> dict[str, Any]:
    """The reference: the same study run by one process on one local worker."""
    runs = tmp_path_factory.mktemp("one")
    payload = optimize(*grid, "--workers", "1", "--study", "one", "--runs-dir", str(runs))
    found = trials("one", f"sqlite:///{runs / 'studies.sqlite'}")
    assert len(found) == POINTS and all(state == "COMPLETE" for state, _, _ in found.values())
    return {"payload": payload, "trials": found}


@pytest.fixture
def cluster() -> Iterator[str]:
    """An existing Dask cluster (two single-threaded workers): its scheduler's address."""
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,  # workers in this process: they import this tree's parity
            protocol="tcp",  # as a real cluster listens (in-process clusters default to inproc)
            host="127.0.0.1",
            scheduler_port=0,
            dashboard_address="127.0.0.1:0",
        ) as running,
        Client(running) as client,
    ):
        yield running.scheduler_address
        assert sum(client.nthreads().values()) == 2


def test_scheduler_runs_the_study_on_an_existing_cluster(
    cluster: str, one_process: dict[str, Any], grid: list[str], tmp_path: Path
) -> None:
    assert cluster.startswith("tcp://127.0.0.1:")
    payload = optimize(*grid, "--scheduler", cluster, "--study", "there",
                       "--runs-dir", str(tmp_path))  # fmt: skip
    assert payload["ran"] == POINTS and payload["trials"] == POINTS
    assert chosen(payload) == chosen(one_process["payload"])
    assert trials("there", f"sqlite:///{tmp_path / 'studies.sqlite'}") == one_process["trials"]


def test_a_scheduler_that_is_not_there_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, *WINDOW, "--space", "fast=5", "--scheduler", "tcp://127.0.0.1:9",
         "--runs-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    message = done.stderr.strip()
    assert message.startswith("error: --scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler")
    assert "\n" not in message


def run_together(
    study: str, runs: Path, grid: list[str], env: dict[str, str]
) -> list[dict[str, Any]]:
    """Two `parity optimize` processes on one study name and one storage, at the same time
    (their first trials wait for each other: see BARRIER)."""
    command = [*CLI, *WINDOW, *grid, "--workers", "1", "--study", study, "--runs-dir", str(runs),
               "--json"]  # fmt: skip
    barrier = runs / "barrier"
    barrier.mkdir()
    processes = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "PARITY_TEST_BARRIER": f"{barrier}:2:p{n}"},
        )
        for n in range(2)
    ]
    payloads = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        payloads.append(json.loads(out))
    return payloads


def check_shared(
    payloads: list[dict[str, Any]], found: dict[Any, Any], one: dict[str, Any]
) -> None:
    # every grid point exactly once (`trials` refuses a point seen twice), none missing, each
    # with the one-process run's objective and metrics
    assert found == one["trials"]
    ran = [p["ran"] for p in payloads]
    assert sum(ran) == POINTS, ran  # each process recorded only points nobody else ran
    assert all(r > 0 for r in ran), ran  # both took part (their first trials met)
    late = max(payloads, key=lambda p: p["trials"])  # the one that ended last saw every trial
    assert late["trials"] == POINTS and chosen(late) == chosen(one["payload"])


def test_two_processes_share_one_sqlite_study(
    one_process: dict[str, Any], grid: list[str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PARITY_DB_URL"}
    payloads = run_together("shared", tmp_path, grid, env)
    found = trials("shared", f"sqlite:///{tmp_path / 'studies.sqlite'}")
    check_shared(payloads, found, one_process)


def test_two_processes_share_one_postgresql_study(
    one_process: dict[str, Any],
    grid: list[str],
    pg_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    payloads = run_together("shared-pg", tmp_path, grid, {**os.environ, "PARITY_DB_URL": pg_url})
    check_shared(payloads, trials("shared-pg", pg_url), one_process)
    assert not (tmp_path / "studies.sqlite").exists()


PROGRESS = re.compile(
    r"^trials (\d+)/(\d+)  best sharpe (-|\S+ \(#\d+\))  failed (\d+)  ETA (\d+:\d\d:\d\d)$"
)


def test_the_progress_line_counts_trials_best_so_far_and_eta(tmp_path: Path) -> None:
    """Off a terminal the line is logged every tenth of the study: on 10 trials, once per
    trial; the best so far is the running maximum of the trials recorded, and the ETA falls to
    0:00:00 at the end."""
    done = subprocess.run(
        [*CLI, *WINDOW, "--space", "fast=4:22:2", "--space", "slow=40", "--workers", "1",
         "--study", "progress", "--runs-dir", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("trials ")]
    parsed = []
    for line in lines:
        match = PROGRESS.match(line)
        assert match, line
        parsed.append(match.groups())
    assert [int(p[0]) for p in parsed] == list(range(1, 11))
    assert {p[1] for p in parsed} == {"10"} and {p[3] for p in parsed} == {"0"}
    # the best so far, read back from the study in the order the trials were recorded
    study = optuna.load_study(
        study_name="progress", storage=f"sqlite:///{tmp_path / 'studies.sqlite'}"
    )
    recorded = sorted(study.trials, key=lambda t: t.number)
    for count, groups in enumerate(parsed, start=1):
        so_far = max(recorded[:count], key=lambda t: float(t.value))  # type: ignore[arg-type]
        assert groups[2] == f"{so_far.value:.4g} (#{so_far.number})"
    assert parsed[-1][4] == "0:00:00"
    seconds = [_seconds(p[4]) for p in parsed]
    assert all(s >= 0 for s in seconds) and seconds[0] > 0  # 9 trials left after the first
    best = json.loads(done.stdout)["best"][0]
    assert parsed[-1][2] == f"{best['objective']:.4g} (#{best['trial']})"


def _seconds(clock: str) -> int:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds
