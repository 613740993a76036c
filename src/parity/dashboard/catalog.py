"""Which runs the dashboard shows and how each one is read: its journal (read-only, through
`JournalReader`) while or after it runs, or its CSV artifacts for a run made before journals.

A paper run has a journal from its first bar but writes `manifest.json` only when it ends, so a
run directory counts if it holds either. With `PARITY_DB_URL` the runs in that database are
listed too (their directories may not exist: the risk state file then is simply absent).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.errors import JournalError, RunNotFoundError
from parity.journal.database import ENV_DB_URL, JOURNAL_FILE, run_journal_target
from parity.journal.reader import JournalReader, RunInfo
from parity.processes import process_alive

STALE_HEARTBEAT_S = 90.0  # a running run whose heartbeat is older than this looks hung


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it is missing, half-written or not an object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class RunRef:
    """A run the dashboard knows: its id, directory and where its journal is (None: no journal,
    only CSV artifacts)."""

    run_id: str
    run_dir: Path
    journal: str | Path | None


class Catalog:
    """The runs under one runs directory (and in `PARITY_DB_URL`), with one cached read-only
    `JournalReader` per journal (a reader's engine is thread-safe; reads run in worker threads)."""

    def __init__(self, runs_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.runs_dir = Path(runs_dir)
        self.env = dict(os.environ if env is None else env)
        self._readers: dict[str, JournalReader] = {}
        self._lock = threading.Lock()
        # per run: the equity read so far with the id of its last row (a live page's poll reads
        # only the rows written since), and fills/orders/events with the newest row ids they
        # were read at (read again only when those change)
        self.source_cache: dict[str, tuple[Any, Any]] = {}

    # ------------------------------------------------------------------ finding runs

    def _shared_url(self) -> str:
        return self.env.get(ENV_DB_URL, "").strip()

    def refs(self) -> list[RunRef]:
        """Every run: directories with a manifest or a journal, plus a shared database's runs."""
        found: dict[str, RunRef] = {}
        url = self._shared_url()
        if self.runs_dir.is_dir():
            for path in sorted(self.runs_dir.iterdir()):
                if not path.is_dir():
                    continue
                has_journal = (path / JOURNAL_FILE).is_file()
                if not has_journal and not (path / "manifest.json").is_file():
                    continue
                journal: str | Path | None = run_journal_target(path, self.env)
                if not url and not has_journal:
                    journal = None
                found[path.name] = RunRef(path.name, path, journal)
        if url:
            try:
                ids = [info.run_id for info in self.reader(url).runs()]
            except JournalError:
                ids = []
            for run_id in ids:
                found.setdefault(run_id, RunRef(run_id, self.runs_dir / run_id, url))
        return list(found.values())

    def get(self, run_id: str) -> RunRef:
        """The run `run_id` (an exact id: URLs name runs exactly)."""
        if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", ".."):
            raise RunNotFoundError(f"run {run_id!r} is not a run id")
        path = self.runs_dir / run_id
        if not self._shared_url():  # one directory to look at, not the whole runs directory
            if (path / JOURNAL_FILE).is_file():
                return RunRef(run_id, path, path / JOURNAL_FILE)
            if (path / "manifest.json").is_file():
                return RunRef(run_id, path, None)
        for ref in self.refs():
            if ref.run_id == run_id:
                return ref
        raise RunNotFoundError(
            f"run {run_id!r} not found in {self.runs_dir}; see `parity runs list` or start the "
            "dashboard with --runs-dir"
        )

    # ------------------------------------------------------------------ reading

    def reader(self, journal: str | Path) -> JournalReader:
        key = str(journal)
        with self._lock:
            reader = self._readers.get(key)
            if reader is None:
                reader = JournalReader.open(journal)
                self._readers[key] = reader
            return reader

    def info(self, ref: RunRef) -> RunInfo | None:
        """The journal's row of the run (None without a journal, or when it is not there yet)."""
        if ref.journal is None:
            return None
        try:
            return self.reader(ref.journal).run(ref.run_id)
        except JournalError:
            return None

    def close(self) -> None:
        with self._lock:
            readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            reader.close()


def run_status(info: RunInfo | None, now: dt.datetime) -> dict[str, Any]:
    """running / finished / crashed, with the heartbeat's age. A run the journal still calls
    running whose process is gone crashed (killed without cleanup)."""
    if info is None:
        return {"status": "finished", "detail": "no journal", "alive": False,
                "heartbeat_at": None, "heartbeat_age_s": None, "stale": False}  # fmt: skip
    age = (now - info.heartbeat_at).total_seconds() if info.heartbeat_at else None
    status, detail, alive = info.status, "", False
    if status == "running":
        alive = process_alive(info.pid)
        if not alive:
            status, detail = "crashed", f"process {info.pid} is gone; resume with --resume"
    return {
        "status": status,
        "detail": detail,
        "alive": alive,
        "heartbeat_at": info.heartbeat_at.isoformat() if info.heartbeat_at else None,
        "heartbeat_age_s": None if age is None else round(age, 1),
        "stale": bool(alive and age is not None and age > STALE_HEARTBEAT_S),
    }
