"""Small value parsers shared by the run file, the risk limits and the alert settings."""

from __future__ import annotations

from typing import Any

TRUE = frozenset({"true", "yes", "on", "1"})
FALSE = frozenset({"false", "no", "off", "0"})


def parse_bool(value: Any) -> bool:
    """YAML booleans, and the strings true/false/yes/no/on/off/1/0 (a quoted "false" is False)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{value!r} is not true or false")
