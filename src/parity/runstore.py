"""The runs directory: creating run ids and directories, writing artifacts, finding runs again.

Layout: `RUNS_DIR/RUN_ID/{manifest.json, metrics.json, equity.csv, returns.csv, trades.csv,
orders.csv, fills.csv}` (see design.md, "Run artifacts"), beside the run's `journal.sqlite`
(unless `PARITY_DB_URL` names a database): `equity.csv`, `orders.csv`, `fills.csv` (and a paper
run's `tape.csv`) are exports of the journal, written by the runners from its frames.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from parity.errors import ConfigError, ReportError, RunNotFoundError
from parity.manifest import Manifest

_SAFE_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def check_run_id(run_id: str) -> str:
    """`run_id` if it is a safe directory name (letters, digits, `._-`, no leading dot, at most
    128 characters), else a one-line `ConfigError`: a run id becomes a path under the runs
    directory, so `../x` or `/tmp/x` must never be one."""
    if not _SAFE_RUN_ID.fullmatch(run_id):
        raise ConfigError(
            f"run id {run_id!r} is not a safe name; use up to 128 letters, digits, '.', '_' "
            "and '-', not starting with '.' (e.g. --run-id spy-paper-1)"
        )
    return run_id


def new_run_id(strategy: str, now: dt.datetime | None = None) -> str:
    """`20260101-093000-sma_cross-a1b2c3`: sortable by time, readable, unique."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", strategy.rsplit(":", 1)[-1]).strip("_")[:24] or "run"
    return f"{stamp}-{slug}-{secrets.token_hex(3)}"


def check_runs_dir(root: Path) -> None:
    """Refuse, before a run starts, a runs directory that cannot hold a new run: one under a
    file, or one (or its nearest existing parent) this user cannot write. Creates nothing."""
    root = Path(root)
    hint = "pass --runs-dir DIR (or PARITY_RUNS_DIR) naming a writable directory"
    existing = root.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"runs directory {root} cannot be created: {existing} is a file; {hint}")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "it" if existing == root.absolute() else f"its parent {existing}"
        raise ConfigError(f"runs directory {root} is not writable: {what} is read-only; {hint}")


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """`write(tmp_path)` then rename, so a reader never sees a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    tmp.replace(path)


def _frame_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    """One CSV artifact (no index), written atomically."""
    _write_atomic(path, partial(_frame_csv, frame))


def _text(text: str) -> Callable[[Path], object]:
    return lambda path: path.write_text(text)


@dataclass(frozen=True)
class RunArtifacts:
    """Everything a finished run writes."""

    manifest: Manifest
    metrics: dict[str, Any]
    equity: pd.DataFrame
    returns: pd.Series
    trades: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame


def write_run(run_dir: Path, artifacts: RunArtifacts) -> None:
    """Write every artifact; each file is written atomically (tmp + rename)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps(artifacts.manifest.to_dict(), indent=2, default=str)
    _write_atomic(run_dir / "manifest.json", _text(manifest))
    _write_atomic(run_dir / "metrics.json", _text(json.dumps(artifacts.metrics, indent=2)))
    _write_atomic(
        run_dir / "equity.csv", lambda p: artifacts.equity.to_csv(p, index_label="datetime")
    )
    returns = artifacts.returns.rename("return")
    returns.index = returns.index.strftime("%Y-%m-%d")
    _write_atomic(run_dir / "returns.csv", lambda p: returns.to_csv(p, index_label="date"))
    for name, frame in (
        ("trades", artifacts.trades),
        ("orders", artifacts.orders),
        ("fills", artifacts.fills),
    ):
        _write_atomic(run_dir / f"{name}.csv", partial(_frame_csv, frame))


@dataclass(frozen=True)
class RunRecord:
    """A run found on disk."""

    run_id: str
    path: Path
    manifest: Manifest
    metrics: dict[str, Any]

    def returns(self) -> pd.Series:
        """The run's daily returns (`returns.csv`) as a float Series on a DatetimeIndex."""
        path = self.path / "returns.csv"
        try:
            frame = pd.read_csv(path, index_col="date", parse_dates=["date"])
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise ReportError(
                f"{path} is missing or malformed ({exc}); re-run the backtest"
            ) from None
        return frame["return"].astype("float64")


