"""The README's trade-plan workflow runs as printed, offline, and prints what the README shows:
each shown line, in order, among the commands' output; the example plan it writes is the one
parity ships, and the backtest and the rehearsal wrote the same trades."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import parity

README = Path(__file__).resolve().parents[2] / "README.md"
SHIPPED = Path(parity.__file__).resolve().parent / "data" / "plans" / "trade_plan_2012-09.csv"

pytestmark = pytest.mark.timeout(600)


def _example() -> tuple[str, list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Trade plans", 1)[1].split("\n## ", 1)[0]
    script = re.search(r"```bash\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert script and shown, "the README's trade-plan section lost its commands or its output"
    return script.group(1), shown.group(1).splitlines()


def _source_path() -> str:
    tree = str(Path(parity.__file__).resolve().parents[1])
    return os.pathsep.join([tree, *filter(None, [os.environ.get("PYTHONPATH")])])


def test_the_readme_plan_workflow_runs_as_printed_and_prints_what_it_shows(
    tmp_path: Path,
) -> None:
    script, shown = _example()
    define = f'parity() {{ "{sys.executable}" -c "from parity.cli import main; main()" "$@"; }}\n'
    done = subprocess.run(
        ["bash", "-e", "-c", define + script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PARITY_RUNS_DIR"}
        | {"PYTHONPATH": _source_path()},
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
