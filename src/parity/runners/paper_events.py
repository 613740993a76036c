"""Journal events a paper run writes beside its orders: stream state and the error that ended
it (the alert rules read them; see `parity.alerts.rules`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("parity.run")


def stream_journal(journal: Any) -> Callable[[str, str, str], None]:
    """An `on_stream_state` journaling kind "stream": `{"stream", "state", "reason"}`, level
    warning on a disconnect."""

    def on_state(stream: str, state: str, reason: str) -> None:
        if journal.closed:
            return
        journal.event(
            "stream",
            {"stream": stream, "state": state, "reason": reason},
            level="warning" if state == "disconnected" else "info",
        )

    return on_state


def journal_error(journal: Any, exc: BaseException) -> None:
    """Journal kind "error" `{"type", "message"}` for an error that ends the run (not for a
    stop asked by Ctrl+C or `SystemExit`). Never raises: the run's own error comes first."""
    if journal is None or journal.closed or journal.run_id is None:
        return
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return
    message = " ".join(str(exc).split())[:1000]
    try:
        journal.event("error", {"type": type(exc).__name__, "message": message}, level="error")
    except Exception as failure:  # the journal itself may be what failed
        log.warning("could not journal the error: %s", failure)
