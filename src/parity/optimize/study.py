"""The Optuna study of an optimisation, stored in the run database: the `PARITY_DB_URL` database
when it is set (PostgreSQL: several machines can work on one study), else `RUNS_DIR/studies.sqlite`.

A study records what defines it (strategy, space, objective, constraints, search, data); running
the same `--study NAME` again continues it, and a different definition under that name is an error.
Trials interrupted (Ctrl+C, or a process that died) are marked so and run again on continuation;
every other finished trial, failed ones included, is never repeated."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import sqlalchemy as sa
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial, Trial, TrialState

from parity.errors import ConfigError
from parity.journal.database import ENV_DB_URL
from parity.optimize.claims import Claims, point_key
from parity.optimize.objective import Constraint, Objective
from parity.optimize.space import Space
from parity.optimize.trial import TrialOutcome

STUDY_DB = "studies.sqlite"
SEARCHES = ("grid", "random", "tpe")


def storage_url(runs_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """`PARITY_DB_URL` if set, else the SQLite file `RUNS_DIR/studies.sqlite`."""
    url = (env if env is not None else os.environ).get(ENV_DB_URL, "").strip()
    if url:
        return url
    runs_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(runs_dir / STUDY_DB).resolve()}"


@dataclass(frozen=True)
class StudyPlan:
    """What defines a study; a continuation must have the same."""

    strategy: str
    space: Space
    objective: Objective
    constraints: tuple[Constraint, ...]
    search: str
    seed: int
    data: Mapping[str, Any]  # source, symbols, window, costs: what the trials ran on

    def record(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "space": self.space.describe(),
            "objective": self.objective.text,
            "direction": self.objective.direction,
            "constraints": [c.text for c in self.constraints],
            "search": self.search,
            "seed": self.seed,
            "data": dict(self.data),
        }


def open_study(name: str, url: str, plan: StudyPlan) -> optuna.Study:
    """The study `name` (created, or loaded to continue when its definition matches)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if plan.search not in SEARCHES:
        raise ConfigError(f"--search {plan.search!r} must be one of {', '.join(SEARCHES)}")
    storage = _storage(url)
    record = json.loads(json.dumps(plan.record(), default=str))
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        try:
            study = optuna.create_study(
                study_name=name, storage=storage, direction=plan.objective.direction
            )
        except optuna.exceptions.DuplicatedStudyError:  # another process created it just now
            study = optuna.load_study(study_name=name, storage=storage)
        else:
            study.set_user_attr("parity", record)
            return study
    found = _definition(study)
    if found != record:
        close_study(study)
        differs = sorted(k for k in record if (found or {}).get(k) != record[k])
        raise ConfigError(
            f"study {name} exists with a different {', '.join(differs) or 'definition'}; "
            "continue it with the same options or give a new --study name"
        )
    return study


def _definition(study: optuna.Study, wait: float = 30.0) -> Any:
    """The study's recorded definition; a study another process has just created gets it a
    moment after its creation (Optuna creates a study without attributes), so wait for it."""
    deadline = time.monotonic() + wait
    while (found := study.user_attrs.get("parity")) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _rdb_storage(url: str, attempts: int = 10) -> optuna.storages.RDBStorage:
    """Optuna's storage on `url`. Two processes opening a new database at once race to create
    its tables (one fails on a duplicate key or a locked file); the loser tries again, and
    then finds the tables made."""
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url)
        except sa.exc.DBAPIError as exc:
            text = str(exc).lower()
            racing = isinstance(exc, sa.exc.IntegrityError | sa.exc.ProgrammingError) or (
                "locked" in text or "already exists" in text
            )
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def _storage(url: str) -> optuna.storages.BaseStorage:
    """The study database. A SQLite file runs in WAL mode with normal sync: every trial is a few
    commits, and a full fsync each (the default) cost ~20 ms apiece on a busy disk; WAL keeps
    the file consistent through a crash, losing at most the last trials, which then run again."""
    storage = _rdb_storage(url)
    if storage.engine.dialect.name == "sqlite":

        def pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        sa.event.listen(storage.engine, "connect", pragmas)
        storage.engine.dispose()  # connections opened before the listener close
    # Optuna's cache of finished trials (what `optuna.storages.get_storage(url)` wraps a
    # database in): each ask/tell then reads only the trials still running
    return optuna.storages._CachedStorage(storage)


