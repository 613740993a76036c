"""Small offline charts: an inline SVG line chart for HTML and a text sparkline."""

from __future__ import annotations

import html
from collections.abc import Sequence

_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 48) -> str:
    """`values` as block characters, thinned to `width` (flat series: a flat line)."""
    if not values:
        return ""
    step = max(1, -(-len(values) // width))
    picked = list(values[::step])
    if picked[-1] != values[-1]:
        picked.append(values[-1])
    low, high = min(picked), max(picked)
    span = high - low
    if span <= 0:
        return _BLOCKS[3] * len(picked)
    return "".join(_BLOCKS[round((v - low) / span * (len(_BLOCKS) - 1))] for v in picked)


def svg_line_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    width: int = 760,
    height: int = 240,
) -> str:
    """An inline `<svg>` line chart of `values` (x: their order; first/last labels shown)."""
    pad_left, pad_right, pad_top, pad_bottom = 70, 12, 24, 28
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low <= 0:
        low, high = low - 1.0, high + 1.0
    n = max(len(values) - 1, 1)
    points = " ".join(
        f"{pad_left + plot_w * i / n:.1f},{pad_top + plot_h * (1 - (v - low) / (high - low)):.1f}"
        for i, v in enumerate(values)
    )
    first = html.escape(labels[0]) if labels else ""
    last = html.escape(labels[-1]) if labels else ""
    bottom = pad_top + plot_h
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}">'
        f"<title>{html.escape(title)}</title>"
        f'<rect x="{pad_left}" y="{pad_top}" width="{plot_w}" height="{plot_h}" '
        'fill="#fafafa" stroke="#ccc"/>'
        f'<text x="{pad_left - 6}" y="{pad_top + 4}" text-anchor="end" font-size="11">'
        f"{high:,.0f}</text>"
        f'<text x="{pad_left - 6}" y="{bottom}" text-anchor="end" font-size="11">{low:,.0f}</text>'
        f'<text x="{pad_left}" y="{height - 8}" font-size="11">{first}</text>'
        f'<text x="{width - pad_right}" y="{height - 8}" text-anchor="end" font-size="11">'
        f"{last}</text>"
        f'<polyline fill="none" stroke="#1f6fb2" stroke-width="1.5" points="{points}"/>'
        "</svg>"
    )
