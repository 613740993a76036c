"""The options section of the daily and weekly reports, from the journal: the option orders
submitted in the period (a combo with its legs), the expiries, exercises and assignments, and
the Greeks and exposure at the period's last session close."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from parity.instruments import instrument_for
from parity.instruments.money import format_money
from parity.reports.periodic import ReportInputs, _between, events_in, num

EVENT_KINDS = ("expiry", "exercise", "assignment", "cash_settlement")
GREEKS = ("contracts", "option_value", "delta", "gamma", "theta", "vega", "rho", "requirement")


def _is_option(symbol: Any) -> bool:
    return instrument_for(str(symbol)).asset_class == "option"


def options_period(inputs: ReportInputs, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The section, or `{}` for a run that never traded options."""
    orders = inputs.orders
    legs = orders[orders["parent"].notna() & (orders["type"] == "leg")] if len(orders) else orders
    parents = set(legs["parent"]) if len(legs) else set()
    opening = (
        orders[
            orders["client_order_id"].isin(parents)
            | (orders["symbol"].map(_is_option) & orders["type"].isin(["market", "limit"]))
        ]
        if len(orders)
        else orders
    )
    sessions = events_in(inputs, "options_session", dt.date.min, last)
    if not len(opening) and not len(sessions):
        return {}
    shown = opening[_between(opening["submitted_at"], first, last)] if len(opening) else opening
    described = {
        str(parent): " ".join(
            f"{'+' if side == 'buy' else '-'}{int(q)} {sym}"
            for sym, side, q in zip(group["symbol"], group["side"], group["qty"], strict=True)
        )
        for parent, group in legs.groupby("parent", sort=False)
    }
    combos = [
        {
            "submitted_at": str(row.submitted_at),
            "client_order_id": row.client_order_id,
            "legs": described.get(
                row.client_order_id,
                f"{'+' if row.side == 'buy' else '-'}{int(row.qty)} {row.symbol}",
            ),
            "side": row.side,
            "qty": row.qty,
            "type": row.type,
            "limit_price": num(row.limit_price),
            "status": row.status,
            "avg_fill_price": num(row.avg_fill_price),
            "reason": row.reason or None,
        }
        for row in shown.itertuples(index=False)
    ]
    events = []
    found = pd.concat([events_in(inputs, f"option_{kind}", first, last) for kind in EVENT_KINDS])
    found = found.sort_index(kind="stable")  # the journal's order
    facts = ("symbol", "qty", "shares", "cash", "underlying_price")
    for at, kind, payload in zip(found["at"], found["kind"], found["payload"], strict=True):
        events.append(
            {
                "at": str(at),
                "kind": kind.removeprefix("option_"),
                **{k: payload.get(k) for k in facts},
            }
        )
    greeks = None
    if len(sessions):
        payload = sessions["payload"].iloc[-1]
        greeks = {"as_of": payload.get("datetime"), **{k: payload.get(k) for k in GREEKS}}
    return {"orders": combos, "events": events, "greeks": greeks, "costs": _costs(sessions, first)}


def _costs(sessions: pd.DataFrame, first: dt.date) -> dict[str, float] | None:
    """What trading options cost in the period (spread paid, slippage, commission, fees and
    contracts): the sessions' running totals at its end less those before it."""
    if not len(sessions):
        return None
    end = sessions["payload"].iloc[-1].get("costs") or {}
    before = sessions[sessions["date"].map(lambda d: d is not None and d < first).astype(bool)]
    start = before["payload"].iloc[-1].get("costs") or {} if len(before) else {}
    return {k: round(float(v) - float(start.get(k, 0.0)), 6) for k, v in end.items()}


def _money(value: Any, currency: str | None, sign: bool = False) -> str:
    """An amount in the run's currency (`$1,234.50`; `+$12.00` with `sign`)."""
    if value is None:
        return "n/a"
    text = format_money(float(value), currency or "USD")
    return f"+{text}" if sign and float(value) >= 0 else text


def text_lines(section: dict[str, Any], currency: str | None = None) -> list[str]:
    """The section in the text report (nothing for a run without options); amounts in the
    run's `currency`."""
    if not section:
        return []
    c = currency
    lines = ["", "Options"]
    greeks = section.get("greeks")
    if greeks:
        lines.append(
            f"  at {greeks['as_of']}: {greeks['contracts']} contracts worth "
            f"{_money(greeks['option_value'], c)}, delta {greeks['delta']:,.2f}, gamma "
            f"{greeks['gamma']:,.4f}, theta {greeks['theta']:,.2f}, vega {greeks['vega']:,.2f}, "
            f"requirement {_money(greeks['requirement'], c)}"
        )
    costs = section.get("costs")
    if costs and costs.get("contracts"):
        lines.append(
            f"  costs on {costs['contracts']:g} contracts: spread "
            f"{_money(costs['spread_cost'], c)}, slippage {_money(costs['slippage_cost'], c)}, "
            f"commission {_money(costs['commission'], c)}, fees {_money(costs['fees'], c)}"
        )
    for order in section["orders"]:
        price = order["avg_fill_price"]
        lines.append(
            f"  {order['submitted_at'][:16]}  {order['legs']}  {order['type']} x{order['qty']}"
            f"  {order['status']}"
            + ("" if price is None else f" at {_money(price, c)}")
            + (f" ({order['reason']})" if order["reason"] else "")
        )
    for event in section["events"]:
        lines.append(
            f"  {event['at'][:16]}  {event['kind']} {event['symbol']} qty {event['qty']:+g}"
            + (f", shares {event['shares']:+g}" if event.get("shares") else "")
            + f", cash {_money(event['cash'], c, sign=True)}"
        )
    if len(lines) == 2:
        lines.append("  no option orders or events")
    return lines


def html_rows(
    section: dict[str, Any], currency: str | None = None
) -> list[tuple[list[str], list[list[str]]]]:
    """(headers, rows) tables of the section in the HTML report; amounts in `currency`."""
    if not section:
        return []
    c = currency
    tables = []
    if section.get("greeks"):
        g = section["greeks"]
        tables.append((["as of", *GREEKS], [[str(g["as_of"]), *(str(g[k]) for k in GREEKS)]]))
    costs = section.get("costs")
    if costs:
        cells = [f"{v:g}" if k == "contracts" else _money(v, c) for k, v in costs.items()]
        tables.append((list(costs), [cells]))
    if section["orders"]:
        head = ["submitted", "legs", "type", "qty", "limit", "status", "avg fill", "reason"]
        rows = [
            [o["submitted_at"], o["legs"], o["type"], str(o["qty"]),
             "" if o["limit_price"] is None else _money(o["limit_price"], c), o["status"],
             "" if o["avg_fill_price"] is None else _money(o["avg_fill_price"], c),
             o["reason"] or ""]
            for o in section["orders"]
        ]  # fmt: skip
        tables.append((head, rows))
    if section["events"]:
        head = ["time", "event", "symbol", "qty", "shares", "cash"]
        rows = [
            [e["at"], e["kind"], str(e["symbol"]), str(e["qty"]), str(e["shares"] or ""),
             _money(e["cash"], c, sign=True)]
            for e in section["events"]
        ]  # fmt: skip
        tables.append((head, rows))
    return tables
