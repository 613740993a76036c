"""`Alert`: what a rule raises (the dispatcher sends it, the journal keeps it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class Alert:
    """One alert. `key` de-duplicates: the same key within the dedup window is sent once."""

    rule: str
    key: str
    severity: Severity
    title: str
    message: str
    symbol: str | None = None
    value: float | None = None
    threshold: float | None = None
    console: bool = True  # False: logged to files only (the console says it in another line)