def close_study(study: optuna.Study) -> None:
    """Close the study's database connections (a PostgreSQL connection left to the garbage
    collector is a leak until then)."""
    backend = getattr(study._storage, "_backend", study._storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()


class Ledger:
    """The study's trials as this optimisation sees them: proposes the next points, records
    outcomes, and marks interrupted trials so a continuation runs them again. Grid and random
    points are claimed before they run (`parity.optimize.claims`), so that several processes
    on one study never run a point twice."""

    def __init__(self, study: optuna.Study, plan: StudyPlan) -> None:
        self.study = study
        self.plan = plan
        self.host = socket.gethostname()
        self._grid: Iterator[dict[str, Any]] | None = None
        self._taken: set[tuple[Any, ...]] | None = None
        self._reap_stale()
        self.claims: Claims | None = None
        if plan.search in ("grid", "random"):
            self.claims = Claims(_engine(study), study.study_name, self.host, os.getpid())
            done = {
                point_key(plan.space.key(t.params))
                for t in study.get_trials(deepcopy=False)
                if counts(t)
            }
            self.claims.reap(done, _alive)
        existing = len(study.get_trials(deepcopy=False))
        study.sampler = self._sampler(existing)
        # random search draws its own points, so that it never draws one already tried
        self._rng = np.random.default_rng(plan.seed + existing)

    # ------------------------------------------------------------------ counting
    def counted(self) -> int:
        """Finished trials that count (completed or failed, not interrupted)."""
        return sum(1 for t in self.study.get_trials(deepcopy=False) if counts(t))

    def target(self, trials: int | None) -> int:
        """How many counted trials the study should reach."""
        if self.plan.search == "grid":
            size = self.plan.space.grid_size()
            return size if trials is None else min(trials, size)
        if trials is None:
            raise ConfigError("--search random/tpe needs --trials N (how many points to try)")
        return trials

    # ------------------------------------------------------------------ proposing
    def propose(self, limit: int | None = None) -> tuple[Trial | None, dict[str, Any]] | None:
        """The next point (None: the grid is exhausted, no untried random point is left, or
        `limit` points of the study are claimed, by this process or others).

        Grid and random points are chosen and claimed here and written to the study only once
        their outcome is known (one insert per trial; a trial in flight when the run stops is
        not there and its claim is released, so a continuation runs it). TPE asks Optuna,
        whose trial is RUNNING in the study until told."""
        if self.claims is not None:
            if limit is not None and self.claims.count() >= limit:
                return None
            point = self._next_grid_point() if self.plan.search == "grid" else self._draw()
            return None if point is None else (None, point)
        trial = self.study.ask(self.plan.space.distributions)
        trial.set_user_attr("owner", {"host": self.host, "pid": os.getpid()})
        return trial, dict(trial.params)

    def _next_grid_point(self) -> dict[str, Any] | None:
        if self._grid is None:
            taken = {
                self.plan.space.key(t.params)
                for t in self.study.get_trials(deepcopy=False)
                if counts(t) or t.state == TrialState.RUNNING
            }
            self._grid = (p for p in self.plan.space.grid() if self.plan.space.key(p) not in taken)
        for point in self._grid:
            if self._claim(point):
                return point
        return None

    def _claim(self, point: dict[str, Any]) -> bool:
        return self.claims is None or self.claims.claim(point_key(self.plan.space.key(point)))

    def _draw(self, attempts: int = 1000) -> dict[str, Any] | None:
        """A random point not tried yet (None: none found in `attempts` draws)."""
        if self._taken is None:
            self._taken = {
                self.plan.space.key(t.params)
                for t in self.study.get_trials(deepcopy=False)
                if counts(t) or t.state == TrialState.RUNNING
            }
        for _ in range(attempts):
            point = self.plan.space.draw(self._rng)
            key = self.plan.space.key(point)
            if key not in self._taken:
                self._taken.add(key)
                if self._claim(point):
                    return point
        return None

    def _sampler(self, existing: int) -> BaseSampler:
        # reseeded by the trials already in the study: a continuation does not replay the
        # random points its first session drew
        seed = self.plan.seed + existing
        if self.plan.search == "tpe":
            if hasattr(Trial, "set_constraint"):  # Optuna 5: each told trial carries them
                return TPESampler(seed=seed)
            return TPESampler(seed=seed, constraints_func=_violations)
        return RandomSampler(seed=seed)

    # ------------------------------------------------------------------ recording
    def record(self, trial: Trial | None, result: TrialOutcome) -> FrozenTrial:
        """Write a trial's outcome: a new finished trial (grid, random) or the asked one told."""
        facts: dict[str, Any] = {"seconds": round(result.seconds, 4), "metrics": result.metrics}
        failed = result.error is not None or result.value is None
        if failed:
            facts["error"] = result.error or (
                f"objective {self.plan.objective.text} is undefined for this run"
            )
        else:
            broken = [c.text for c in self.plan.constraints if not c.holds(result.metrics)]
            facts["broken"] = broken
            facts["violations"] = [1.0 for _ in broken] or [0.0]
            facts["returns"] = pack_returns(result.returns)
        if trial is None:
            done = optuna.trial.create_trial(
                state=TrialState.FAIL if failed else TrialState.COMPLETE,
                value=None if failed else result.value,
                params=result.params,
                distributions={
                    name: dist
                    for name, dist in self.plan.space.distributions.items()
                    if name in result.params
                },
                user_attrs={OUTCOME: facts},
            )
            storage = self.study._storage  # `add_trial` without losing the stored trial
            return storage.get_trial(storage.create_new_trial(self.study._study_id, done))
        trial.set_user_attr(OUTCOME, facts)
        if not failed and hasattr(trial, "set_constraint"):
            for constraint in self.plan.constraints:  # > 0: infeasible, for TPE's model
                trial.set_constraint(constraint.text, float(constraint.text in facts["broken"]))
        if failed:
            return self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        return self.study.tell(trial, result.value, skip_if_finished=True)

    def interrupt(self, trial: Trial | None, params: dict[str, Any]) -> None:
        """A trial stopped in flight: a continuation (or another process) runs it again."""
        if trial is None:  # never written: give its point back
            if self.claims is not None:
                self.claims.release([point_key(self.plan.space.key(params))])
            return
        trial.set_user_attr("interrupted", True)
        self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)

    def _reap_stale(self) -> None:
        """RUNNING trials of a process on this host that no longer runs were interrupted."""
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = t.user_attrs.get("owner", {})
            pid = owner.get("pid")
            if owner.get("host") == self.host and isinstance(pid, int) and not _alive(pid):
                self.study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
                self.study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)


