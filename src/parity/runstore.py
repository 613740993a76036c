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

ENV_RUNS_DIR = "PARITY_RUNS_DIR"


def default_runs_dir() -> Path:
    return Path(os.environ.get(ENV_RUNS_DIR) or "runs")


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

    manifest: dict[str, Any]
    metrics: dict[str, Any]
    equity: pd.DataFrame
    returns: pd.Series
    trades: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame


def write_run(run_dir: Path, artifacts: RunArtifacts) -> None:
    """Write every artifact; each file is written atomically (tmp + rename)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps(artifacts.manifest, indent=2, default=str)
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
    manifest: dict[str, Any]
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
        return sorted(records, key=lambda r: (str(r.manifest.get("created_at", "")), r.run_id))

    def get(self, ref: str) -> RunRecord:
        """A run by id, unique id prefix, `latest`, or path to its directory."""
        path = Path(ref)
        if (path / "manifest.json").is_file():
            return self._read(path)
        runs = self.runs()
        if ref == "latest":
            if not runs:
                raise RunNotFoundError(f"no runs in {self.root}; run `parity run backtest` first")
            return runs[-1]
        exact = [r for r in runs if r.run_id == ref]
        if exact:
            return exact[0]
        matches = [r for r in runs if r.run_id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise RunNotFoundError(
                f"run {ref!r} is ambiguous in {self.root} ({len(matches)} runs match); "
                "give more of the id"
            )
        raise RunNotFoundError(
            f"run {ref!r} not found in {self.root}; see `parity runs list` or pass --runs-dir"
        )

    def _read(self, path: Path) -> RunRecord:
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunNotFoundError(f"{path / 'manifest.json'} is unreadable ({exc})") from None
        try:
            metrics = json.loads((path / "metrics.json").read_text())
        except (OSError, json.JSONDecodeError):
            metrics = {}
        return RunRecord(
            run_id=manifest.get("run_id", path.name), path=path, manifest=manifest, metrics=metrics
        )


def process_alive(pid: int | None) -> bool:
    """Whether a process with `pid` exists on this machine (a running run's heartbeat owner)."""
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
