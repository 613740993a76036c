"""Resuming a paper run after a crash (`parity run paper --resume RUN`).

Journal and venue are reconciled in this order, as NautilusTrader does at startup:

1. orders — every journaled intent is looked up at the venue by its client order id: never sent
   (the crash came between journaling and sending) is recorded as such; still open is cancelled
   (the strategy decides again from the current bar);
2. fills — what the venue filled beyond what the journal holds happened while the run was down:
   recorded now, once;
3. positions — the journal's positions (from fills) must equal the venue's for the run's symbols;
4. cash — the venue's must be the account's cash at the start moved by the journal's fills.

A venue that lost its history (a fresh one on the same address) cannot explain the journal's
fills: an order with journaled fills is never rewritten as unsent. Anything unexplained refuses
the resume unless `adopt` (then the venue's state is taken).

`resume_point` says where the run picks up: the last bar the journal shows as fully processed
(its equity row is written after the bar's decisions). Bars up to it are warm-up (re-read from
history, never recorded twice); every later bar, the one in progress at the crash included, is
processed live.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import pandas as pd

from parity.errors import BrokerError, ConfigError
from parity.instruments import instrument_for
from parity.manifest import Manifest
from parity.runners.resume_legs import bracket_leg, oco_leg
from parity.venues.protocol import VenueAccount
from parity.venues.types import OrderSnapshot, PositionInfo

OPEN = {
    "new",
    "accepted",
    "partially_filled",
    "pending_new",
    "held",
    "pending_replace",
    "pending_cancel",
    "accepted_for_bidding",
    "calculated",
}
FINAL = {"rejected", "margin", "canceled", "cancelled", "expired", "done_for_day"}


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed run picks up.

    `live_after`: bars starting after it are processed live (None: no boundary known, the
    history read at start-up is all warm-up); `next_bar`: the number of the first of them;
    `marks`: the last price journaled per symbol (a position is never valued at zero before
    its first bar); `taped`: the newest bar on the tape per symbol (never taped twice)."""

    live_after: dt.datetime | None = None
    next_bar: int = 0
    marks: dict[str, float] = field(default_factory=dict)
    taped: dict[str, dt.datetime] = field(default_factory=dict)
    # per symbol, the number its feed gives its first live bar (`resume_bars.symbol_bars`;
    # a symbol not in it: `next_bar`)
    symbol_bars: dict[str, int] = field(default_factory=dict)
    # a continued run: its previous day's last bar is processed again live (so what it decided
    # then is sent again), its equity recorded once already through this time
    equity_through: dt.datetime | None = None

    def feed_args(self, symbol: str = "") -> dict[str, Any]:
        """What a session's `feed()` of `symbol` takes to continue here (nothing for a new run,
        so that a session of an embedding application need not know about resuming)."""
        if self.live_after is None:
            return {}
        return {
            "live_after": self.live_after,
            "first_bar": self.symbol_bars.get(symbol, self.next_bar),
        }


def resume_point(
    reader: Any, run_id: str, live_from: dt.datetime | None, *, daily: bool = False
) -> ResumePoint:
    """The resume point of `run_id`; `live_from` is when it first went live (bars before it were
    its warm-up), for a run that died before it finished a bar. `daily`: equity rows are
    labelled with dates, Backtrader stamps a daily bar at the end of its day."""
    ends = reader.tape_ends(run_id)
    marks = {symbol: close for symbol, (_start, close) in ends.items()}
    taped = {symbol: start for symbol, (start, _close) in ends.items()}
    # a fresh run's warm-up bars (before `live_from`) stay warm-up even when it recorded some
    bounds = [live_from - dt.timedelta(microseconds=1)] if live_from is not None else []
    last = reader.last_equity(run_id)
    if last is not None:
        bounds.append(last[0] + dt.timedelta(days=1, microseconds=-1) if daily else last[0])
    return ResumePoint(max(bounds, default=None), last[1] + 1 if last else 0, marks, taped)


def continue_point(reader: Any, run_id: str, *, daily: bool = False) -> ResumePoint:
    """Where a cleanly stopped run continued on a later day picks up: at its last bar, processed
    again live (the orders decided on it were cancelled when the run stopped and are sent again
    from there, to work from the next bar as in one uninterrupted run), numbered as before and
    not recorded twice."""
    point = resume_point(reader, run_id, None, daily=daily)
    last = reader.last_equity(run_id)
    if last is None:
        return point
    at, number = last
    return dataclasses.replace(
        point,
        live_after=at - dt.timedelta(microseconds=1),
        next_bar=number,
        equity_through=point.live_after,
    )