OUTCOME = "outcome"


def _engine(study: optuna.Study) -> sa.Engine:
    """The database engine of the study's storage (`_storage` wraps the RDB storage)."""
    backend = getattr(study._storage, "_backend", study._storage)
    engine = getattr(backend, "engine", None)
    if not isinstance(engine, sa.Engine):
        raise TypeError("the study's storage is not a database (RDBStorage)")
    return engine


def outcome(trial: FrozenTrial) -> dict[str, Any]:
    """What a finished trial recorded: seconds, metrics, error, broken constraints, returns."""
    found = trial.user_attrs.get(OUTCOME)
    return found if isinstance(found, dict) else {}


def counts(trial: FrozenTrial) -> bool:
    """A finished trial that counts towards the target (completed, or failed and not
    interrupted)."""
    return trial.state == TrialState.COMPLETE or (
        trial.state == TrialState.FAIL and not trial.user_attrs.get("interrupted")
    )


def feasible(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.COMPLETE and not outcome(trial).get("broken")


def _violations(trial: FrozenTrial) -> list[float]:
    return list(outcome(trial).get("violations", [0.0]))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pack_returns(returns: np.ndarray) -> str:
    """Daily returns as compact text for the study database (float32, deflated, base64)."""
    raw = np.asarray(returns, dtype=np.float32).tobytes()
    return base64.b64encode(zlib.compress(raw)).decode("ascii")


def unpack_returns(text: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.float32).astype(float)
