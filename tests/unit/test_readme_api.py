"""The README's Python API example runs as printed and prints what the README shows."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _example() -> tuple[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert code and shown, "the README's Python API section lost its example"
    return code.group(1), shown.group(1)


def test_the_readme_python_api_example_prints_what_the_readme_shows():
    code, shown = _example()
    module = types.ModuleType("readme_example")  # Backtrader looks a strategy's module up
    out = io.StringIO()
    sys.modules["readme_example"] = module
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), module.__dict__)
    finally:
        del sys.modules["readme_example"]
    assert out.getvalue() == shown


def test_import_parity_is_light_and_exports_the_public_api():
    import parity

    public = {"simulate", "RunResult", "load_bars", "ParityStrategy", "Instrument"}
    assert public <= set(dir(parity))
    assert parity.instrument_for("AAPL").symbol == "AAPL"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        parity.nope  # noqa: B018