RUN_MARKERS = ("manifest.json", "journal.sqlite", "risk_state.json", "logs")


def _is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in RUN_MARKERS)


def _as_utc(value: Any) -> dt.datetime | None:
    try:
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def _journal_created_at(run_dir: Path) -> dt.datetime | None:
    """The creation stamp the journal recorded when the run started (a running paper run has
    no manifest yet)."""
    from parity.errors import ParityError
    from parity.journal.database import run_journal_target
    from parity.journal.reader import JournalReader

    target = run_journal_target(run_dir)
    if isinstance(target, Path) and not target.is_file():
        return None
    try:
        reader = JournalReader.open(target)
    except (ParityError, OSError):
        return None
    try:
        return _as_utc(reader.run(run_dir.name).created_at)
    except (ParityError, OSError):
        return None
    finally:
        reader.close()


def run_created_at(run_dir: Path, manifest: Any = None) -> dt.datetime:
    """When the run was created (UTC): the manifest's `created_at`, else the journal's creation
    stamp (a run still running), else the directory's modification time."""
    if manifest is None:
        try:
            manifest = json.loads((run_dir / "manifest.json").read_text())
        except (OSError, ValueError):
            manifest = None
    if isinstance(manifest, dict):
        manifest = Manifest.from_dict(manifest, run_id=run_dir.name)
    stamp = _as_utc(manifest.created_at) if isinstance(manifest, Manifest) else None
    stamp = stamp or _journal_created_at(run_dir)
    return stamp or dt.datetime.fromtimestamp(run_dir.stat().st_mtime, dt.UTC)


def resolve_run_dir(ref: str, runs_dir: Path) -> Path:
    """A run's directory by path, exact id, unique id prefix, or `latest` (the run created
    last, by `run_created_at`, whatever its id): the one meaning of RUN for every command,
    running runs included."""
    path = Path(ref)
    if ref != "latest" and _is_run_dir(path):
        return path
    # by name: any directory (a run killed as it started may hold nothing yet: `--resume` it)
    dirs = sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
    if ref == "latest":
        runs = [p for p in dirs if _is_run_dir(p)]
        if not runs:
            raise RunNotFoundError(f"no runs in {runs_dir}; run `parity run backtest` first")
        return max(runs, key=lambda p: (run_created_at(p), p.name))
    matches = [p for p in dirs if p.name == ref] or [p for p in dirs if p.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RunNotFoundError(
            f"run {ref!r} is ambiguous in {runs_dir} ({len(matches)} runs match); "
            "give more of the id"
        )
    raise RunNotFoundError(
        f"run {ref!r} not found in {runs_dir}; see `parity runs list` or pass --runs-dir"
    )


class RunStore:
    """Finds runs under one runs directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def runs(self) -> list[RunRecord]:
        """Every readable run, oldest first. Directories without a manifest are skipped."""
        if not self.root.is_dir():
            return []
        records = [
            self._read(path) for path in self.root.iterdir() if (path / "manifest.json").is_file()
        ]
        return sorted(records, key=lambda r: (run_created_at(r.path, r.manifest), r.run_id))

    def get(self, ref: str) -> RunRecord:
        """A finished run by id, unique id prefix, `latest`, or path (see `resolve_run_dir`)."""
        path = resolve_run_dir(ref, self.root)
        if not (path / "manifest.json").is_file():
            raise RunNotFoundError(
                f"run {path.name!r} has no manifest.json yet (still running, or it crashed "
                f"before the end); see `parity status {path.name}`"
            )
        return self._read(path)

    def _read(self, path: Path) -> RunRecord:
        try:
            raw = json.loads((path / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunNotFoundError(f"{path / 'manifest.json'} is unreadable ({exc})") from None
        if not isinstance(raw, dict):
            raise RunNotFoundError(f"{path / 'manifest.json'} is not a JSON object")
        manifest = Manifest.from_dict(raw, run_id=path.name)
        try:
            metrics = json.loads((path / "metrics.json").read_text())
        except (OSError, json.JSONDecodeError):
            metrics = {}
        return RunRecord(run_id=manifest.run_id, path=path, manifest=manifest, metrics=metrics)
