"""The README's NSE example (the seed scenario) runs as printed, offline, and prints what the
README shows: each shown line, in order, among the commands' output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from readme_support import readme_example, source_path

pytestmark = pytest.mark.timeout(600)


def test_the_readme_nse_example_runs_as_printed_and_prints_what_it_shows(tmp_path: Path) -> None:
    script, shown = _example_lines()
    # `parity` is this checkout's CLI (the installed console script may be another tree's)
    define = f'parity() {{ "{sys.executable}" -c "from parity.cli import main; main()" "$@"; }}\n'
    done = subprocess.run(
        ["bash", "-e", "-c", define + script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PARITY_RUNS_DIR"}  # runs/ as printed
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
    # both runs wrote a report per session, in IST and rupees
    reports = sorted((tmp_path / "runs" / "nse-policy" / "reports").glob("daily-*.txt"))
    assert len(reports) == 10
    assert "₹" in reports[-1].read_text(encoding="utf-8")


def _example_lines() -> tuple[str, list[str]]:
    script, shown = readme_example("NSE example")
    return script, shown.splitlines()