@dataclass
class VenueAhead:
    """What the venue applied that the journal records only once the resumed run has applied
    it (an options desk's fills and expiry/exercise/assignment activities while the run was
    down): shares per symbol and cash, added to the journal's side of the comparison."""

    shares: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0
    lines: list[str] = field(default_factory=list)


# orders an options desk journals: its own (`asset_class` option) and the share legs of
# exercises and assignments; `runners.option_resume` reconciles them, not `reconcile`
SETTLEMENT_TYPES = ("expiry", "exercise", "assignment", "cash_settlement")


@dataclass
class Reconciliation:
    """What resuming found and did."""

    lines: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    positions: dict[str, PositionInfo] = field(default_factory=dict)

    def report(self) -> str:
        body = self.lines or ["journal and venue agree: nothing to do"]
        return "\n".join(["reconciliation:", *(f"  {line}" for line in body)])


def reconcile(
    store: VenueAccount,
    journal: Any,
    run_id: str,
    symbols: tuple[str, ...],
    *,
    adopt: bool,
    notify: Callable[[str], None] = lambda _m: None,
    ahead: VenueAhead | None = None,
    fill_bar: Callable[[str, dt.datetime | None, Any], int] | None = None,
) -> Reconciliation:
    """Bring the journal up to date with the venue (orders, then fills, then positions, then
    cash). Every unexplained difference is notified on its own line before the refusal.
    `ahead`: what the venue applied that the run journals later (options).
    `fill_bar(symbol, filled_at, decided_at)`: the bar of a fill made while the run was down
    (`resume_bars.DownFillBars`; default: the bar after the last one processed)."""
    reader = journal.reader
    intents = reader.intents(run_id)
    desk = (intents["asset_class"] == "option") | intents["type"].isin(SETTLEMENT_TYPES)
    intents = intents[~desk]
    fills = reader.fills(run_id)
    have = fills.groupby("client_order_id")["qty"].sum().to_dict() if len(fills) else {}
    notional = (
        (fills["qty"] * fills["price"]).groupby(fills["client_order_id"]).sum().to_dict()
        if len(fills)
        else {}
    )
    events = reader.order_events(run_id)  # the last state journaled, whoever journaled it
    status = dict(zip(events["client_order_id"], events["status"], strict=True))
    result = Reconciliation()
    unsent: list[str] = []  # journaled, never sent: marked once the resume is not refused
    # a fill made while the run was down belongs to the bar after the last one processed, or
    # one later for an order decided on the bar in progress at the crash
    last = reader.last_equity(run_id)
    decided = dict(zip(intents["client_order_id"], intents["decided_at"], strict=True))
    numbers = dict(zip(intents["client_order_id"], intents["seq"], strict=True))
    parents: dict[str, OrderSnapshot | None] = {}
    by_seq = {int(row.seq): row for row in intents.itertuples()}
    for row in intents.itertuples():
        cid = row.client_order_id
        journaled = float(have.get(cid, 0.0))
        snap = store.order_by_client_id(cid)
        if snap is None and isinstance(row.parent, str) and row.parent:
            snap = bracket_leg(store, parents, row)
        elif snap is not None and snap.status in FINAL and not snap.filled_qty:
            snap = oco_leg(store, parents, row, by_seq.get(int(row.seq) + 1)) or snap
        if snap is None:
            if _absent(result, cid, journaled, str(status.get(cid, ""))):
                unsent.append(cid)
            continue
        if snap.filled_qty > journaled + 1e-9:
            missing = snap.filled_qty - journaled
            average = snap.filled_avg_price or 0.0
            price = (average * snap.filled_qty - float(notional.get(cid, 0.0))) / missing
            when = snap.filled_at or snap.updated_at or dt.datetime.now()
            journal.fill(
                cid,
                order_seq=int(numbers[cid]),
                symbol=snap.symbol,
                side=snap.side,
                cum_qty=snap.filled_qty,
                qty=missing,
                price=price,
                commission=0.0,
                at=when,
                bar=(
                    fill_bar(snap.symbol, snap.filled_at, decided.get(cid))
                    if fill_bar is not None
                    else _down_bar(last, decided.get(cid))
                ),
                durable=True,
            )
            result.lines.append(
                f"{cid}: recorded {missing:g} {snap.symbol} filled at "
                f"{price:.4f} while the run was down"
            )
        elif snap.filled_qty < journaled - 1e-9:
            result.unexplained.append(
                f"{cid}: the journal holds {journaled:g} filled, the venue {snap.filled_qty:g}"
            )
        journal.order_event(
            cid,
            status=snap.status,
            event="reconciled",
            filled_qty=snap.filled_qty,
            avg_price=snap.filled_avg_price,
            source="resume",
            durable=True,
        )
        if snap.status in OPEN:  # after the venue's state: the cancel is the order's last word
            store.cancel_order(snap.id)
            journal.order_event(
                cid,
                status="canceled",
                event="canceled_on_resume",
                filled_qty=snap.filled_qty,
                avg_price=snap.filled_avg_price,
                reason="open at resume: cancelled, the strategy decides again",
                source="resume",
                durable=True,
            )
            result.lines.append(f"{cid}: was open ({snap.status}); cancelled")
    journal.flush()
    ahead = ahead or VenueAhead()
    result.lines += ahead.lines
    ours = reader.positions(run_id)
    venue = store.positions()
    for symbol in symbols:
        want = float(ours.get(symbol, 0.0)) + ahead.shares.get(symbol, 0.0)
        held = venue.get(symbol)
        got = held.qty if held is not None else 0.0
        if abs(want - got) > 1e-9:
            result.unexplained.append(f"{symbol}: journal position {want:g}, venue {got:g}")
        if held is not None and held.qty:
            result.positions[symbol] = held
    others = any(s not in symbols and not _is_option(s) for s in venue)
    _check_cash(store, journal, run_id, result, others=others, ahead=ahead.cash)
    if result.unexplained and not adopt:
        notify("reconciliation: journal and venue disagree:")
        for text in _concise(result.unexplained, f"{run_id}-"):
            notify(f"  {text}")
        count = len(result.unexplained)
        raise BrokerError(
            f"resume refused: {count} difference{'s' if count > 1 else ''} between journal and "
            f"venue (first: {result.unexplained[0]}); check the venue is the one the run "
            "traded on, or pass --adopt to continue from the venue's state"
        )
    for cid in unsent:
        journal.order_event(
            cid,
            status="rejected",
            event="never_sent",
            reason="the run stopped before it was sent",
            source="resume",
            durable=True,
        )
    journal.flush()
    for text in result.unexplained:
        result.lines.append(f"adopted the venue's state: {text}")
    return result


