"""`GET /v2/account/activities` and `/v2/account/activities/{activity_type}`: a FILL activity
per venue fill and a FEE activity per commission charged, with Alpaca's paging (`page_token` =
the last id seen, `direction`, `page_size` up to 100) and filters (`activity_types` or
`category`, `date`, `after`, `until`). Option expiries and exercises are OPEXP, or OPEXC with
its OPTRD (one `group_id`), at the expiry session's close. The venue has no dividends or
transfers: those types are valid and answer an empty list."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from aiohttp import web

from parity.venue.clock import rfc3339
from parity.venue.models import ACCOUNT_ID, decimal
from parity.venue.orders import VenueError, invalid
from parity.venue.state import VenueState
from parity.venue.streams import STATE

MAX_PAGE = 100
_NAMESPACE = uuid.UUID("0b7c43f2-57e0-4a51-8d77-2a9a6c1e4f30")
# Alpaca's activity types (alpaca-py 0.44 `ActivityType`): all accepted as filters
ACTIVITY_TYPES = frozenset(
    [
        "FILL",
        "ACATC",
        "ACATS",
        "CFEE",
        "CIL",
        "CSD",
        "CSW",
        "DIV",
        "DIVCGL",
        "DIVCGS",
        "DIVNRA",
        "DIVROC",
        "DIVTXEX",
        "DIVWH",
        "EXTRD",
        "FEE",
        "FXTRD",
        "INT",
        "INTPNL",
        "JNLC",
        "JNLS",
        "MA",
        "MEM",
        "NC",
        "OCT",
        "OPASN",
        "OPCSH",
        "OPEXC",
        "OPEXP",
        "OPTRD",
        "PTC",
        "REORG",
        "SPIN",
        "SPLIT",
        "SWP",
        "VOF",
        "WH",
    ]
)


def _activity_id(moment: datetime, key: str) -> str:
    stamp = moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"
    return f"{stamp}::{uuid.uuid5(_NAMESPACE, key)}"


def activities(state: VenueState) -> list[tuple[datetime, str, dict[str, Any]]]:
    """Every activity as (aware time, type, JSON body), oldest first."""
    engine = state.engine
    out: list[tuple[datetime, str, dict[str, Any]]] = []
    cumulative: dict[str, float] = {}
    per_fill = engine.options is None or engine.options.fee_report == "per_fill"
    for index, fill in enumerate(engine.fills):
        moment = state.calendar.aware(datetime.fromisoformat(str(fill["time"])))
        order_id = str(fill["order_id"])
        qty = float(fill["qty"])
        cum = cumulative[order_id] = cumulative.get(order_id, 0.0) + qty
        order = engine.orders.get(order_id)
        leaves = max((order.qty if order else cum) - cum, 0.0)
        done = leaves <= 1e-9
        key = f"{order_id}:{index}"
        out.append(
            (
                moment,
                "FILL",
                {
                    "id": _activity_id(moment, key),
                    "account_id": ACCOUNT_ID,
                    "activity_type": "FILL",
                    "transaction_time": rfc3339(moment),
                    "type": "fill" if done else "partial_fill",
                    "price": decimal(float(fill["price"])),
                    "qty": decimal(qty),
                    "side": fill["side"],
                    "symbol": fill["symbol"],
                    "leaves_qty": decimal(0.0 if done else leaves),
                    "order_id": order_id,
                    "cum_qty": decimal(cum),
                    "order_status": "filled" if done else "partially_filled",
                },
            )
        )
        commission = float(fill["commission"])
        if commission > 0:
            out.append(
                (
                    moment,
                    "FEE",
                    {
                        "id": _activity_id(moment, f"{key}:fee"),
                        "account_id": ACCOUNT_ID,
                        "activity_type": "FEE",
                        "date": moment.date().isoformat(),
                        "net_amount": decimal(-commission),
                        "description": _fee_description(order_id, order),
                        "status": "executed",
                        "symbol": fill["symbol"],
                        "qty": decimal(qty),
                        "price": decimal(float(fill["price"])),
                    },
                )
            )
        for name, amount in dict(fill.get("fees") or {}).items() if per_fill else ():
            # an option's regulatory fee, as Alpaca's FEE rows name it (`activity_sub_type`);
            # Alpaca charges a day's total per fee after the close, rounded up to the cent,
            # naming no order (`fee_report="daily"`: the FEE events below); `per_fill`
            # charges each fill's exactly, naming its order
            out.append(
                (
                    moment,
                    "FEE",
                    {
                        "id": _activity_id(moment, f"{key}:{name}"),
                        "account_id": ACCOUNT_ID,
                        "activity_type": "FEE",
                        "activity_sub_type": name,
                        "date": moment.date().isoformat(),
                        "net_amount": decimal(-float(amount)),
                        "description": _fee_description(order_id, order, f"{name} fee"),
                        "status": "executed",
                        "symbol": fill["symbol"],
                        "qty": decimal(qty),
                        "order_id": order_id,
                    },
                )
            )
    for index, event in enumerate(engine.option_events):
        moment = state.calendar.aware(datetime.fromisoformat(str(event["time"])))
        if event["type"] == "FEE":  # a day's regulatory fee of one type (`charge_daily_fees`)
            fee = {
                "id": _activity_id(moment, f"fee:{event['date']}:{event['sub_type']}"),
                "account_id": ACCOUNT_ID,
                "activity_type": "FEE",
                "activity_sub_type": event["sub_type"],
                "date": event["date"],
                "net_amount": decimal(float(event["net"])),
                "description": event["description"],
                "status": "executed",
                "created_at": rfc3339(moment),
            }
            out.append((moment, "FEE", fee))
            continue
        body = {
            "id": _activity_id(moment, f"option:{index}"),
            "account_id": ACCOUNT_ID,
            "activity_type": event["type"],
            "date": moment.date().isoformat(),
            "net_amount": decimal(float(event["net"])),
            "description": event["description"],
            "symbol": event["symbol"],
            "qty": decimal(float(event["qty"])),
            "status": "executed",
            "group_id": event["group"],
            "created_at": rfc3339(moment),
        }
        if "price" in event:  # OPTRD: the shares' price, the strike
            body["price"] = decimal(float(event["price"]))
        out.append((moment, event["type"], body))
    out.sort(key=lambda row: row[0])  # one timeline (stable: a pair keeps its order)
    return out


def _types(request: web.Request) -> set[str] | None:
    raw = request.match_info.get("activity_type") or request.query.get("activity_types")
    category = request.query.get("category")
    if category and not raw:
        if category not in ("trade_activity", "non_trade_activity"):
            raise invalid(f"category must be trade_activity or non_trade_activity: {category!r}")
        return {"FILL"} if category == "trade_activity" else set(ACTIVITY_TYPES - {"FILL"})
    if not raw:
        return None
    wanted = {t.strip().upper() for t in raw.split(",") if t.strip()}
    unknown = sorted(wanted - ACTIVITY_TYPES)
    if unknown:
        raise invalid(f"invalid activity type {', '.join(unknown)}: use FILL, FEE, DIV, ...")
    return wanted


def _moment(request: web.Request, key: str) -> datetime | None:
    value = request.query.get(key)
    if not value:
        return None
    try:
        return request.app[STATE].calendar.parse(value)
    except ValueError:
        raise invalid(f"{key} is not an RFC 3339 time: {value!r}") from None


def select(request: web.Request) -> list[dict[str, Any]]:
    """The page of activities the query asks for."""
    query = request.query
    wanted = _types(request)
    after, until = _moment(request, "after"), _moment(request, "until")
    on: date | None = None
    if query.get("date"):
        try:
            on = date.fromisoformat(query["date"][:10])
        except ValueError:
            raise invalid(f"date is not YYYY-MM-DD: {query['date']!r}") from None
    direction = query.get("direction", "desc").lower()
    if direction not in ("asc", "desc"):
        raise invalid(f"direction must be asc or desc, not {direction!r}")
    try:
        size = int(query.get("page_size") or MAX_PAGE)
    except ValueError:
        raise invalid("page_size must be an integer") from None
    if size <= 0 or (size > MAX_PAGE and on is None):
        raise invalid(f"page_size must be between 1 and {MAX_PAGE}")
    rows = [
        body
        for moment, kind, body in activities(request.app[STATE])
        if (wanted is None or kind in wanted)
        and (after is None or moment > after)
        and (until is None or moment < until)
        and (on is None or moment.date() == on)
    ]
    if direction == "desc":
        rows.reverse()
    token = query.get("page_token")
    if token:
        ids = [r["id"] for r in rows]
        if token not in ids:
            raise VenueError(400, 40010000, f"invalid page_token: {token!r}")
        rows = rows[ids.index(token) + 1 :]
    return rows[:size]


async def get_activities(request: web.Request) -> web.Response:
    return web.json_response(select(request))


def add_activity_routes(app: web.Application) -> None:
    """Register the account-activities routes."""
    app.router.add_get("/v2/account/activities", get_activities)
    app.router.add_get("/v2/account/activities/{activity_type}", get_activities)


def _fee_description(order_id: str, order: Any, what: str = "commission") -> str:
    """A FEE activity's description names the order charged, and an `mleg` leg's parent too:
    a client knows the combo by the parent's id (the order it sent)."""
    parent = getattr(order, "parent_id", None) if order is not None else None
    leg = f" (a leg of order {parent})" if parent else ""
    return f"{what} on order {order_id}{leg}"
