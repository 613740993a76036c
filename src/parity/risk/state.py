"""What the risk guard remembers between bars and across restarts, and where it keeps it.

`RiskStateStore` is deliberately small (`load`, `save`) so that the journal can back it later.
`JsonRiskStateStore` keeps `RUN_DIR/risk_state.json`, written atomically (tmp + rename); its
`changed()` tells the guard that someone else (`parity halt`, `parity risk reset`) rewrote it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from parity.errors import ConfigError

STATE_FILE = "risk_state.json"


@dataclass
class RiskState:
    """The kill switch, the trading day's counters and the equity marks."""

    killed: bool = False
    kill_reason: str = ""
    killed_at: str | None = None  # the bar (or wall-clock) time it tripped, ISO
    day: str | None = None  # the trading day (ISO date of the bars) the counters belong to
    day_start_equity: float | None = None
    orders_today: int = 0
    day_halt_reason: str = ""  # the daily loss limit was hit: no new entries until the next day
    peak_equity: float | None = None
    last_equity: float | None = None
    resets: int = 0  # how many times an operator cleared it (`parity risk reset`)
    flatten_requested: bool = False  # `parity flatten`: cancel everything, close every position

    def halt(self, reason: str, when: str) -> None:
        """Turn the kill switch on (an operator's `parity halt`)."""
        self.killed, self.kill_reason, self.killed_at = True, reason, when

    def reset(self) -> None:
        """Clear the kill switch and the daily halt; drawdown counts again from the last
        equity (else the next bar would trip the switch again)."""
        self.killed, self.kill_reason, self.killed_at = False, "", None
        self.day_halt_reason = ""
        self.flatten_requested = False
        self.peak_equity = self.last_equity
        self.resets += 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RiskState:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


class RiskStateStore(Protocol):
    """Where a guard keeps its `RiskState`."""

    def load(self) -> RiskState: ...

    def save(self, state: RiskState) -> None: ...


@runtime_checkable
class WatchedStore(Protocol):
    """A store that can tell whether another process rewrote the state since we last saw it."""

    def changed(self) -> bool: ...


class MemoryRiskStateStore:
    """A state kept in memory only (tests, embedding)."""

    def __init__(self, state: RiskState | None = None) -> None:
        self.state = dataclasses.replace(state) if state else RiskState()

    def load(self) -> RiskState:
        return dataclasses.replace(self.state)

    def save(self, state: RiskState) -> None:
        self.state = dataclasses.replace(state)


class JsonRiskStateStore:
    """`RiskState` as a JSON file, written atomically; a missing file is a fresh state."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._seen: tuple[int, int, int] | None = None

    @classmethod
    def in_run(cls, run_dir: Path) -> JsonRiskStateStore:
        return cls(Path(run_dir) / STATE_FILE)

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def changed(self) -> bool:
        """True when the file differs from the version this store last read or wrote."""
        return self._signature() != self._seen

    def load(self) -> RiskState:
        signature = self._signature()
        if signature is None:
            self._seen = None
            return RiskState()
        try:
            values = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"{self.path} is unreadable ({exc}); fix or delete it (`parity risk reset`)"
            ) from None
        if not isinstance(values, dict):
            raise ConfigError(f"{self.path} is not a risk state; delete it or `parity risk reset`")
        self._seen = signature
        return RiskState.from_dict(values)

    def save(self, state: RiskState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state.to_dict(), indent=2))
        tmp.replace(self.path)
        self._seen = self._signature()
