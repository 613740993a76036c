"""`run paper --continue RUN`: the same paper run on a later day, with the day's params.

A cron job runs the day's plan every morning on one account: the run id, journal, cash,
positions and open brackets go on from the previous day. It differs from `--resume` (a crash)
in that the run stopped cleanly and its params (the plan file) may change; the venue and the
journal are reconciled the same way (`runners.resume.reconcile`), and the strategy takes what
the previous day carried (`runners.continuation`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from parity.errors import ConfigError, JournalError
from parity.journal.database import run_journal_target
from parity.journal.lock import lock_run
from parity.manifest import Manifest
from parity.runners.paper import PaperResult, Resume, run_paper
from parity.runners.paper_config import PaperConfig
from parity.venues.protocol import Session


@dataclasses.dataclass(frozen=True, kw_only=True)
class DayChanges:
    """What the next day's command may change: the strategy's params (merged over the recorded
    ones), the last date the local venue replays (`--to`) and `--until`. `strategy`/`venue`
    are the ones the command names (None: not given), checked against the run's, as is the
    options setup (a run's options desk goes on with the assumptions and costs it began with:
    its book, its fills' measures and `compare`'s model twin are one setup's)."""

    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    end: dt.date | None = None
    until: dt.datetime | None = None
    strategy: str | None = None
    venue: str | None = None
    # the options setup the command's flags give (`options`: the assumptions, `venue_options`:
    # the local venue's terms; a key only when given), checked against the run's
    options_setup: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def continue_paper(
    run_dir: Path,
    changes: DayChanges,
    *,
    notify: Callable[[str], None] = lambda _m: None,
    stop: threading.Event | None = None,
    session: Session | None = None,
    alert_urls: tuple[str, ...] = (),
) -> PaperResult:
    """Continue the cleanly stopped paper run in `run_dir` with `changes`."""
    name = run_dir.name
    lock = lock_run(run_journal_target(run_dir), name) if _has_journal(run_dir) else None
    try:
        info = _stopped_run(run_dir, journaled=lock is not None)
        recorded = Manifest.from_dict(info.manifest, run_id=name).config or {}
        _check_same(name, "strategy", str(recorded.get("strategy")), changes.strategy)
        _check_same(name, "venue", str(recorded.get("venue")), changes.venue)
        for key, given in changes.options_setup.items():
            _check_options(name, key, recorded.get(key), given)
        if recorded.get("venue") == "local" and not (run_dir / "venue.sqlite").is_file():
            raise ConfigError(
                f"run {name} left no local venue state (venue.sqlite): it cannot be continued; "
                "start a new run"
            )
        config = PaperConfig.from_dict(
            recorded,
            run_id=name,
            runs_dir=run_dir.parent,
            existing="adopt",
            backfill=max(int(recorded.get("backfill") or 0), 200),
            cash=None,  # the account's cash now: what is left comes from the journal
        )
        config = dataclasses.replace(
            config,
            params={**dict(config.params), **dict(changes.params)},
            end=changes.end or config.end,
            until=changes.until,
            alerts=config.alerts.with_urls(alert_urls),
        )
        notify(f"continuing {name} (stopped cleanly at {info.finished_at} UTC)")
        resume = Resume(lock=lock, continued=True)
        return run_paper(config, notify=notify, stop=stop, session=session, resume=resume)
    finally:
        if lock is not None:
            lock.release()


def _has_journal(run_dir: Path) -> bool:
    target = run_journal_target(run_dir)
    return not isinstance(target, Path) or target.is_file()


def _stopped_run(run_dir: Path, *, journaled: bool) -> Any:
    """The run's record, refused unless it stopped cleanly."""
    from parity.journal.reader import JournalReader

    name = run_dir.name
    if not journaled:
        raise ConfigError(
            f"run {name} has no journal: nothing to continue; start a new run instead"
        )
    reader = JournalReader.open(run_journal_target(run_dir))
    try:
        info = reader.run(name)
    except JournalError:
        raise ConfigError(
            f"run {name} was never recorded in its journal: nothing to continue; start a new run"
        ) from None
    finally:
        reader.close()
    if info.mode != "paper":
        raise ConfigError(f"run {name} is a {info.mode} run; --continue continues paper runs")
    if info.status != "finished":
        raise ConfigError(
            f"run {name} did not stop cleanly (status {info.status}); continue it with "
            f"--resume {name}, which reconciles the crash first"
        )
    return info


def _check_same(run: str, what: str, recorded: str, given: str | None) -> None:
    if given is not None and given != recorded:
        raise ConfigError(
            f"run {run} ran {what} {recorded}, not {given}; continue it with {what} {recorded} "
            f"or start a new run"
        )


def _check_options(run: str, key: str, recorded: Any, given: Any) -> None:
    if json.loads(json.dumps(given, default=str)) != recorded:
        was = json.dumps(recorded, sort_keys=True) if recorded else "the defaults"
        raise ConfigError(
            f"run {run} trades options with {key} {was}, not {json.dumps(given, sort_keys=True)}:"
            " --continue keeps a run's options setup; drop the option flags or start a new run"
        )