def _concise(differences: list[str], order_prefix: str, most: int = 10) -> list[str]:
    """At most `most` order lines (then how many more), and every other line."""
    orders = [d for d in differences if d.startswith(order_prefix)]
    rest = [d for d in differences if not d.startswith(order_prefix)]
    more = [f"... and {len(orders) - most} more orders"] if len(orders) > most else []
    return [*orders[:most], *more, *rest]


def _absent(result: Reconciliation, cid: str, journaled: float, status: str) -> bool:
    """A journaled order the venue does not know: filled in the journal, the venue lost it
    (unexplained); already final with nothing filled (e.g. rejected by the risk guard before
    it was sent), nothing to say; else the crash came between journaling and sending it
    (True: to be marked never sent, unless the resume is refused)."""
    if journaled > 1e-9:
        result.unexplained.append(
            f"{cid}: the journal holds {journaled:g} filled, the venue has no such order"
        )
        return False
    return status not in FINAL
    result.lines.append(f"{cid}: journaled, never reached the venue (marked not sent)")


def _check_cash(
    store: VenueAccount,
    journal: Any,
    run_id: str,
    result: Reconciliation,
    *,
    others: bool,
    ahead: float = 0.0,
) -> None:
    """The venue's cash must be the account's cash at the run's start moved by the journal's
    fills (within 1 bp, at least $1: commissions of fills made while the run was down are not
    known). Not compared when the account holds other symbols: other trading moves its cash."""
    manifest = Manifest.from_dict(journal.reader.run(run_id).manifest, run_id=run_id)
    at_start, starting = manifest.account_cash, manifest.starting_cash
    if at_start is None or starting is None:
        return  # a run journaled before the account's cash was recorded
    if others:
        result.lines.append("cash not compared: the account also holds other symbols")
        return
    expected = (
        float(at_start) + resumed_cash(journal, run_id, float(starting)) - float(starting) + ahead
    )
    got = float(store.account().cash)
    if abs(got - expected) > max(1.0, 1e-4 * abs(float(at_start))):
        result.unexplained.append(
            f"cash: the venue holds {got:,.2f}, the journal's fills leave {expected:,.2f} "
            f"(the account had {float(at_start):,.2f} at the start)"
        )


