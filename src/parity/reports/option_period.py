"""The options section of the daily and weekly reports, from the journal: the option orders
submitted in the period (a combo with its legs), the expiries, exercises and assignments, and
the Greeks and exposure at the period's last session close."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from parity.instruments import instrument_for
from parity.reports.option_tables import (
    combos_from_files,
    portfolio_row,
    position_row,
    read_assumptions,
)
from parity.reports.periodic import ReportInputs, _between, events_in, num

EVENT_KINDS = ("expiry", "exercise", "assignment", "cash_settlement")
GREEKS = ("contracts", "option_value", "delta", "gamma", "theta", "vega", "rho", "requirement")


def _is_option(symbol: Any) -> bool:
    return instrument_for(str(symbol)).asset_class == "option"


def options_period(inputs: ReportInputs, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The section, or `{}` for a run that never traded options."""
    orders = inputs.orders
    sessions = events_in(inputs, "options_session", dt.date.min, last)
    combos = journal_combos(orders, inputs.option_fills, inputs.run_dir, (first, last))
    if combos is None and not len(sessions):
        return {}
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
        greeks = {
            "as_of": payload.get("datetime"),
            **{k: payload.get(k) for k in GREEKS},
            "positions": [position_row(p) for p in payload.get("positions") or []],
        }
    period = events_in(inputs, "options_session", first, last)
    history = [{"session": str(p.get("session")), **portfolio_row(p)} for p in period["payload"]]
    assumptions = read_assumptions(inputs.run_dir) if inputs.run_dir is not None else None
    return {"orders": combos or [], "events": events, "greeks": greeks, "history": history,
            "costs": _costs(sessions, first), "assumptions": assumptions}  # fmt: skip


def _key(submitted_at: str, symbols: list[str]) -> tuple[str, tuple[str, ...]]:
    return submitted_at[:10], tuple(sorted(symbols))  # the session and the contracts


def journal_legs(placed: pd.DataFrame, paid: pd.DataFrame, units: float) -> list[dict[str, Any]]:
    """Each leg of an order as the journal has it: `placed` its leg orders (or the single-leg
    order itself), `paid` the option fills with their mid and costs; `units` the order's qty."""
    out = []
    for leg in placed.itertuples(index=False):
        own = paid[paid["client_order_id"] == leg.client_order_id] if len(paid) else paid
        size = float(own["qty"].sum()) if len(own) else 0.0

        def avg(column: str, own: pd.DataFrame = own, size: float = size) -> float | None:
            return float((own[column] * own["qty"]).sum() / size) if size else None

        costs = {
            k: (float(own[k].sum()) if size and own[k].notna().all() else None)
            for k in ("spread_cost", "slippage_cost")
        }
        out.append(
            {
                "symbol": str(leg.symbol),
                "side": str(leg.side),
                "ratio": round(float(leg.qty) / units) if units else 1,
                "qty": size,
                "price": avg("price"),
                "mid": avg("mid") if size and own["mid"].notna().all() else None,
                **costs,
                "fees": float(own["commission"].sum()) if size else None,
            }
        )
    return out


def _costs(sessions: pd.DataFrame, first: dt.date) -> dict[str, float] | None:
    """What trading options cost in the period (spread paid, slippage, commission, fees and
    contracts): the sessions' running totals at its end less those before it."""
    if not len(sessions):
        return None
    end = sessions["payload"].iloc[-1].get("costs") or {}
    before = sessions[sessions["date"].map(lambda d: d is not None and d < first).astype(bool)]
    start = before["payload"].iloc[-1].get("costs") or {} if len(before) else {}
    return {k: round(float(v) - float(start.get(k, 0.0)), 6) for k, v in end.items()}


def journal_combos(
    orders: pd.DataFrame,
    paid: pd.DataFrame | None,
    run_dir: Path | None,
    window: tuple[dt.date, dt.date] | None = None,
) -> list[dict[str, Any]] | None:
    """The option orders (a combo, or a single contract) submitted in `window` (all without
    one), each with its legs as the journal has them (`paid`: `JournalReader.
    option_fill_costs`) and, once the run has written its options CSVs (`run_dir`), its tag
    and its trade's P&L; None for a run that never sent one."""
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
    if not len(opening):
        return None
    shown = opening[_between(opening["submitted_at"], *window)] if window else opening
    described = {
        str(parent): " ".join(
            f"{'+' if side == 'buy' else '-'}{int(q)} {sym}"
            for sym, side, q in zip(group["symbol"], group["side"], group["qty"], strict=True)
        )
        for parent, group in legs.groupby("parent", sort=False)
    }
    paid = paid if paid is not None else pd.DataFrame()
    files = combos_from_files(run_dir) if run_dir is not None else None
    known = {_key(c["submitted_at"], [leg["symbol"] for leg in c["legs"]]): c for c in files or []}
    combos = []
    for row in shown.itertuples(index=False):
        own = legs[legs["parent"] == row.client_order_id] if len(legs) else legs
        placed = own if len(own) else pd.DataFrame([row._asdict()])
        leg_list = journal_legs(placed, paid, float(row.qty))
        found = known.get(_key(str(row.submitted_at), [leg["symbol"] for leg in leg_list]), {})
        combos.append(
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
                "tag": found.get("tag"),  # the desk's (its CSVs, once the run has written them)
                "pnl": found.get("pnl"),
                "outcome": found.get("outcome"),
                "leg_fills": leg_list,
            }
        )
    return combos


def combo_rows(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The section's orders as `option_html.combos_html` (and the dashboard) draw them."""
    return [
        {
            "order": o["client_order_id"],
            "tag": o.get("tag"),
            "legs_text": o["legs"],
            "net": o["avg_fill_price"],
            "qty": o["qty"],
            "status": o["status"],
            "reason": o["reason"],
            "pnl": o.get("pnl"),
            "outcome": o.get("outcome"),
            "submitted_at": o["submitted_at"],
            "legs": o.get("leg_fills") or [],
        }
        for o in orders
    ]
