"""`compare/divergence.html` of an options run: its compare (`runners.option_compare`) as one
offline page in the dashboard's style, built from the equity compare's parts.

Verdict first (the assumptions judged concerning), then the P&L of the paper run and of its twins
on the received quotes and on the model chain with the data and execution divergences, the three
equity curves and their drawdowns (the equity page's script, `divergence.js`), the P&L gap's
components as a waterfall (`reports.waterfall`) summing to the gap, the matched ledger (each combo
with its legs under it, as `options_ledger.csv` has them), and the assumptions table in its
verdict colours (`reports.option_html.assumptions_html`) with the bands it used.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from parity.instruments.money import format_money
from parity.reports.option_html import STYLE, assumptions_html
from parity.reports.option_html import price as premium
from parity.reports.page import aligned, render_page
from parity.reports.waterfall import svg_waterfall

# the keys `divergence.js` draws: paper first in its legend's colours, the twins dashed
SERIES = {"live": "paper", "tape": "twin on received quotes", "reference": "twin on model chain"}
COLOURS = {"live": "#1f4e79", "tape": "#e07b00", "reference": "#6b7380"}
# what the gap is made of first (a wide table scrolls): the P&L and the components, then the
# prices each leg's terms come from, the closing times last
LEDGER_HEAD = (
    "status", "combo / leg", "opened / filled", "contracts (paper / model)",
    "P&L (paper / model)", "quotes", "spread", "slippage", "fees", "missed / partial",
    "exit timing", "price", "model price", "received mid / touch", "model mid / touch",
    "fees paid (paper / model)", "closed (paper / model)",
)  # fmt: skip
_NUMERIC = set(range(3, len(LEDGER_HEAD) - 1))


def _e(value: Any) -> str:
    return html.escape(str(value))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _cash(value: Any, currency: str) -> str:
    """Money to the cent (`-$12.34`); a dash when there is none; never `-$0.00`."""
    return "\u2013" if _blank(value) else format_money(round(float(value), 2) + 0.0, currency)


def _px(value: Any) -> str:
    return "\u2013" if _blank(value) else premium(value)


def _qty(value: Any) -> str:
    return "\u2013" if _blank(value) else f"{float(value):g}"


def _pair(a: str, b: str) -> str:
    return f"{a} / {b}"


def _text(value: Any) -> str:
    return "\u2013" if _blank(value) else str(value).replace("T", " ")


def combo_cells(r: Mapping[str, Any], currency: str) -> list[str]:
    """A combo row of `options_ledger.csv` as the page prints it (`LEDGER_HEAD`)."""
    return [
        str(r["status"]),
        str(r["legs"]),
        _text(r["opened"]),
        _pair(_qty(r["contracts"]), _qty(r["model_contracts"])),
        _pair(_cash(r["pnl"], currency), _cash(r["model_pnl"], currency)),
        *(_cash(r[k], currency) for k in ("quotes", "spread", "slippage", "fees")),
        _cash(r["missed_partial"], currency),
        _cash(r["exit_timing"], currency),
        *([""] * 5),
        _pair(_text(r["closed"]), _text(r["model_closed"])),
    ]


def leg_cells(r: Mapping[str, Any], currency: str) -> list[str]:
    """A leg row of `options_ledger.csv` as the page prints it (`LEDGER_HEAD`)."""
    return [
        str(r["status"]),
        str(r["symbol"]),
        _text(r["datetime"]),
        _pair(_qty(r["contracts"]), _qty(r["model_contracts"])),
        "",
        *(_cash(r[k], currency) for k in ("quotes", "spread", "slippage", "fees")),
        "",
        "",
        _px(r["price"]),
        _px(r["model_price"]),
        _pair(_px(r["tape_mid"]), _px(r["tape_touch"])),
        _pair(_px(r["model_mid"]), _px(r["model_touch"])),
        _pair(_cash(r["commission"], currency), _cash(r["model_commission"], currency)),
        "",
    ]


def ledger_rows(ledger: pd.DataFrame) -> list[dict[str, Any]]:
    """The ledger in page order: each combo, then its legs (the CSV lists a paper combo's legs
    before it); combos the paper run missed (no legs of its own) last."""
    records = ledger.astype(object).where(ledger.notna(), None).to_dict("records")
    legs: dict[Any, list[dict[str, Any]]] = {}
    for r in records:
        if r["level"] == "leg":
            legs.setdefault(r["group"], []).append(r)
    out: list[dict[str, Any]] = []
    for r in records:
        if r["level"] == "combo":
            out.append(r)
            out += legs.get(r["group"], []) if r["group"] is not None else []
    return out


def _ledger(ledger: pd.DataFrame, currency: str) -> str:
    head = "".join(
        f'<th class="{"num" if i in _NUMERIC else ""}">{_e(h)}</th>'
        for i, h in enumerate(LEDGER_HEAD)
    )
    body = []
    for r in ledger_rows(ledger):
        combo = r["level"] == "combo"
        cells = combo_cells(r, currency) if combo else leg_cells(r, currency)
        tds = "".join(
            f'<td class="{"num" if i in _NUMERIC else "leg-name" if i == 1 and not combo else ""}"'
            f">{_e(c)}</td>"
            for i, c in enumerate(cells)
        )
        group = "" if r["group"] is None else int(r["group"])
        body.append(f'<tr class="{r["level"]} {_e(r["status"])}" data-group="{group}">{tds}</tr>')
    empty = "" if body else "<p class='muted'>no option trades in either run</p>"
    return (
        "<section class='panel' id='ledger'><h2>Matched ledger <small class='muted'>each combo "
        "(paper vs model twin) with its legs; received = the twin on the quotes the run "
        "received</small></h2>"
        f"<table class='grid' id='options-ledger'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{empty}</section>"
    )


def _verdict(figures: Mapping[str, Any]) -> str:
    v, bands = figures["verdict"], figures["bands"]
    status = _e(v["status"])
    why = (
        "<ul class='reasons' id='reasons'>"
        + "".join(f"<li>{_e(item)}: beyond its assumption's band</li>" for item in v["concerning"])
        + "</ul>"
        if v["concerning"]
        else "<p id='reasons'>Every assumption holds within its band.</p>"
    )
    warnings = "".join(
        f"<li><span class='badge WARN'>warning</span> {_e(w)}</li>"
        for w in figures.get("warnings") or []
    )
    return (
        f"<section class='panel verdict {status}' id='verdict'>"
        f"<div class='big {status}'>{status}</div><div>"
        f"<h2>Verdict: {_e(figures['live_run'])} vs {_e(figures['compared_with'])}</h2>{why}"
        f"<p class='muted' id='bands'>bands: excellent within ±{bands['excellent']:.0%}, "
        f"acceptable within ±{bands['acceptable']:.0%}, concerning beyond</p>"
        f"<ul class='checks'>{warnings}</ul></div></section>"
    )


def _cards(figures: Mapping[str, Any], currency: str) -> str:
    pnl, combos = figures["pnl"], figures["combos"]
    items = [
        ("pnl-paper", "P&L paper", _cash(pnl["paper"], currency)),
        ("pnl-tape", "P&L twin on received quotes", _cash(pnl["tape_twin"], currency)),
        ("pnl-model", "P&L twin on model chain", _cash(pnl["model_twin"], currency)),
        ("gap", "gap (paper - model twin)", _cash(figures["gap"], currency)),
        ("data-divergence", "data divergence (received - model)",
         _cash(figures["data_divergence"], currency)),
        ("execution-divergence", "execution divergence (fills - received)",
         _cash(figures["execution_divergence"], currency)),
        ("combo-counts", "combos matched / partial / missed / extra",
         " / ".join(str(combos[k]) for k in ("matched", "partial", "missed", "extra"))),
    ]  # fmt: skip
    cards = "".join(
        f"<div class='card' id='card-{key}'><div class='label'>{_e(label)}</div>"
        f"<div class='value'>{_e(value)}</div></div>"
        for key, label, value in items
    )
    return f"<section class='cards' id='cards'>{cards}</section>"


def _waterfall(figures: Mapping[str, Any], currency: str) -> str:
    components = {name: float(value) for name, value in figures["components"].items()}
    return (
        "<section class='panel' id='attribution'><h2>P&amp;L gap attribution <small "
        "class='muted'>paper minus the twin on the model chain, each component from the running "
        "sum; the total from zero</small></h2>"
        + svg_waterfall(components, float(figures["gap"]), currency=currency)
        + "</section>"
    )


def _drawdown(equity: pd.Series) -> pd.Series:
    values = equity.astype(float)
    return values / values.cummax() - 1.0


def render_html(
    figures: Mapping[str, Any],
    ledger: pd.DataFrame,
    equity: Mapping[str, pd.Series],
    *,
    details: str,
) -> str:
    """The page; `equity` by `SERIES` key (paper `live`, `tape`, `reference`), `ledger` as
    written to `options_ledger.csv`, `details` the console output kept at the end."""
    currency = str(figures.get("currency") or "USD")
    status = _e(figures["verdict"]["status"])
    header = (
        f"<span class='brand'>parity</span><h1>options compare {_e(figures['live_run'])} vs "
        f"its twins</h1><span class='badge {status}'>{status}</span>"
    )
    body: Sequence[str] = [
        STYLE,
        _verdict(figures),
        _cards(figures, currency),
        "<section class='panel'><h2>Equity <small class='muted'>account value: the paper run "
        "and both twins</small></h2><div id='equity-chart' class='chart'></div></section>"
        "<section class='panel'><h2>Drawdown <small class='muted'>per bar, from each curve's "
        "peak</small></h2><div id='drawdown-chart' class='chart small'></div></section>",
        _waterfall(figures, currency),
        _ledger(ledger, currency),
        "<section class='panel' id='assumptions'>"
        + assumptions_html(figures["assumptions"])
        + "</section>",
        "<section class='panel'><h2>Details <small class='muted'>as `parity compare` printed "
        f"them</small></h2><pre class='details'>{_e(details)}</pre></section>",
    ]
    data = {
        "currency": currency,
        "labels": SERIES,
        "colours": COLOURS,
        "equity": aligned(equity),
        "drawdown": aligned({k: _drawdown(s) for k, s in equity.items()}),
    }
    return render_page(
        title=f"parity options compare · {figures['live_run']}",
        header=header,
        body="".join(body),
        data=data,
        script="divergence.js",
    )


def write_html(
    figures: Mapping[str, Any],
    ledger: pd.DataFrame,
    equity: Mapping[str, pd.Series],
    path: Path,
    *,
    details: str = "",
) -> Path:
    """Write :func:`render_html` to `path` and return it."""
    path.write_text(render_html(figures, ledger, equity, details=details), encoding="utf-8")
    return path
