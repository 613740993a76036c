"""Where a resumed (`--resume`) or continued (`--continue`) paper run picks up, and with what
cash: the journal's resume point, the venue's state reconciled with the journal (or, with no
venue account, the simulated broker's cash restored from the journal)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parity.journal.lock import RunLock
from parity.manifest import Manifest
from parity.runners.paper_config import PaperConfig
from parity.runners.resume import (
    ResumePoint,
    VenueAhead,
    continue_point,
    journal_positions,
    reconcile,
    resume_point,
    resumed_cash,
)
from parity.runners.resume_bars import DownFillBars, symbol_bars
from parity.venues.clock import bar_filter

Notify = Callable[[str], None]


@dataclass
class Resume:
    """How to continue a crashed run: `adopt` takes the venue's state on a mismatch."""

    adopt: bool = False
    cash: float = 0.0
    starting_cash: float = 0.0
    lock: RunLock | None = None  # the run's writer lock, taken before anything else
    # continued on a later day (`--continue`): the run stopped cleanly, its last bar is
    # processed again live and the strategy takes what it carried (see `runners.continuation`)
    continued: bool = False


def restart(
    config: PaperConfig,
    resume: Resume | None,
    journal: Any,
    run_id: str,
    account: Any,
    starting_cash: float,
    notify: Notify,
    ahead: VenueAhead | None = None,
) -> ResumePoint:
    """The resume point of `resume` (an empty one for a new run), with `resume`'s cash set.
    `ahead`: what the venue applied that the run journals later (an options desk's)."""
    if resume is None:
        return ResumePoint()
    manifest = Manifest.from_dict(journal.reader.run(run_id).manifest, run_id=run_id)
    recorded_cash = manifest.starting_cash
    resume.starting_cash = float(starting_cash if recorded_cash is None else recorded_cash)
    live_from = manifest.live_from
    point = (
        continue_point(journal.reader, run_id, daily=config.timeframe.is_daily)
        if resume.continued
        else resume_point(
            journal.reader,
            run_id,
            dt.datetime.fromisoformat(live_from) if live_from else None,
            daily=config.timeframe.is_daily,
        )
    )
    # each symbol's bars numbered on from its own count (a symbol may lack some bars)
    point = dataclasses.replace(
        point,
        symbol_bars=symbol_bars(journal.reader, run_id, point.live_after, config.timeframe),
    )
    if account is None:  # nothing at a venue: the journal is the whole truth
        resume.cash = resumed_cash(journal, run_id, resume.starting_cash)
        notify(
            f"reconciliation: simulated broker restored from the journal (cash "
            f"{resume.cash:,.2f}, positions {journal_positions(journal, run_id)})"
        )
    else:
        rec = reconcile(
            account,
            journal,
            run_id,
            config.symbols,
            adopt=resume.adopt,
            notify=notify,
            ahead=ahead,
            fill_bar=DownFillBars(
                journal.reader.last_equity(run_id),
                point.symbol_bars,
                bar_filter(config),
                daily=config.timeframe.is_daily,
            ),
        )
        notify(rec.report())
        # after reconciling: a fill the venue made while the run was down is journaled
        # by then, and its cash leaves with it (else the position is valued twice)
        resume.cash = resumed_cash(journal, run_id, resume.starting_cash)
    return point


def journal_backlog(feeds: list[Any], journal: Any, notify: Notify) -> None:
    """Say which bars after the last one processed before the crash are processed live now
    (the bar in progress, and any the venue published while the run was down)."""
    for feed in feeds:
        backlog = getattr(feed, "backlog", None)
        if not backlog:
            continue
        first, last = backlog[0], backlog[-1]
        text = (
            f"{feed.symbol}: {len(backlog)} bar(s) after the last one processed before the crash "
            f"({first:%Y-%m-%d %H:%M}"
            + (f" to {last:%Y-%m-%d %H:%M}" if last != first else "")
            + ") read from history, processed live now"
        )
        notify(text)
        journal.event(
            "resume_backlog",
            {"symbol": feed.symbol, "bars": len(backlog), "first": first, "last": last,
             "reason": text},
            level="warning" if len(backlog) > 1 else "info",
        )  # fmt: skip
