"""`--resume` (and `--continue`) of a paper run trading options: the desk rebuilt from the
journal, then the venue's word on what happened while the run was down, applied once.

1. The book (orders, positions, groups, every fill and settlement, marks, the sessions' Greeks
   rows), the desk's venue bookkeeping (contracts and notional applied per client order id, fee
   rows seen) and the run's `OptionRecorder` (client order ids, openers, open orders' records,
   costs so far) are rebuilt from the `option_book` events (`runners.option_book`). Cash and
   shares are not: the broker's come from the journal's fills and the venue (`resumed_cash`,
   the adopted positions), as for equities.
2. The strategy hears the rebuilt orders' final states and fills again (`notify_combo`,
   `notify_leg`), so that what it keeps from them (the open trade, its credit) is as it was.
3. Orders: an order journaled but unknown to the venue was never sent (the crash came before):
   it is sent now, as decided (the strategy sees it working and would not decide it again). An
   order journaled without its desk event (the two are one transaction since, so only a journal
   written otherwise holds one) is marked never sent. An order the venue holds stays the
   desk's: its fills while the run was down are read at the first bar (`sync`, keyed by
   cumulative quantity: once), as a live run reads
   what a dropped stream lost. Unlike equities, an open option order is not cancelled: the
   strategy reads the desk's pending orders (it would not decide it again), and an order kept
   working fills as in a run never stopped.
4. Quotes: the last quote received of each contract is read back from the run's option tape
   (`option_tape.csv`), as the desk measures a fill's spread and slippage against the last
   quote it saw: an order decided before the stop (a combo left working overnight by a
   `--continue`d run) is measured as in a run never stopped.
5. Activities: an expiry, exercise or assignment of a contract the rebuilt book still holds
   happened while the run was down: applied at the first bar (`settle_activities`); one of a
   contract the book no longer holds was applied before the crash, and is skipped. The shares
   such an activity delivered are already in the positions adopted from the venue
   (`venue_delivered`): its cash moves, its shares are not delivered twice.

`--continue` (a clean stop, a later day) takes the same path: the clean stop left the option
orders working and the book is rebuilt alike; only the last bar differs, processed again live by
the broker and so by the desk (`continued`: its Greeks rows are taken again, not rebuilt).

Before the equity reconciliation, `option_ahead` says what the venue applied that the journal
records only once the resumed run has applied it (down-time fills of option orders, the shares
and cash of down-time activities), so that journal and venue are compared like for like.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from parity.analyzers.option_journal import OptionRecorder
from parity.options.book import COSTS
from parity.options.orders import AccountFee, Leg, OptionOrder
from parity.runners.option_book import BOOK_EVENT, fill_of
from parity.runners.resume import VenueAhead
from parity.venues.alpaca.option_calls import OptionSnap, daily_fee_rows, option_activities

Notify = Callable[[str], None]
_SETTLING = {"OPEXP", "OPEXC", "OPASN"}


def book_events(journal: Any, run_id: str) -> list[dict[str, Any]]:
    frame = journal.reader.events(run_id, BOOK_EVENT)
    return [dict(p) for p in frame["payload"]] if len(frame) else []


def _held(events: list[dict[str, Any]]) -> dict[str, int]:
    """Contracts held after the journaled fills and settlements (symbol -> signed contracts)."""
    held: dict[str, int] = {}
    for event in events:
        rows = event.get("fills") or ([event["fill"]] if event.get("fill") else [])
        for row in rows:
            held[row["symbol"]] = held.get(row["symbol"], 0) + int(row["qty"])
    return {s: q for s, q in held.items() if q}


def _pending_activities(store: Any, held: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The venue's activity groups (expiry, exercise, assignment, with the OPTRD of the shares)
    of contracts the journal still holds: they happened while the run was down."""
    if not held:
        return {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in option_activities(store):
        groups.setdefault(str(row.get("group_id") or row.get("id")), []).append(row)
    return {
        key: rows
        for key, rows in groups.items()
        if any(r.get("activity_type") in _SETTLING and str(r.get("symbol")) in held for r in rows)
    }


def _down_fees(store: Any, events: list[dict[str, Any]], ahead: VenueAhead) -> float:
    """The venue's daily fee rows of the days the journal traded that it has not booked
    (charged while the run was down; the resumed desk books them): their cash."""
    days = {row["time"][:10] for e in events if e["op"] == "filled" for row in e["fills"]}
    if not days:
        return 0.0
    booked = {e["fee"]["id"] for e in events if e["op"] == "fee"}
    cash = 0.0
    for row in daily_fee_rows(store, after=f"{min(days)}T00:00:00Z"):
        if str(row.get("date"))[:10] in days and str(row.get("id")) not in booked:
            cash += float(row.get("net_amount") or 0.0)
            ahead.lines.append(f"fee {row.get('id')}: charged while the run was down")
    return cash


def option_ahead(store: Any, journal: Any, run_id: str) -> VenueAhead | None:
    """What the venue applied that the journal does not hold yet: the option orders' fills
    beyond the contracts journaled (cash, fees) and the down-time activities (shares, cash);
    None without a venue account."""
    if store is None:
        return None
    events = book_events(journal, run_id)
    applied: dict[str, tuple[float, float, int]] = {}  # cid -> filled, notional, fee rows
    orders: dict[str, tuple[str, float, bool]] = {}  # cid -> side, multiplier, combo
    for event in events:
        if event["op"] == "submitted":
            cid = event["cids"][0]
            multiplier = float(next(iter(event["multipliers"].values())))
            legs = event["legs"]
            side = "buy" if len(legs) > 1 or legs[0][1] > 0 else "sell"
            orders[cid] = (side, multiplier, len(legs) > 1)
        elif event["op"] == "filled":
            venue, cid = event["venue"], event["cid"]
            applied[cid] = (float(venue["filled"]), float(venue["notional"]), venue["fees_seen"])
    ahead = VenueAhead()
    for cid, (side, multiplier, combo) in orders.items():
        snap = store.order_by_client_id(cid)
        if snap is None:
            continue
        filled, notional, seen = applied.get(cid, (0.0, 0.0, 0))
        if snap.filled_qty <= filled + 1e-9:
            continue
        premium = (snap.filled_avg_price or 0.0) * snap.filled_qty - notional
        sign = -1.0 if combo or side == "buy" else 1.0  # a combo's price is signed: + debit
        fees = sum(store.order_fees(snap.id)[seen:])
        ahead.cash += sign * premium * multiplier - fees
        ahead.lines.append(f"{cid}: {snap.filled_qty - filled:g} filled while the run was down")
    ahead.cash += _down_fees(store, events, ahead)
    for key, rows in _pending_activities(store, _held(events)).items():
        for row in rows:
            if row.get("activity_type") == "OPTRD":
                symbol = str(row["symbol"])
                ahead.shares[symbol] = ahead.shares.get(symbol, 0.0) + float(row.get("qty") or 0)
                ahead.cash += float(row.get("net_amount") or 0.0)
        ahead.lines.append(f"activity {key}: applied while the run was down")
    return ahead


def last_quotes(tape: Path | None) -> dict[str, OptionSnap]:
    """The last quote of each contract in the option tape file `tape` (none without one)."""
    if tape is None or not tape.is_file() or tape.stat().st_size == 0:
        return {}
    frame = pd.read_csv(tape, parse_dates=["time"]).drop_duplicates("symbol", keep="last")
    frame = frame.astype(object).where(frame.notna(), None)  # a Greek the venue omitted: None
    sizes = ("bid", "ask", "bid_size", "ask_size")
    greeks = ("iv", "delta", "gamma", "theta", "vega", "rho")
    out: dict[str, OptionSnap] = {}
    for row in frame.to_dict("records"):
        moment = row["time"]
        out[str(row["symbol"])] = OptionSnap(
            symbol=str(row["symbol"]),
            time=None if moment is None else moment.to_pydatetime(),
            **{k: float(row[k]) for k in sizes},
            **{k: row[k] for k in greeks},
        )
    return out


def desk_restorer(
    journal: Any, run_id: str, notify: Notify, tape: Path | None = None, *, continued: bool = False
) -> Callable[[Any, OptionRecorder, Any], None]:
    """What `OptionBook` calls before the first bar of a resumed or continued run (see the
    module); `tape`: the run's option tape file."""

    def restore(desk: Any, recorder: OptionRecorder, strategy: Any) -> None:
        desk.chain_source.last.update(last_quotes(tape))
        events = book_events(journal, run_id)
        orders = _rebuild(desk, recorder, events)
        _renotify(strategy, orders, events, desk)
        _reconcile_orders(desk, journal, run_id, orders, notify)
        pending = _pending_activities(desk.store, _held(events))
        desk.venue_delivered.update(pending)
        if continued:
            _unmark_last(desk.book)
        if desk.book.greeks:
            desk.done_through = desk.book.greeks[-1]["datetime"].to_pydatetime()
        book = desk.book
        notify(
            f"options: book rebuilt from the journal ({len(book.orders)} orders, "
            f"{len(book.fills)} fills and events, {len(book.positions)} contracts held, "
            f"{len(desk._pending)} orders working); {len(pending)} expiry/exercise/assignment "
            "activities of the venue to apply"
        )

    return restore


def _unmark_last(book: Any) -> None:
    """A continued run processes its last bar again live (`runners.continuation`): the desk
    too (the strategy may decide on the chain again what the clean stop cancelled, as a share
    order), so that bar's Greeks rows are its again, not the journal's (one row per bar)."""
    if book.greeks:
        last = book.greeks.pop()["datetime"]
        book.position_greeks[:] = [p for p in book.position_greeks if p["datetime"] != last]


def _rebuild(
    desk: Any, recorder: OptionRecorder, events: list[dict[str, Any]]
) -> dict[int, OptionOrder]:
    book, contract = desk.book, desk.chain_source.contract
    orders: dict[int, OptionOrder] = {}
    for event in events:
        op = event["op"]
        if op == "submitted":
            order = OptionOrder(
                int(event["ref"]),
                tuple(Leg(contract(s), int(r)) for s, r in event["legs"]),
                int(event["qty"]),
                dt.datetime.fromisoformat(event["created"]),
                credit=event["credit"],
                debit=event["debit"],
                tif=event["tif"],
                group=int(event["group"]),
                tag=event["tag"],
                side=event["side"],
                client_order_id=event["cids"][0],
            )
            orders[order.ref] = order
            book.orders.append(order)
            desk._pending.append(order)
            desk._by_cid[order.client_order_id] = order
            desk._refs = max(desk._refs, order.ref)
            desk._groups = max(desk._groups, order.group)
            cid, number, legs, symbols = event["cids"]
            recorder._cids[order.ref] = (cid, int(number), tuple(legs), tuple(symbols))
            recorder.orders.update({k: dict(v) for k, v in event["records"].items()})
            recorder.multipliers.update(event["multipliers"])
        elif op == "filled":
            order = orders[int(event["ref"])]
            fills = [fill_of(row, contract(row["symbol"])) for row in event["fills"]]
            entry_net, contracts, opened = event["entry"]
            group = book.group(order.group, dt.datetime.fromisoformat(opened), order.tag)
            group.entry_net, group.contracts = entry_net, contracts
            for fill in fills:
                book.apply(fill)
                book.marks[fill.contract] = fill.mid
                desk.traded_days.add(fill.time.date())
                desk.fee_days.add(fill.time.date())
                for name in COSTS:
                    recorder._costs[name] += getattr(fill, name)
                recorder._costs["contracts"] += abs(fill.qty)
            order.filled, order.net = int(event["filled"]), event["net"]
            order.filled_at = dt.datetime.fromisoformat(event["filled_at"])
            recorder._openers.setdefault(order.group, order.ref)
            recorder.orders.update({k: dict(v) for k, v in event["records"].items()})
            venue, cid = event["venue"], order.client_order_id
            desk._filled[cid], desk._notional[cid] = venue["filled"], venue["notional"]
            if venue["id"]:
                desk._venue_ids[cid] = venue["id"]
                desk._fees_seen[venue["id"]] = int(venue["fees_seen"])
            for venue_id, seen in (venue.get("fee_rows") or {}).items():
                desk._fees_seen[venue_id] = int(seen)  # a combo's legs' fee rows too
                desk._charged.setdefault(cid, []).append(venue_id)
        elif op == "finished":
            order = orders[int(event["ref"])]
            order.status, order.reason = event["status"], event["reason"]
            if order in desk._pending:
                desk._pending.remove(order)
            cid, _, legs, _ = recorder._cids[order.ref]
            for each in (cid, *legs):
                recorder.orders.pop(each, None)  # a live run keeps only open orders' records
        elif op == "settled":
            row = event["fill"]
            book.apply(fill_of(row, contract(row["symbol"])))
        elif op == "fee":  # a daily fee booked (its cash is the journal's: `resumed_cash`); its
            # day's fee rows are read again, each booked once by its id
            fee = AccountFee.of(event["fee"])
            desk.fees_booked.add(fee.id)
            book.account_fees.append(fee)
        elif op == "marked":
            row = dict(event["row"])
            row["datetime"] = pd.Timestamp(row["datetime"])
            positions = [
                {**p, "datetime": pd.Timestamp(p["datetime"])} for p in event.get("positions", [])
            ]
            if book.greeks and book.greeks[-1]["datetime"] == row["datetime"]:
                book.greeks[-1] = row  # a bar processed again after a crash inside it
                book.position_greeks[:] = [
                    p for p in book.position_greeks if p["datetime"] != row["datetime"]
                ]
            else:
                book.greeks.append(row)
            book.position_greeks.extend(positions)
            book.marks = {contract(s): m for s, m in event["marks"].items()}
    return orders


def _renotify(
    strategy: Any, orders: dict[int, OptionOrder], events: list[dict[str, Any]], desk: Any
) -> None:
    """The strategy hears each order's final state and every fill and settlement again, in
    the journal's order, against the rebuilt book (what it keeps from them is rebuilt)."""
    on_combo = getattr(strategy, "notify_combo", None)
    on_leg = getattr(strategy, "notify_leg", None)
    contract = desk.chain_source.contract
    for event in events:
        op = event["op"]
        if op == "finished" and on_combo is not None:
            on_combo(orders[int(event["ref"])])
        elif op == "filled" and on_leg is not None:
            for row in event["fills"]:
                on_leg(orders[int(event["ref"])], fill_of(row, contract(row["symbol"])))
        elif op == "settled" and on_leg is not None:
            on_leg(None, fill_of(event["fill"], contract(event["fill"]["symbol"])))


def _reconcile_orders(
    desk: Any, journal: Any, run_id: str, orders: dict[int, OptionOrder], notify: Notify
) -> None:
    """Orders still working in the journal: the venue's, kept; unknown to it, never sent."""
    for order in list(desk._pending):
        cid = order.client_order_id
        found = desk.store.order_by_client_id(cid)
        if found is not None:
            desk._venue_ids[cid] = found.id
            notify(f"options: {cid} is {found.status} at the venue: kept working")
            continue
        # decided and journaled, the crash came before it was sent: the decision stands (the
        # strategy would not make it again: it sees the order working), sent now
        notify(f"options: {cid} journaled, never reached the venue: sent now")
        desk.resend(order)
    # an order journaled (its intent committed first) whose desk event was not: never sent
    known = {o.client_order_id for o in orders.values()}
    intents = journal.reader.intents(run_id)
    opened = intents[
        (intents["asset_class"] == "option")
        & intents["parent"].isna()
        & intents["type"].isin(("market", "limit"))  # not an expiry's or exercise's record
    ]
    for cid in opened["client_order_id"]:
        if cid in known or desk.store.order_by_client_id(cid) is not None:
            continue
        legs = intents.loc[intents["parent"] == cid, "client_order_id"]
        for each in (cid, *legs):
            journal.order_event(
                each, status="rejected", event="never_sent",
                reason="the run stopped before it was sent", source="resume", durable=True,
            )  # fmt: skip
        notify(f"options: {cid} journaled, never reached the venue (marked not sent)")
