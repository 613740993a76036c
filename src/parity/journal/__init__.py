"""The run journal: one source of truth for every run (SQLite per run, or PostgreSQL).

`Journal` writes (runs, the tape, order intents before submission, order events, fills, equity,
events); `JournalReader` reads (also available as `Journal.reader`); `OrderJournal` journals
Backtrader orders for the recorder and a live broker. The CSV run artifacts are exports of it.
"""

from __future__ import annotations

from parity.journal.database import ENV_DB_URL, JOURNAL_FILE, run_journal_target
from parity.journal.reader import JournalReader, RunInfo
from parity.journal.schema import SCHEMA_VERSION
from parity.journal.writer import BarRecord, EquityRecord, Journal

__all__ = [
    "ENV_DB_URL",
    "JOURNAL_FILE",
    "SCHEMA_VERSION",
    "BarRecord",
    "EquityRecord",
    "Journal",
    "JournalReader",
    "RunInfo",
    "run_journal_target",
]
