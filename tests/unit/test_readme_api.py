"""The README's Python API example runs as printed and prints what the README shows."""

from __future__ import annotations

import contextlib
import io
import sys
import types

import pytest
from readme_support import readme_example

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_readme_python_api_example_prints_what_the_readme_shows():
    code, shown = readme_example("Python API", "python")
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
