"""The options tables (`option_tables`) as HTML: one table of orders with their legs under
them, the open positions' and the portfolio's Greeks with their history, and the assumptions
table with each verdict coloured. The tearsheet and the daily/weekly HTML report use these;
the dashboard draws the same rows in its own script (`dashboard/static/options.js`)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from parity.reports.option_tables import GREEKS

MAX_ORDERS = 200
# the verdict colours (inline: the tearsheet is QuantStats' page, not ours)
STYLE = (
    "<style>h3.options-h{font-size:14px;margin:14px 0 4px}"
    ".options-combos td,.options-greeks td,.options-assumptions td{padding:2px 6px}"
    ".options-combos tr.combo td{border-top:1px solid #bbb;font-weight:600}"
    ".options-combos tr.leg td{color:#444}.options-combos tr.leg td:nth-child(2){padding-left:18px}"
    ".verdict-excellent{color:#137a2f;font-weight:600}"
    ".verdict-acceptable{color:#a15c00;font-weight:600}"
    ".verdict-concerning{color:#b3261e;font-weight:600}</style>"
)
COMBO_HEAD = [
    "order",
    "tag / leg",
    "contracts",
    "side",
    "qty / ratio",
    "net / fill price",
    "mid",
    "spread paid",
    "slippage paid",
    "fees",
    "status",
    "P&L",
]


def _e(value: Any) -> str:
    return html.escape(str(value))


def cash(value: Any) -> str:
    """Cash to the cent (`1,234.50`, `-70.00`); blank when unknown."""
    return "" if value is None else f"{float(value):,.2f}"


def price(value: Any) -> str:
    """A premium or a mid per unit, to 4 decimals (mids are half cents)."""
    return "" if value is None else f"{float(value):.4f}"


def greek(value: Any) -> str:
    return "" if value is None else f"{float(value):,.4f}"


def _row(cells: Sequence[str], cls: str = "", attrs: str = "") -> str:
    body = "".join(f"<td>{_e(c)}</td>" for c in cells)
    return f'<tr class="{cls}"{attrs}>{body}</tr>'


def _table(head: Sequence[str], rows: Sequence[str], cls: str) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _total(legs: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [leg[key] for leg in legs if leg.get(key) is not None]
    return sum(values) if values else None


def combos_html(combos: Sequence[Mapping[str, Any]]) -> str:
    """Each order (a combo row: its legs' costs added up) and its legs under it."""
    rows = []
    for c in combos[:MAX_ORDERS]:
        legs = c["legs"]
        net = c.get("net")
        side = "" if not net else ("debit" if net > 0 else "credit")
        status = c["status"] + (f" ({c['reason']})" if c.get("reason") else "")
        pnl = cash(c.get("pnl")) + (f" {c['outcome']}" if c.get("outcome") else "")
        rows.append(
            _row(
                [
                    str(c["order"]),
                    c.get("tag") or "",
                    c.get("legs_text") or "",
                    side,
                    str(c["qty"]),
                    price(net),
                    "",
                    cash(_total(legs, "spread_cost")),
                    cash(_total(legs, "slippage_cost")),
                    cash(_total(legs, "fees")),
                    status,
                    pnl,
                ],
                "combo",
                f' data-order="{_e(c["order"])}"',
            )
        )
        for i, leg in enumerate(legs, 1):
            rows.append(
                _row(
                    [
                        "",
                        f"leg {i}",
                        leg["symbol"],
                        leg["side"],
                        str(leg["ratio"]),
                        price(leg["price"]),
                        price(leg["mid"]),
                        cash(leg["spread_cost"]),
                        cash(leg["slippage_cost"]),
                        cash(leg["fees"]),
                        "",
                        "",
                    ],
                    "leg",
                    f' data-order="{_e(c["order"])}" data-leg="{i}"',
                )
            )
    shown = "" if len(combos) <= MAX_ORDERS else f" (the first {MAX_ORDERS})"
    return f"<h3 class='options-h'>Orders and their legs ({len(combos)}{shown})</h3>" + _table(
        COMBO_HEAD, rows, "options-combos"
    )


def greeks_html(greeks: Mapping[str, Any] | None) -> str:
    """The open positions' Greeks at the last mark, the portfolio's, and their history."""
    if not greeks or greeks.get("portfolio") is None:
        return ""
    head = ["contract", "qty", "mark", "value", *GREEKS]
    rows = [
        _row(
            [
                p["symbol"],
                str(p["qty"]),
                price(p["mark"]),
                cash(p["value"]),
                *(greek(p[k]) for k in GREEKS),
            ],
            "position",
        )
        for p in greeks["positions"]
    ]
    port = greeks["portfolio"]
    rows.append(
        _row(
            [
                f"portfolio ({port['contracts']} contracts)",
                "",
                "",
                cash(port["option_value"]),
                *(greek(port[k]) for k in GREEKS),
            ],
            "portfolio",
        )
    )
    parts = [
        f"<h3 class='options-h'>Greeks at {_e(greeks['as_of'])} (positions and portfolio, in "
        "units of the underlying; the portfolio's delta includes shares held)</h3>",
        _table(head, rows, "options-greeks positions"),
    ]
    if greeks.get("history"):
        cols = ["session", "underlying", "contracts", "option value", *GREEKS]
        hist = [
            _row(
                [
                    h["session"],
                    price(h["underlying_price"]),
                    str(h["contracts"]),
                    cash(h["option_value"]),
                    *(greek(h[k]) for k in GREEKS),
                ]
            )
            for h in greeks["history"]
        ]
        parts += [
            "<h3 class='options-h'>Portfolio Greeks and exposure at each session's end</h3>",
            _table(cols, hist, "options-greeks history"),
        ]
    if greeks.get("position_history"):
        rows = [
            _row([p["datetime"], p["symbol"], str(p["qty"]), price(p["mark"]), cash(p["value"]),
                  *(greek(p[k]) for k in GREEKS)])
            for p in greeks["position_history"]
        ]  # fmt: skip
        total = greeks.get("position_rows", len(rows))
        shown = "" if total <= len(rows) else f" (the latest {len(rows)} of {total})"
        parts += [
            f"<h3 class='options-h'>Each position's Greeks at each mark{shown}</h3>",
            _table(["at", *head], rows, "options-greeks position-history"),
        ]
    return "\n".join(parts)


def assumptions_html(rows: Sequence[Mapping[str, Any]] | None) -> str:
    """The compare's assumptions table, each verdict in its colour."""
    if not rows:
        return ""
    head = ["item", "assumed", "measured", "p10", "p50", "p90", "n", "deviation", "verdict"]
    body = []
    for r in rows:
        cells = [r["item"], *(_fig(r[k]) for k in ("assumed", "measured", "p10", "p50", "p90"))]
        cells += ["" if r["n"] is None else str(r["n"]), _dev(r["deviation"])]
        tds = "".join(f"<td>{_e(c)}</td>" for c in cells)
        verdict = r["verdict"]
        tds += f'<td class="verdict verdict-{_e(verdict)}">{_e(verdict)}</td>'
        body.append(f'<tr data-item="{_e(r["item"])}">{tds}</tr>')
    return (
        "<h3 class='options-h'>Assumptions: the backtest's beside what was measured "
        "(parity compare)</h3>" + _table(head, body, "options-assumptions")
    )


def _fig(value: Any) -> str:
    """`0.03`, `0.65`, `341.77`, `20`: a figure as its table states it."""
    if value is None:
        return ""
    v = float(value)
    if v.is_integer():
        return f"{v:,.0f}"
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4f}".rstrip("0")


def _dev(value: Any) -> str:
    return "" if value is None else f"{float(value):+.1%}"


def options_html(
    combos: Sequence[Mapping[str, Any]] | None,
    greeks: Mapping[str, Any] | None,
    assumptions: Sequence[Mapping[str, Any]] | None,
) -> str:
    """The three parts together (what is there), with the verdict colours."""
    parts = [STYLE]
    if combos:
        parts.append(combos_html(combos))
    parts.append(greeks_html(greeks))
    parts.append(assumptions_html(assumptions))
    return "\n".join(p for p in parts if p)
