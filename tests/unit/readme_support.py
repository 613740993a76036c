"""What the README tests share: a section's example and the PYTHONPATH its commands run with."""

from __future__ import annotations

import os
import re
from pathlib import Path

import parity

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example(heading: str, language: str = "bash") -> tuple[str, str]:
    """The first `language` block and the first `text` block of the README section whose
    heading starts with `heading` (`## NSE example`)."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    code = re.search(rf"```{language}\n(.*?)```", section, re.S)
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert code and shown, f"the README's {heading} section lost its commands or its output"
    return code.group(1), shown.group(1)


def source_path() -> str:
    """PYTHONPATH with the imported parity's tree first (the example runs in another directory)."""
    tree = str(Path(parity.__file__).resolve().parents[1])
    return os.pathsep.join([tree, *filter(None, [os.environ.get("PYTHONPATH")])])
