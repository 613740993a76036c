"""`divergence.html`: the comparison as one offline page in the dashboard's style.

Verdict and its reasons first, then the figures, the equity and drawdown charts (the bundled
uPlot: dated axes, legend under the plot with the values under the cursor), the P&L-gap
waterfall, and the ledger with missed and extra trades before the (paged) matched ones.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from parity.instruments.money import format_money
from parity.reports.divergence import side_names
from parity.reports.labels import metric_label
from parity.reports.page import aligned, render_page
from parity.reports.text import format_metric
from parity.reports.waterfall import svg_waterfall

COLOURS = {"live": "#1f4e79", "tape": "#e07b00", "reference": "#6b7380"}
LABELS = {"live": "paper", "tape": "tape twin", "reference": "history twin / reference"}
PAGE_ROWS = 25  # matched trades per ledger page


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, table_id: str, numeric: set[int]
) -> str:
    head = "".join(
        f'<th class="{"num" if i in numeric else ""}">{_esc(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        '<tr data-row="1">'
        + "".join(
            f'<td class="{"num" if i in numeric else ""}">{_esc(c)}</td>' for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table class="grid" id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _verdict(div: Mapping[str, Any]) -> str:
    v = div["verdict"]
    status = _esc(v["status"])
    reasons = v.get("reasons") or []
    why = (
        "<ul class='reasons' id='reasons'>"
        + "".join(f"<li>{_esc(r)}</li>" for r in reasons)
        + "</ul>"
        if reasons
        else "<p id='reasons'>Every check is within its threshold.</p>"
    )
    checks = "".join(
        f"<li><span class='badge {_esc(c['level'])}'>{_esc(c['level'])}</span> "
        f"{_esc(c['text'])}</li>"
        for c in v.get("checks") or []
        if c["text"] not in reasons  # a failed check is already a reason above
    )
    warnings = "".join(
        f"<li><span class='badge WARN'>warning</span> {_esc(w)}</li>"
        for w in div.get("warnings", [])
    )
    return (
        f"<section class='panel verdict {status}' id='verdict'>"
        f"<div class='big {status}'>{status}</div><div>"
        f"<h2>Verdict: {_esc(side_names(div)[0])} vs "
        f"{_esc(div.get('compared_with') or 'reference')}</h2>{why}"
        f"<ul class='checks'>{checks}{warnings}</ul></div></section>"
    )


def _names(div: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    """Series labels by key, and what the other side is called."""
    if div.get("mode") == "what-if":
        return {
            "live": f"this run {div.get('live_run')}",
            "reference": f"other run {div.get('reference_run')}",
            "tape": "tape",
        }, "the other run"
    if div.get("mode") == "against":
        return {**LABELS, "reference": f"run {div.get('reference_run')}"}, "the other run"
    return dict(LABELS), "the twin"


def _sides(div: Mapping[str, Any]) -> tuple[str, str]:
    """The two sides in a column heading: paper and twin, or this run and the other."""
    return ("this run", "other run") if div.get("mode") == "what-if" else ("paper", "twin")


def _differences(div: Mapping[str, Any]) -> str:
    items = div.get("differences")
    if div.get("mode") != "what-if":
        return ""
    listed = "".join(f"<li>{_esc(d)}</li>" for d in items or ["nothing: the same run twice"])
    return (
        "<section class='panel' id='differences'><h2>What differs <small class='muted'>the "
        f"two runs' manifests</small></h2><ul>{listed}</ul></section>"
    )


def _cards(div: Mapping[str, Any], currency: str) -> str:
    c, counts = div["curves"], div["ledger"]["counts"]
    fe = c["final_equity"]

    def card(label: str, value: str) -> str:
        return (
            f"<div class='card'><div class='label'>{_esc(label)}</div>"
            f"<div class='value'>{_esc(value)}</div></div>"
        )

    corr = c["daily"]["correlation"]
    gap_bps = div["ledger"]["mean_entry_gap_bps"]
    return (
        "<section class='cards' id='cards'>"
        + "".join(
            [
                card("final equity gap", format_money(fe["gap"], currency)),
                card(
                    "relative gap",
                    "n/a" if fe["relative_gap"] is None else f"{fe['relative_gap']:.3%}",
                ),
                card("daily returns correlation", "n/a" if corr is None else f"{corr:.4f}"),
                card(
                    "round trips matched / missed / extra",
                    f"{counts['matched']} / {counts['missed']} / {counts['extra']}",
                ),
                card("mean entry fill gap", "n/a" if gap_bps is None else f"{gap_bps:.2f} bps"),
                card("fee difference", format_money(div["ledger"]["total_fee_diff"], currency)),
            ]
        )
        + "</section>"
    )


def _metrics(div: Mapping[str, Any], currency: str) -> str:
    expect = div.get("mode") == "expect"
    tape = bool(div.get("tape_run"))
    first = _names(div)[0]
    headers = ["metric", first["live"]]
    headers += ["stated"] if expect else [*([first["tape"]] if tape else []), first["reference"]]
    headers += ["difference", "relative"]
    rows = []
    for name, m in div["metrics"].items():
        cells = [metric_label(name), format_metric(name, m["live"], currency=currency)]
        if expect:
            cells.append(format_metric(name, m["stated"], currency=currency))
        else:
            if tape:
                cells.append(format_metric(name, m["tape"], currency=currency))
            cells.append(format_metric(name, m["reference"], currency=currency))
        diff = m["abs_diff"]
        cells.append("n/a" if diff is None else format_metric(name, diff, currency=currency))
        cells.append("n/a" if m["rel_diff"] is None else f"{m['rel_diff']:.1%}")
        rows.append(cells)
    numeric = set(range(1, len(headers)))
    return (
        "<section class='panel'><h2>Metrics</h2>"
        + _table(headers, rows, table_id="metrics", numeric=numeric)
        + "</section>"
    )


LEDGER = (
    ("status", "status"),
    ("symbol", "symbol"),
    ("side", "side"),
    ("decision_bar", "decision bar"),
    ("live_qty", "paper qty"),
    ("twin_qty", "twin qty"),
    ("entry_gap_bps", "entry gap (bps)"),
    ("exit_gap_bps", "exit gap (bps)"),
    ("latency_s", "latency (s)"),
    ("fee_diff", "fee difference"),
    ("live_pnl", "paper P&L"),
    ("twin_pnl", "twin P&L"),
    ("open_at_end", "open at end"),
    ("live_order", "paper order"),
)
# shown when the strategy gave its orders reasons (the plan's entry/target/stop/expiry)
REASONS = (
    ("live_entry_reason", "paper entry reason"),
    ("twin_entry_reason", "twin entry reason"),
    ("live_exit_reason", "paper exit reason"),
    ("twin_exit_reason", "twin exit reason"),
)
_MONEY = {"fee_diff", "live_pnl", "twin_pnl"}
_NUMERIC = {i for i, (k, _) in enumerate(LEDGER) if k.endswith(("qty", "bps", "_s")) or k in _MONEY}


def _cell(key: str, value: Any, currency: str) -> str:
    if value is None or value == "":
        return "\u2013"
    if key in _MONEY:
        return format_money(float(value), currency)
    if key == "open_at_end":
        return "yes" if value else ""
    if key == "decision_bar":
        return str(value).replace("T", " ")
    if isinstance(value, float):
        return f"{value:g}" if key.endswith("qty") else f"{value:.2f}"
    return str(value)


def _ledger(div: Mapping[str, Any], currency: str) -> str:
    rows = div["ledger"]["rows"]
    odd = [r for r in rows if r["status"] != "matched"]
    odd.sort(key=lambda r: (r["status"] != "missed", str(r.get("decision_bar"))))
    matched = [r for r in rows if r["status"] == "matched"]
    mine, theirs = _sides(div)
    columns = LEDGER + (REASONS if any(r.get(k) for r in rows for k, _ in REASONS) else ())
    headers = [label.replace("paper", mine).replace("twin", theirs) for _, label in columns]

    def cells(r: Mapping[str, Any]) -> list[str]:
        return [_cell(k, r.get(k), currency) for k, _ in columns]

    parts = [
        "<section class='panel' id='ledger'><h2>Trade ledger</h2>",
        f"<h3>Missed and extra trades <span class='muted'>({len(odd)})</span></h3>",
        _table(headers, [cells(r) for r in odd], table_id="ledger-odd", numeric=_NUMERIC)
        if odd
        else "<p class='muted' id='ledger-odd'>none: every trade of one run has its match in "
        "the other</p>",
    ]
    unfilled = div["ledger"].get("unfilled_orders") or []
    if unfilled:
        parts.append(f"<h3>Unfilled paper orders <span class='muted'>({len(unfilled)})</span></h3>")
        parts.append(
            _table(
                ["order", "side", "qty", "symbol", "decided", "ended", "reason", "twin's P&L"],
                [
                    [
                        str(o["client_order_id"]),
                        str(o["side"]),
                        f"{o['qty']:g}",
                        str(o["symbol"]),
                        str(o["decision_bar"]).replace("T", " "),
                        str(o["status"]),
                        str(o.get("reason") or ""),
                        "\u2013"
                        if o["missed_twin_pnl"] is None
                        else format_money(o["missed_twin_pnl"], currency),
                    ]
                    for o in unfilled
                ],
                table_id="unfilled",
                numeric={2, 7},
            )
        )
    parts.append(
        f"<h3>Matched trades <span class='muted'>({len(matched)})</span></h3>"
        f"<div class='pager' id='pager' data-rows='{PAGE_ROWS}'></div>"
    )
    parts.append(
        _table(headers, [cells(r) for r in matched], table_id="ledger-matched", numeric=_NUMERIC)
    )
    parts.append("</section>")
    return "".join(parts)


def render_html(
    div: Mapping[str, Any], series: Mapping[str, pd.Series], *, currency: str, details: str
) -> str:
    """The whole page as one string; `details` is the terminal summary, kept at the end."""
    title = f"parity compare · {div.get('live_run')}"
    status = _esc(div["verdict"]["status"])
    header = (
        f"<span class='brand'>parity</span><h1>compare {_esc(div.get('live_run'))} vs "
        f"{_esc(div.get('compared_with') or 'reference')}</h1>"
        f"<span class='badge {status}'>{status}</span>"
    )
    body = [_verdict(div), _differences(div)]
    data: dict[str, Any] = {"currency": currency, "labels": _names(div)[0], "colours": COLOURS}
    if div.get("mode") != "expect":
        body.append(_cards(div, currency))
    body.append(_metrics(div, currency))
    if div.get("mode") != "expect":
        body.append(
            "<section class='panel'><h2>Equity <small class='muted'>account value, exchange "
            "time</small></h2><div id='equity-chart' class='chart'></div></section>"
            "<section class='panel'><h2>Drawdown <small class='muted'>per bar, from each "
            "curve's peak</small></h2><div id='drawdown-chart' class='chart small'></div>"
            "</section>"
        )
        wf = div["waterfall"]
        body.append(
            "<section class='panel'><h2>P&amp;L gap attribution <small class='muted'>{} minus "
            "{}, each component from the running sum; the total from zero</small></h2>".format(
                *_sides(div)
            )
            + svg_waterfall(wf["components"], wf["total"], currency=currency)
            + "</section>"
        )
        body.append(_ledger(div, currency))
        data["equity"] = aligned(series)
        data["drawdown"] = aligned({k: _drawdown(s) for k, s in series.items()})
    body.append(
        "<section class='panel'><h2>Details <small class='muted'>as `parity compare` printed "
        f"them</small></h2><pre class='details'>{_esc(details)}</pre></section>"
    )
    return render_page(
        title=title, header=header, body="".join(body), data=data, script="divergence.js"
    )


def _drawdown(equity: pd.Series) -> pd.Series:
    values = equity.astype(float)
    return values / values.cummax() - 1.0


def write_html(
    div: Mapping[str, Any],
    series: Mapping[str, pd.Series],
    path: Path,
    *,
    currency: str = "USD",
    details: str = "",
) -> Path:
    """Write :func:`render_html` to ``path`` and return it."""
    path = Path(path)
    path.write_text(render_html(div, series, currency=currency, details=details), encoding="utf-8")
    return path