def _is_option(symbol: str) -> bool:
    """An OCC option symbol (a run's contracts are its desk's, not other trading)."""
    try:
        return instrument_for(symbol).asset_class == "option"
    except ConfigError:
        return False


def _down_bar(last: tuple[dt.datetime, int] | None, decided_at: Any) -> int:
    if last is None:
        return 0
    later = decided_at is not None and not pd.isna(decided_at) and decided_at > last[0]
    return last[1] + 1 + int(later)


def resumed_cash(journal: Any, run_id: str, starting_cash: float) -> float:
    """Cash of the run after every journaled fill (and its commission); an option contract's
    premium is per share, its cash x the multiplier its order recorded."""
    fills = journal.reader.fills(run_id)
    if not len(fills):
        return starting_cash
    intents = journal.reader.intents(run_id)
    options = intents[intents["asset_class"] == "option"]  # a combo's own names its underlying
    lots = {
        s: float(m or 1.0)
        for s, m in zip(options["symbol"], options["multiplier"], strict=True)
        if _is_option(str(s))
    }
    signed = fills["qty"] * fills["price"] * fills["side"].map({"buy": -1.0, "sell": 1.0})
    signed = signed * fills["symbol"].map(lambda s: lots.get(s, 1.0))
    fees = fills["commission"].sum() + _daily_fees(journal, run_id)
    return float(starting_cash + signed.sum() - fees)


def _daily_fees(journal: Any, run_id: str) -> float:
    """The daily fees naming no order an options desk booked (`option_book` `fee` rows)."""
    frame = journal.reader.events(run_id, "option_book")
    if not len(frame):
        return 0.0
    return sum(float(p["fee"]["amount"]) for p in frame["payload"] if p.get("op") == "fee")


def journal_positions(journal: Any, run_id: str) -> dict[str, tuple[float, float]]:
    """Symbol -> (quantity, average cost) from the journal's fills (running average cost)."""
    held: dict[str, tuple[float, float]] = {}
    for row in journal.reader.fills(run_id).itertuples():
        qty = float(row.qty) if row.side == "buy" else -float(row.qty)
        size, avg = held.get(row.symbol, (0.0, 0.0))
        new = size + qty
        if abs(new) < 1e-9:
            held[row.symbol] = (0.0, 0.0)
        elif size == 0 or (size > 0) != (new > 0):
            held[row.symbol] = (new, float(row.price))
        elif (qty > 0) == (size > 0):
            held[row.symbol] = (new, (size * avg + qty * float(row.price)) / new)
        else:
            held[row.symbol] = (new, avg)
    return {s: v for s, v in held.items() if abs(v[0]) > 1e-9}


class RestoreSimState(bt.Analyzer):
    """A resumed run on the in-process simulated broker: cash and positions from the journal,
    set once the broker has started."""

    params = (("cash", 0.0), ("starting_cash", 0.0), ("positions", None))

    def start(self) -> None:
        broker = self.strategy.broker
        broker.set_cash(float(self.p.cash))
        broker.startingcash = float(self.p.starting_cash)
        for data in self.strategy.datas:
            held = (self.p.positions or {}).get(data._name)
            if held:
                broker.positions[data] = bt.Position(size=held[0], price=held[1])


class ClaimPositions(bt.Analyzer):
    """Positions the broker took over (`--existing adopt`, or a resume) belong to their feeds
    from the first bar: asking the broker for each feed's position binds it, so the equity the
    recorder and the risk guard see counts them even while the strategy is still in its warm-up
    (`prenext`, where it never asks)."""

    def start(self) -> None:
        for data in self.strategy.datas:
            self.strategy.broker.getposition(data)
