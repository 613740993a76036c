"""The README's NSE example (the seed scenario) runs as printed, offline, and prints what the
README shows: each shown line, in order, among the commands' output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.timeout(600)


def _example() -> tuple[str, list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## NSE example", 1)[1].split("\n## ", 1)[0]
    script = re.search(r"```bash\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert script and shown, "the README's NSE example lost its commands or its output"
    return script.group(1), shown.group(1).splitlines()


def _source_path() -> str:
    """PYTHONPATH with the imported parity's tree first (the example runs in another directory)."""
    import parity

    tree = str(Path(parity.__file__).resolve().parents[1])
    return os.pathsep.join([tree, *filter(None, [os.environ.get("PYTHONPATH")])])


def test_the_readme_nse_example_runs_as_printed_and_prints_what_it_shows(tmp_path: Path) -> None:
    script, shown = _example()
    # `parity` is this checkout's CLI (the installed console script may be another tree's)
    define = f'parity() {{ "{sys.executable}" -c "from parity.cli import main; main()" "$@"; }}\n'
    done = subprocess.run(
        ["bash", "-e", "-c", define + script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PARITY_RUNS_DIR"}  # runs/ as printed
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
    # both runs wrote a report per session, in IST and rupees
    reports = sorted((tmp_path / "runs" / "nse-policy" / "reports").glob("daily-*.txt"))
    assert len(reports) == 10
    assert "₹" in reports[-1].read_text(encoding="utf-8")
