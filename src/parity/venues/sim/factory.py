"""The `sim` venue: Yahoo bars polled every `--poll-seconds`, fills from the simulated broker
(markets Alpaca does not cover)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parity.venues.protocol import Notify, Session, SessionConfig


class SimVenue:
    name = "sim"
    label = "sim"
    help = "Yahoo bars polled every --poll-seconds, simulated fills (markets Alpaca does not cover)"
    replays = False

    def open(
        self,
        config: SessionConfig,
        notify: Notify,
        *,
        run_dir: Path | None = None,
        resume: bool = False,
    ) -> Session:
        from parity.venues.sim.session import PollingSession

        return PollingSession.yahoo(config)

    def data_source(self, config: SessionConfig) -> str:
        return "yahoo (polled)"

    def history_source(
        self, recorded: str, symbols: Sequence[str], start: dt.date, end: dt.date, directory: Path
    ) -> str:
        return "yahoo"  # the vendor it polled, read as history for the window

    def flatten_stopped(self, run_id: str, symbols: Sequence[str]) -> list[str] | None:
        return None  # the simulated broker's orders and positions ended with the run
