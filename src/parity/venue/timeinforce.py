"""Alpaca's immediate and opening-auction times in force on the local venue (`cls` is in
`ordertypes`), with the rules Alpaca documents for them:

- `ioc` (immediate or cancel): the next match fills what it can (all of it, or the volume
  share's part), and the rest is canceled; an order the next match cannot fill is canceled.
- `fok` (fill or kill): all or nothing at the next match: canceled unless the whole quantity
  fills there.
- `opg` (market or limit on open): a market or limit order that trades only in the opening
  auction, the open of the session's first regular-hours bar (a limit only if the open is within
  it); whatever does not fill there is canceled. Accepted before 09:28 New York (for that day's
  open) or from 19:00 (for the next session's), rejected in between.
- `cls` (market or limit on close, matched in `ordertypes`): refused after 15:50 and before 19:00
  New York on a session day, as Alpaca refuses it; from 19:00 it is for the next session's close.

None of them is a bracket, `oco` or `oto` order (those are `day` or `gtc`), and fractional
orders are `day` orders only (checked with them in `engine`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from parity.engine.fills import Bar

if TYPE_CHECKING:
    from parity.engine.fills import FillModel
    from parity.venue.clock import MarketCalendar

IMMEDIATE = frozenset({"ioc", "fok"})
OPG_CUTOFF = time(9, 28)  # opg orders are rejected from here ...
OPG_REOPENS = time(19, 0)  # ... until here (then they are for the next session's open)
CLS_CUTOFF = time(15, 50)  # cls orders are rejected after this ...
CLS_REOPENS = time(19, 0)  # ... until here (then they are for the next session's close)


def refusal(
    tif: str, kind: str, order_class: str, now: datetime, calendar: MarketCalendar
) -> str | None:
    """Why Alpaca refuses (422) an `ioc`, `fok`, `opg` or `cls` order, or `None`."""
    local = now.astimezone(calendar.zone)
    session_day = bool(calendar.session_dates(local.date(), local.date()))
    if tif == "cls" and session_day and CLS_CUTOFF < local.time() < CLS_REOPENS:
        return (
            "cls orders are not accepted after 3:50pm and before 7:00pm ET: "
            "the closing auction has closed"
        )
    if tif not in IMMEDIATE | {"opg"}:
        return None
    if order_class != "simple":
        return f"{order_class} orders must be day or gtc orders"
    if tif != "opg":
        return None
    if kind not in ("market", "limit"):
        return "opg orders must be market or limit orders"
    if session_day and OPG_CUTOFF <= local.time() < OPG_REOPENS:
        return (
            "opg orders are accepted only before 9:28am or after 7:00pm ET: "
            "the opening auction has closed"
        )
    return None


def opening_session(now: datetime, calendar: MarketCalendar) -> date:
    """The session whose opening auction an `opg` order submitted at `now` trades in."""
    return calendar.next_open(now).date()


def opg_price(fill: FillModel, buy: bool, limit: float | None, bar: Bar) -> float | None:
    """The opening auction, on the session's first bar: the open (the fill model's market
    price), for a limit order only if the open is within `limit` (the fill model's limit
    price)."""
    if limit is None:
        return fill.market(buy, bar)
    within = bar.open <= limit if buy else bar.open >= limit
    return fill.limit(buy, bar, limit) if within else None


def fillable(tif: str, qty: float, remaining: float) -> float:
    """What an order may fill of `qty`: an `fok` order all of its remainder or nothing."""
    return 0.0 if tif == "fok" and qty < remaining else qty


def done_after_match(tif: str) -> bool:
    """An `ioc`, `fok` or `opg` order is over once it has been matched: the rest is canceled."""
    return tif in IMMEDIATE or tif == "opg"
