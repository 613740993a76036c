"""The P&L-gap waterfall as inline SVG: each component from the running sum, then the total from
zero, on one y scale fitted to the largest bar, with a money axis.

Hand-written (uPlot has no waterfall): a value under half a cent draws no bar at all and a small
one a small bar, so a rounding residual never fills the chart.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from parity.instruments.money import format_money
from parity.reports.chart import nice_ticks, tick_decimals

CENT = 0.005  # under half a cent a component is nothing to draw
LABELS = {
    "data": "data",
    "missed_trades": "missed trades",
    "extra_trades": "extra trades",
    "fill_price": "fill price",
    "exit_timing": "exit timing",
    "partial_fills": "partial fills",
    "missed_partial": "missed / partial",
    "fees": "fees",
    "residual": "residual",
    "total": "total gap",
}


def _money(value: float, currency: str | None, decimals: int = 2) -> str:
    return format_money(0.0 if abs(value) < CENT else value, currency, decimals=decimals)


def svg_waterfall(
    components: Mapping[str, float],
    total: float,
    *,
    currency: str | None,
    width: int = 960,
    height: int = 300,
) -> str:
    """The waterfall of `components` (in order) and their `total`, as an `<svg>` string."""
    steps = [*components.items(), ("total", total)]
    spans, running = [], 0.0
    for name, value in steps:
        start, end = (0.0, value) if name == "total" else (running, running + value)
        if name != "total":
            running = end
        spans.append((name, float(value), start, end))
    biggest = max(abs(v) for _, v, _, _ in spans)
    if biggest < CENT:
        return (
            '<p class="muted" id="waterfall-none">The paper run and its twin end within half a '
            "cent of each other: there is no P&amp;L gap to attribute (every component is "
            f"{_money(0.0, currency)}).</p>"
        )
    lo = min(0.0, *(min(a, b) for _, _, a, b in spans))
    hi = max(0.0, *(max(a, b) for _, _, a, b in spans))
    ticks = nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    left, right, top, bottom = 96, 12, 12, 46
    plot_h = height - top - bottom
    bar = (width - left - right) / len(spans)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    decimals = tick_decimals(ticks)
    parts = [
        f'<svg class="waterfall" id="waterfall" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" '
        'aria-label="P&amp;L gap attribution">'
    ]
    for t in ticks:
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(t):.1f}" '
            f'y2="{y(t):.1f}"/><text class="tick" x="{left - 6}" y="{y(t) + 4:.1f}" '
            f'text-anchor="end">{html.escape(_money(t, currency, decimals))}</text>'
        )
    parts.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>')
    parts.append(
        f'<line class="axis zero" x1="{left}" x2="{width - right}" y1="{y(0):.1f}" '
        f'y2="{y(0):.1f}"/>'
    )
    for i, (name, value, a, b) in enumerate(spans):
        x = left + i * bar
        label = LABELS.get(name, name.replace("_", " "))
        shown = html.escape(_money(value, currency))
        if abs(value) >= CENT:
            ya, yb = y(a), y(b)
            h = max(abs(ya - yb), 1.0)  # a real but tiny value still shows as a hairline
            colour = "#4b5563" if name == "total" else "#1f7a3d" if value > 0 else "#b3261e"
            parts.append(
                f'<rect class="bar" data-name="{name}" data-value="{value:.12g}" '
                f'x="{x + 6:.1f}" y="{min(ya, yb):.1f}" width="{bar - 12:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{html.escape(label)}: {shown}'
                "</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - 26}" text-anchor="middle">'
            f"{html.escape(label)}</text>"
            f'<text class="value" x="{x + bar / 2:.1f}" y="{height - 10}" '
            f'text-anchor="middle">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
