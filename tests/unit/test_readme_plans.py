"""The README's trade-plan workflow runs as printed, offline, and prints what the README shows:
each shown line, in order, among the commands' output; the example plan it writes is the one
parity ships, and the backtest and the rehearsal wrote the same trades."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from readme_support import readme_example, source_path

import parity

SHIPPED = Path(parity.__file__).resolve().parent / "data" / "plans" / "trade_plan_2012-09.csv"

pytestmark = pytest.mark.timeout(600)


def test_the_readme_plan_workflow_runs_as_printed_and_prints_what_it_shows(
    tmp_path: Path,
) -> None:
    script, shown = _example_lines()
    define = f'parity() {{ "{sys.executable}" -c "from parity.cli import main; main()" "$@"; }}\n'
    done = subprocess.run(
        ["bash", "-e", "-c", define + script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PARITY_RUNS_DIR"}
        | {"PYTHONPATH": source_path()},
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout.splitlines()
    at = 0
    for line in shown:
        found = printed.index(line, at) if line in printed[at:] else -1
        assert found >= 0, f"README line not printed (in order): {line!r}"
        at = found + 1
    assert (tmp_path / "trade_plan.csv").read_bytes() == SHIPPED.read_bytes()
    runs = tmp_path / "runs"
    backtests = [
        p for p in runs.iterdir() if p.name != "plan-rehearsal" and not (p / "replay.json").exists()
    ]
    assert len(backtests) == 1
    assert (backtests[0] / "trades.csv").read_bytes() == (
        runs / "plan-rehearsal" / "trades.csv"
    ).read_bytes()


def _example_lines() -> tuple[str, list[str]]:
    script, shown = readme_example("Trade plans")
    return script, shown.splitlines()
