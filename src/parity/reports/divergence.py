"""The divergence report: a terminal summary and a self-contained HTML page (inline SVG, offline).

Both read the ``divergence.json`` dict of :func:`parity.analyzers.divergence.compute_divergence`
(plus the equity curves for the charts); nothing is fetched, no script or stylesheet is linked.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parity.reports.text import format_metric, table

COLOURS = {"live": "#d62728", "tape": "#ff7f0e", "reference": "#1f77b4"}
LABELS = {"live": "paper", "tape": "tape twin", "reference": "history twin / reference"}


def _num(value: Any, spec: str = ".4g") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool | str):
        return str(value)
    return format(value, spec)


def summary_text(div: Mapping[str, Any]) -> str:
    """A few screens of plain text: verdict, metrics, curves, ledger, waterfall, evidence."""
    v = div["verdict"]
    what = div.get("compared_with")
    lines = [f"verdict: {v['status']}" + (f" (paper run vs {what})" if what else "")]
    lines += [f"  - {r}" for r in v["reasons"]]
    lines += [f"warning: {w}" for w in div.get("warnings", [])]
    lines += ["", _metrics_table(div)]
    if div.get("mode") == "expect":
        return "\n".join(lines)
    c = div["curves"]
    lines += ["", "curve agreement        daily      per bar"]
    for key in ("correlation", "dtw", "tracking_error"):
        lines.append(f"  {key:<18} {_num(c['daily'][key]):>9}  {_num(c['per_bar'][key]):>11}")
    fe = c["final_equity"]
    lines.append(f"  final equity gap   {fe['gap']:,.2f} ({_num(fe['relative_gap'], '.3%')})")
    led = div["ledger"]
    counts = led["counts"]
    lines += [
        "",
        f"round trips: {counts['matched']} matched{_open_part(counts)}, "
        f"{counts['missed']} missed, {counts['extra']} extra; "
        f"mean fill gap {_num(led['mean_entry_gap_bps'], '.2f')} bps entry, "
        f"{_num(led['mean_exit_gap_bps'], '.2f')} bps exit; "
        f"mean latency {_num(led['mean_latency_s'], '.1f')} s (fill time minus the first "
        "moment the order could fill)",
    ]
    for order in led.get("unfilled_orders", ()):
        cost = order["missed_twin_pnl"]
        lines.append(
            f"  unfilled: {order['client_order_id']} {order['side']} {order['qty']:g} "
            f"{order['symbol']} decided {order['decision_bar']} ended {order['status']}"
            + (f" ({order['reason']})" if order["reason"] else "")
            + (f"; the twin's trade from it made {cost:,.2f}" if cost is not None else "")
        )
    lines += ["", "P&L gap attribution"]
    wf = div["waterfall"]
    for name, value in wf["components"].items():
        lines.append(f"  {name:<16} {value:>14,.2f}")
    lines.append(f"  {'total':<16} {wf['total']:>14,.2f}")
    for kind, first in div["first_divergence"].items():
        if first:
            lines.append(f"first {kind} divergence: {first['datetime']} {first['symbol']}")
    ev = div["evidence"]
    sd, pw = ev["sharpe_diff"], ev["power"]
    if sd["low"] is not None:
        lines.append(
            f"sharpe difference {sd['observed']:.3f}, {sd['level']:.0%} CI "
            f"[{sd['low']:.3f}, {sd['high']:.3f}] ({sd['resamples']} resamples, seed {sd['seed']})"
        )
    else:
        lines.append(f"sharpe difference CI: n/a ({sd.get('note', 'undefined')})")
    if pw.get("more_days") is not None:
        lines.append(f"days to detect the return gap: {pw['more_days']} more trading days")
    return "\n".join(lines)


def _open_part(counts: Mapping[str, Any]) -> str:
    """`(54 closed + 1 open at the end)`: `metrics.trades` counts closed trades only."""
    still_open = counts.get("matched_open")
    if not still_open:
        return ""
    return f" ({counts.get('matched_closed')} closed + {still_open} open at the end)"


def _metrics_table(div: Mapping[str, Any]) -> str:
    expect = div.get("mode") == "expect"
    head = ["metric", "paper", "stated"] if expect else ["metric", "paper", "tape", "reference"]
    rows = []
    for name, m in div["metrics"].items():
        label = "trades (closed)" if name == "trades" else name
        cells = [label, format_metric(name, m["live"])]
        cells += (
            [format_metric(name, m["stated"])]
            if expect
            else [
                format_metric(name, m["tape"]) if div.get("tape_run") else "-",
                format_metric(name, m["reference"]),
            ]
        )
        cells += [_num(m["abs_diff"]), _num(m["rel_diff"], ".1%")]
        if expect:
            cells.append(m.get("worse") or "either")
        rows.append(cells)
    return table([*head, "diff", "rel", *(["worse if"] if expect else [])], rows)


# ------------------------------------------------------------------------------------ HTML

_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
    "font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
    "th{background:#f3f3f3}.PASS{color:#2a2}.WARN{color:#c80}.FAIL{color:#c22}"
    "svg{border:1px solid #ddd;background:#fff}"
)


def _scale(values: np.ndarray, lo: float, hi: float, size: float, pad: float) -> np.ndarray:
    span = hi - lo or 1.0
    return pad + (values - lo) / span * (size - 2 * pad)


def svg_lines(
    curves: Mapping[str, pd.Series], *, width: int = 900, height: int = 260, title: str = ""
) -> str:
    """Line chart of several series on a shared (union) x axis, as inline SVG."""
    clean = {k: s.dropna().astype(float) for k, s in curves.items() if len(s.dropna())}
    if not clean:
        return "<p>no data</p>"
    index = sorted(set().union(*(s.index for s in clean.values())))
    pos = {t: i for i, t in enumerate(index)}
    lo = min(float(s.min()) for s in clean.values())
    hi = max(float(s.max()) for s in clean.values())
    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    parts.append(f'<text x="8" y="16" font-size="13">{html.escape(title)}</text>')
    parts.append(f'<text x="8" y="{height - 6}" font-size="11">{lo:,.6g} .. {hi:,.6g}</text>')
    for n, (name, s) in enumerate(clean.items()):
        xs = _scale(
            np.array([pos[t] for t in s.index], float), 0, max(len(index) - 1, 1), width, 30
        )
        ys = height - _scale(s.to_numpy(), lo, hi, height, 24)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        colour = COLOURS.get(name, "#555")
        dash = ' stroke-dasharray="5,3"' if name != "live" else ""
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.3"{dash} points="{points}"/>'
        )
        parts.append(
            f'<text x="{width - 220}" y="{18 + 14 * n}" font-size="12" fill="{colour}">'
            f"{html.escape(LABELS.get(name, name))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_waterfall(components: Mapping[str, float], total: float, *, width: int = 900) -> str:
    """Waterfall bars: each component from the running sum, then the total from zero."""
    steps = [*components.items(), ("total", total)]
    running, spans = 0.0, []
    for name, value in steps:
        start = 0.0 if name == "total" else running
        end = value if name == "total" else running + value
        spans.append((name, value, start, end))
        running = end if name != "total" else running
    lo = min(0.0, *(min(a, b) for _, _, a, b in spans))
    hi = max(0.0, *(max(a, b) for _, _, a, b in spans))
    height, bar = 260, (width - 60) / len(spans)
    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    zero = height - 40 - _scale(np.array([0.0]), lo, hi, height - 40, 10)[0]
    parts.append(f'<line x1="30" x2="{width - 20}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999"/>')
    for i, (name, value, a, b) in enumerate(spans):
        ya, yb = (height - 40 - _scale(np.array([a, b]), lo, hi, height - 40, 10)).tolist()
        top, h = min(ya, yb), max(abs(ya - yb), 1.0)
        colour = "#555" if name == "total" else "#2a2" if value >= 0 else "#c22"
        x = 30 + i * bar
        parts.append(
            f'<rect x="{x + 4:.1f}" y="{top:.1f}" width="{bar - 8:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{html.escape(name)}: {value:,.2f}</title></rect>'
        )
        parts.append(
            f'<text x="{x + 4:.1f}" y="{height - 24}" font-size="11">{html.escape(name)}</text>'
            f'<text x="{x + 4:.1f}" y="{height - 10}" font-size="11">{value:,.2f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _drawdown(equity: pd.Series) -> pd.Series:
    values = equity.astype(float)
    return values / values.cummax() - 1.0


LEDGER_FIELDS = (
    "status",
    "symbol",
    "side",
    "decision_bar",
    "open_at_end",
    "live_qty",
    "twin_qty",
    "entry_gap_bps",
    "exit_gap_bps",
    "latency_s",
    "fee_diff",
    "live_pnl",
    "twin_pnl",
    "live_order",
)


def render_html(div: Mapping[str, Any], series: Mapping[str, pd.Series]) -> str:
    """The whole page as one string."""
    v = div["verdict"]
    body = [
        f"<h1>parity compare: {html.escape(str(div.get('live_run')))}"
        + (f" vs {html.escape(str(div['compared_with']))}" if div.get("compared_with") else "")
        + "</h1>",
        f'<h2 class="{v["status"]}">{v["status"]}</h2>',
        "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in v["reasons"]) + "</ul>",
    ]
    if div.get("warnings"):
        body.append(
            "<h3>Warnings</h3><ul>"
            + "".join(f"<li>{html.escape(w)}</li>" for w in div["warnings"])
            + "</ul>"
        )
    body.append("<h3>Metrics</h3><pre>" + html.escape(_metrics_table(div)) + "</pre>")
    if div.get("mode") != "expect":
        body.append("<h3>Equity</h3>" + svg_lines(series, title="account value"))
        drawdowns = {k: _drawdown(s) for k, s in series.items()}
        body.append("<h3>Drawdowns</h3>" + svg_lines(drawdowns, title="drawdown"))
        wf = div["waterfall"]
        body.append("<h3>P&amp;L gap attribution</h3>")
        body.append(svg_waterfall(wf["components"], wf["total"]))
        rows = [
            [r.get(f) if r.get(f) is not None else "" for f in LEDGER_FIELDS]
            for r in div["ledger"]["rows"]
        ]
        rows = [[_num(c, ".2f") if isinstance(c, float) else c for c in row] for row in rows]
        body.append("<h3>Matched-trade ledger</h3>" + _html_table(LEDGER_FIELDS, rows))
        body.append("<h3>Details</h3><pre>" + html.escape(summary_text(div)) + "</pre>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>parity compare</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_html(div: Mapping[str, Any], series: Mapping[str, pd.Series], path: Path) -> Path:
    """Write :func:`render_html` to ``path`` and return it."""
    path = Path(path)
    path.write_text(render_html(div, series), encoding="utf-8")
    return path
