"""The README's options example runs as printed and prints what the README shows; the chain
command below it prints the chain shown."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _section() -> str:
    return (
        README.read_text(encoding="utf-8")
        .split("## Options (backtests)", 1)[1]
        .split("\n## ", 1)[0]
    )


def test_the_readme_options_example_and_chain_print_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = _section()
    code = re.search(r"```python\n(.*?)```", section, re.S)
    shown = re.findall(r"```text\n(.*?)```", section, re.S)
    commands = re.search(r"```bash\n(.*?)```", section, re.S)
    assert code and len(shown) == 2 and commands, "the README's options section lost its example"
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("readme_options")
    out = io.StringIO()
    sys.modules["readme_options"] = module
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code.group(1), "README.md", "exec"), module.__dict__)
    finally:
        del sys.modules["readme_options"]
    assert out.getvalue() == shown[0]
    chain = commands.group(1).strip().splitlines()[-1]
    assert chain.startswith("parity options chain ")
    done = subprocess.run(
        [sys.executable, "-c", "from parity.cli import main; main()", *chain.split()[1:]],
        capture_output=True, text=True, cwd=tmp_path, env=os.environ, check=True,
    )  # fmt: skip
    assert done.stdout == shown[1]
