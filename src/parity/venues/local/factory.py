"""The `local` venue: the local Alpaca-compatible venue, started in-process, replaying `--data`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parity.venues.protocol import Notify, Session, SessionConfig


class LocalVenue:
    name = "local"
    label = "local"
    help = "the local venue replaying --data"
    replays = True

    def open(
        self,
        config: SessionConfig,
        notify: Notify,
        *,
        run_dir: Path | None = None,
        resume: bool = False,
    ) -> Session:
        """The venue keeps its state in `run_dir` (continued with `resume`)."""
        from parity.venue.persist import VenueStore
        from parity.venues.local.session import LocalVenueSession

        store = VenueStore.for_run(run_dir, resume=resume) if run_dir is not None else None
        return LocalVenueSession(config, notify, store)

    def data_source(self, config: SessionConfig) -> str:
        return config.data

    def history_source(
        self, recorded: str, symbols: Sequence[str], start: dt.date, end: dt.date, directory: Path
    ) -> str:
        return recorded  # the source the venue replayed

    def flatten_stopped(self, run_id: str, symbols: Sequence[str]) -> list[str] | None:
        return None  # the in-process venue ended with the run
