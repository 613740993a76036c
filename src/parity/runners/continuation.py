"""What a strategy carries from one day's paper run to the next (`run paper --continue`).

At the end of every paper run the strategy's `carry()` (a plan's open brackets) is journaled
as a `carry` event, before the shutdown cancels the run's open orders; a run continued on a
later day gives the last one to the new strategy instance (`take_carried`) before its first
bar. Cash and positions need no carrying: the venue holds them and the journal's fills say
them (reconciled as for `--resume`).
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

CARRY_EVENT = "carry"


def save_carry(journal: Any, strategy: bt.Strategy) -> None:
    """Journal what `strategy` carries to a later day (nothing for most strategies)."""
    carry = getattr(strategy, "carry", None)
    state = carry() if callable(carry) else None
    if state is not None:
        journal.event(CARRY_EVENT, state)
        journal.flush()


def carried_state(journal: Any, run_id: str) -> dict[str, Any] | None:
    """The state the run's previous day carried, None without one."""
    events = journal.reader.events(run_id, CARRY_EVENT)
    if not len(events):
        return None
    state = events["payload"].iloc[-1]
    return dict(state) if isinstance(state, dict) else None


class TakeCarried(bt.Analyzer):
    """Hands the carried state to the strategy before its first bar (analyzers start after the
    strategy is built and before it starts)."""

    params = (("state", None),)

    def start(self) -> None:
        take = getattr(self.strategy, "take_carried", None)
        if callable(take) and self.p.state is not None:
            take(self.p.state)
