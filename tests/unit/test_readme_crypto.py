"""The README's crypto example runs as printed (offline, on seeded synthetic bars it writes)
and prints what the README shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_crypto_example_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Crypto on Alpaca", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert code and shown, "the README's crypto section lost its example"
    monkeypatch.chdir(tmp_path)  # it writes data/BTCUSD.csv
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), "README.md", "exec"), {"__name__": "readme_crypto"})
    assert out.getvalue() == shown.group(1)
    assert (
        (tmp_path / "data" / "BTCUSD.csv")
        .read_text()
        .splitlines()[1]
        .startswith("2024-01-01 00:00:00+00:00,42000.0")
    )
