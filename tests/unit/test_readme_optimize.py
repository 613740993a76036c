"""The README's optimisation example runs as printed (each `$ parity ...` line, in a fresh
directory) and prints what the README shows."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


def _sessions() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Optimisation and walk-forward", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        command, _, output = block.partition("\n")
        assert command.startswith("$ parity "), command
        found.append((command[2:], output))
    assert len(found) == 2, "the README's optimisation section lost an example"
    return found


def test_the_readme_optimisation_examples_print_what_the_readme_shows(tmp_path: Path) -> None:
    env = {**os.environ, "PARITY_RUNS_DIR": "runs"}
    env.pop("PARITY_DB_URL", None)
    for command, shown in _sessions():
        args = shlex.split(command)[1:]
        done = subprocess.run(
            [sys.executable, "-c", "from parity.cli import main; main()", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=500,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout == shown, command
    assert (tmp_path / "runs" / "demo-best1" / "metrics.json").is_file()
    assert (tmp_path / "runs" / "walkforward" / "demo-wf" / "report.html").is_file()
