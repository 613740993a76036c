"""Whether a process is alive: one check for the run store, the dashboard and the journal."""

from __future__ import annotations

import os


def process_alive(pid: int | None) -> bool:
    """Whether a process with `pid` exists on this machine (a running run's heartbeat owner,
    a journal's creator)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
