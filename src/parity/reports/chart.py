"""Small offline charts: an inline SVG line chart for HTML and a text sparkline."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from parity.instruments.money import format_money

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


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks, value = [], math.floor(lo / step) * step
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(value, 12))
    return ticks


def tick_decimals(ticks: Sequence[float]) -> int:
    """The fewest decimals (up to six) that write every tick exactly, so no two labels read
    the same and none is rounded (`0.25` keeps two)."""
    for decimals in range(7):
        if all(abs(round(t, decimals) - t) < 1e-9 * max(1.0, abs(t)) for t in ticks):
            return decimals
    return 6


def svg_line_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    currency: str | None = None,
    width: int = 760,
    height: int = 260,
) -> str:
    """An inline `<svg>` line chart of `values` (x: their order, five of `labels` under it; y:
    round ticks, money in `currency` when given) with gridlines."""
    pad_left, pad_right, pad_top, pad_bottom = 90, 16, 24, 30
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low <= 0:
        low, high = low - 1.0, high + 1.0
    ticks = nice_ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    decimals = tick_decimals(ticks)
    n = max(len(values) - 1, 1)

    def y(v: float) -> float:
        return pad_top + plot_h * (1 - (v - low) / (high - low))

    def x(i: int) -> float:
        return pad_left + plot_w * i / n

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
        f'<rect x="{pad_left}" y="{pad_top}" width="{plot_w}" height="{plot_h}" '
        'fill="#fafafa" stroke="#ccc"/>'
    ]
    for t in ticks:
        text = format_money(t, currency, decimals=decimals) if currency else f"{t:,.{decimals}f}"
        parts.append(
            f'<line x1="{pad_left}" x2="{pad_left + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="#e6e8eb"/><text class="tick-y" x="{pad_left - 6}" y="{y(t) + 4:.1f}" '
            f'text-anchor="end" font-size="11">{html.escape(text)}</text>'
        )
    if labels:
        picks = sorted({round(k * (len(labels) - 1) / 4) for k in range(5)})
        for k, i in enumerate(picks):
            anchor = "start" if k == 0 else "end" if k == len(picks) - 1 else "middle"
            parts.append(
                f'<text class="tick-x" x="{x(i):.1f}" y="{height - 10}" text-anchor="{anchor}" '
                f'font-size="11">{html.escape(labels[i])}</text>'
            )
    parts.append(
        f'<polyline fill="none" stroke="#1f6fb2" stroke-width="1.5" points="{points}"/></svg>'
    )
    return "".join(parts)
