"""The options section of the daily and weekly reports as text and HTML (the data:
`option_period`): the Greeks of the open positions and the portfolio, what trading cost, each
order with its legs (fill, mid, spread and slippage paid, fees), the expiries, exercises and
assignments, and the compare's assumptions table."""

from __future__ import annotations

import html as html_lib
from typing import Any

from parity.instruments.money import format_money
from parity.reports.option_html import (
    STYLE,
    _dev,
    _fig,
    assumptions_html,
    combos_html,
    greeks_html,
)
from parity.reports.option_period import combo_rows
from parity.reports.option_tables import portfolio_row


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
            + (f"  {order['tag']}" if order.get("tag") else "")
            + ("" if order.get("pnl") is None else f"  P&L {_money(order['pnl'], c, sign=True)}")
        )
        for i, leg in enumerate(order.get("leg_fills") or [], 1):
            if leg["price"] is None:
                continue
            lines.append(
                f"    leg {i}: {leg['side']} {leg['ratio']} {leg['symbol']} at {leg['price']:.4f}"
                + ("" if leg["mid"] is None else f", mid {leg['mid']:.4f}")
                + ("" if leg["spread_cost"] is None else f", spread {leg['spread_cost']:,.2f}")
                + (
                    ""
                    if leg["slippage_cost"] is None
                    else f", slippage {leg['slippage_cost']:,.2f}"
                )
                + f", fees {leg['fees']:,.2f}"
            )
    for event in section["events"]:
        lines.append(
            f"  {event['at'][:16]}  {event['kind']} {event['symbol']} qty {event['qty']:+g}"
            + (f", shares {event['shares']:+g}" if event.get("shares") else "")
            + f", cash {_money(event['cash'], c, sign=True)}"
        )
    for row in section.get("assumptions") or []:
        lines.append(
            f"  assumption {row['item']}: assumed {_fig(row['assumed'])}, measured "
            f"{_fig(row['measured'])} ({_dev(row['deviation'])}) {row['verdict']}"
        )
    if len(lines) == 2:
        lines.append("  no option orders or events")
    return lines


def html(section: dict[str, Any], currency: str | None = None) -> str:
    """The section in the HTML report ("" for a run without options): the Greeks (positions,
    portfolio, the period's sessions), the costs, the orders with their legs, the events and
    the assumptions table; amounts in `currency`."""
    if not section:
        return ""
    c = currency
    parts = ["<h2>Options</h2>", STYLE]
    g = section.get("greeks")
    if g:
        parts.append(
            greeks_html(
                {
                    "as_of": g["as_of"],
                    "positions": g.get("positions") or [],
                    "portfolio": portfolio_row(g),
                    "history": section.get("history") or [],
                }
            )
        )
    costs = section.get("costs")
    if costs:
        cells = [f"{v:g}" if k == "contracts" else _money(v, c) for k, v in costs.items()]
        parts.append('<h3 class="options-h">What trading options cost in the period</h3>')
        parts.append(_table(list(costs), [cells], "options-costs"))
    if section["orders"]:
        parts.append(combos_html(combo_rows(section["orders"])))
    if section["events"]:
        head = ["time", "event", "symbol", "qty", "shares", "cash"]
        rows = [
            [e["at"], e["kind"], str(e["symbol"]), str(e["qty"]), str(e["shares"] or ""),
             _money(e["cash"], c, sign=True)]
            for e in section["events"]
        ]  # fmt: skip
        parts.append(_table(head, rows, "options-events"))
    parts.append(assumptions_html(section.get("assumptions")))
    return "\n".join(p for p in parts if p)


def _table(head: list[str], rows: list[list[str]], cls: str) -> str:
    th = "".join(f"<th>{html_lib.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html_lib.escape(v)}</td>" for v in row) + "</tr>" for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'
