"""Claims on a study's points (`optimize/claims.py` through `Ledger`): ledgers on one study
propose disjoint points; a trial stopped in flight gives its point back; a dead process's claims
on this host are reaped, another host's are left; random search stops at the study's limit
whoever claimed the points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from parity.optimize.claims import CLAIMS, point_key
from parity.optimize.objective import parse_objective
from parity.optimize.space import parse_space
from parity.optimize.study import Ledger, StudyPlan, _engine, open_study

SPACE = parse_space(["fast=5,10,15", "slow=20,40"])


def plan(search: str = "grid") -> StudyPlan:
    return StudyPlan("sma_cross", SPACE, parse_objective("sharpe"), (), search, 0, {})


def ledger(tmp_path: Path, search: str = "grid") -> Ledger:
    found = plan(search)
    return Ledger(open_study("s", f"sqlite:///{tmp_path / 'studies.sqlite'}", found), found)


def points(ledger: Ledger, limit: int | None = None) -> list[tuple[int, int]]:
    found = []
    while (proposal := ledger.propose(limit)) is not None:
        found.append((proposal[1]["fast"], proposal[1]["slow"]))
    return found


def claim_row(ledger: Ledger, point: dict[str, int], host: str, pid: int) -> None:
    key = point_key(SPACE.key(point))
    with _engine(ledger.study).begin() as connection:
        connection.execute(CLAIMS.insert().values(study="s", point=key, host=host, pid=pid))


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def claimed(ledger: Ledger) -> int:
    with _engine(ledger.study).connect() as connection:
        query = sa.select(sa.func.count()).select_from(CLAIMS)
        return int(connection.execute(query).scalar_one())


def test_two_ledgers_on_one_study_split_the_grid(tmp_path: Path) -> None:
    a, b = ledger(tmp_path), ledger(tmp_path)
    first = [a.propose(), b.propose(), a.propose()]
    got = [(p[1]["fast"], p[1]["slow"]) for p in first if p is not None]
    rest = points(b) + points(a)
    everything = got + rest
    assert sorted(everything) == sorted((f, s) for f in (5, 10, 15) for s in (20, 40))
    assert len(everything) == len(set(everything)) == 6


def test_a_point_stopped_in_flight_is_given_back(tmp_path: Path) -> None:
    a = ledger(tmp_path)
    proposal = a.propose()
    assert proposal is not None
    trial, params = proposal
    a.interrupt(trial, params)
    assert claimed(a) == 0
    assert (params["fast"], params["slow"]) in points(ledger(tmp_path))


def test_a_dead_process_claims_are_reaped_on_this_host_only(tmp_path: Path) -> None:
    a = ledger(tmp_path)
    pid = dead_pid()
    claim_row(a, {"fast": 5, "slow": 20}, a.host, pid)  # this host, process gone
    claim_row(a, {"fast": 5, "slow": 40}, "elsewhere", pid)  # another host: may still run
    found = points(ledger(tmp_path))
    assert (5, 20) in found and (5, 40) not in found and len(found) == 5


def test_random_search_stops_at_the_limit_whoever_claimed(tmp_path: Path) -> None:
    a, b = ledger(tmp_path, "random"), ledger(tmp_path, "random")
    got = points(a, limit=2)
    assert len(got) == 2
    assert points(b, limit=2) == [] and points(b, limit=5) != []
