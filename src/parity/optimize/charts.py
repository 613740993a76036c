"""Inline SVG charts for the optimisation reports (no JavaScript, nothing fetched): a scatter of
the objective against one parameter, a heatmap of the objective over two, horizontal bars."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

W, H = 360, 240
PAD_L, PAD_R, PAD_T, PAD_B = 56, 12, 26, 40


def _axis_values(values: Sequence[Any]) -> tuple[list[float], list[str] | None]:
    """Numbers as they are; anything else as category positions (with their labels)."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], None
    labels = sorted({str(v) for v in values})
    return [float(labels.index(str(v))) for v in values], labels


def _scale(low: float, high: float, size: float, flip: bool = False) -> Any:
    span = (high - low) or 1.0

    def at(value: float) -> float:
        share = (value - low) / span
        return size * (1 - share) if flip else size * share

    return at


def scatter(xs: Sequence[Any], ys: Sequence[float], *, title: str, x_name: str, y_name: str) -> str:
    """The objective (y) of every completed trial against one parameter (x)."""
    nx, labels = _axis_values(xs)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    lo_x, hi_x = (min(nx), max(nx)) if nx else (0.0, 1.0)
    lo_y, hi_y = (min(ys), max(ys)) if ys else (0.0, 1.0)
    sx, sy = (
        _scale(lo_x - 0.5 * bool(labels), hi_x + 0.5 * bool(labels), plot_w),
        _scale(lo_y, hi_y, plot_h, flip=True),
    )
    dots = "".join(
        f'<circle cx="{PAD_L + sx(x):.1f}" cy="{PAD_T + sy(y):.1f}" r="3" class="dot"/>'
        for x, y in zip(nx, ys, strict=True)
    )
    ticks_x = (
        [(float(i), label) for i, label in enumerate(labels)]
        if labels
        else [(lo_x, _num(lo_x)), (hi_x, _num(hi_x))]
    )
    x_text = "".join(
        f'<text x="{PAD_L + sx(v):.1f}" y="{H - PAD_B + 14}" text-anchor="middle">'
        f"{html.escape(t)}</text>"
        for v, t in ticks_x
    )
    y_text = (
        f'<text x="{PAD_L - 4}" y="{PAD_T + 4}" text-anchor="end">{_num(hi_y)}</text>'
        f'<text x="{PAD_L - 4}" y="{PAD_T + plot_h}" text-anchor="end">{_num(lo_y)}</text>'
    )
    return _frame(title, dots + x_text + y_text, x_name, y_name)


def heatmap(
    xs: Sequence[Any],
    ys: Sequence[Any],
    zs: Sequence[float],
    *,
    title: str,
    x_name: str,
    y_name: str,
) -> str:
    """The best objective in each (x, y) cell of two parameters."""
    x_keys, y_keys = sorted(set(xs), key=_order), sorted(set(ys), key=_order)
    best: dict[tuple[Any, Any], float] = {}
    for x, y, z in zip(xs, ys, zs, strict=True):
        best[(x, y)] = max(z, best.get((x, y), -math.inf))
    values = list(best.values())
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    cw, ch = plot_w / max(len(x_keys), 1), plot_h / max(len(y_keys), 1)
    cells = []
    for (x, y), z in best.items():
        i, j = x_keys.index(x), y_keys.index(y)
        share = 0.5 if hi == lo else (z - lo) / (hi - lo)
        cells.append(
            f'<rect x="{PAD_L + i * cw:.1f}" y="{PAD_T + (len(y_keys) - 1 - j) * ch:.1f}" '
            f'width="{cw:.1f}" height="{ch:.1f}" fill="{_colour(share)}">'
            f"<title>{html.escape(f'{x_name}={x} {y_name}={y}: {z:.4g}')}</title></rect>"
        )
    labels = (
        f'<text x="{PAD_L}" y="{H - PAD_B + 14}">{html.escape(str(x_keys[0]))}</text>'
        f'<text x="{W - PAD_R}" y="{H - PAD_B + 14}" text-anchor="end">'
        f"{html.escape(str(x_keys[-1]))}</text>"
        f'<text x="{PAD_L - 4}" y="{PAD_T + 10}" text-anchor="end">{html.escape(str(y_keys[-1]))}'
        f'</text><text x="{PAD_L - 4}" y="{PAD_T + plot_h}" text-anchor="end">'
        f"{html.escape(str(y_keys[0]))}</text>"
        if x_keys and y_keys
        else ""
    )
    legend = f'<text x="{W - PAD_R}" y="{H - 6}" text-anchor="end">{_num(lo)} … {_num(hi)}</text>'
    return _frame(title, "".join(cells) + labels + legend, x_name, y_name)


def bars(items: Sequence[tuple[str, float]], *, title: str) -> str:
    """Horizontal bars (parameter importance)."""
    height = PAD_T + 22 * max(len(items), 1) + 10
    top = max((v for _, v in items), default=1.0) or 1.0
    rows = "".join(
        f'<text x="{PAD_L + 60}" y="{PAD_T + 22 * i + 14}" text-anchor="end">'
        f"{html.escape(name)}</text>"
        f'<rect x="{PAD_L + 66}" y="{PAD_T + 22 * i + 3}" height="14" '
        f'width="{(W - PAD_L - 130) * value / top:.1f}" class="bar"/>'
        f'<text x="{PAD_L + 70 + (W - PAD_L - 130) * value / top:.1f}" '
        f'y="{PAD_T + 22 * i + 14}">{value:.2f}</text>'
        for i, (name, value) in enumerate(items)
    )
    return (
        f'<svg class="chart" width="{W}" height="{height}" viewBox="0 0 {W} {height}" role="img">'
        f'<text x="{W / 2}" y="16" text-anchor="middle" class="title">{html.escape(title)}</text>'
        f"{rows}</svg>"
    )


def _frame(title: str, inner: str, x_name: str, y_name: str) -> str:
    return (
        f'<svg class="chart" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img">'
        f'<text x="{W / 2}" y="16" text-anchor="middle" class="title">{html.escape(title)}</text>'
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{W - PAD_L - PAD_R}" height="{H - PAD_T - PAD_B}" '
        f'class="plot"/>{inner}'
        f'<text x="{PAD_L + (W - PAD_L - PAD_R) / 2}" y="{H - 6}" text-anchor="middle">'
        f"{html.escape(x_name)}</text>"
        f'<text x="12" y="{PAD_T + (H - PAD_T - PAD_B) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {PAD_T + (H - PAD_T - PAD_B) / 2})">{html.escape(y_name)}</text>'
        "</svg>"
    )


def _colour(share: float) -> str:
    """Low values blue-grey, high values orange."""
    low, high = (226, 232, 240), (234, 88, 12)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(low, high, strict=True))
    return f"rgb({r},{g},{b})"


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _num(value: float) -> str:
    return f"{value:.4g}"


CSS = """
body{font:14px system-ui,sans-serif;margin:24px;color:#111;max-width:1180px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 6px;
text-align:right}th{background:#f4f4f5}td.l,th.l{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart text{font-size:11px;fill:#333}.chart .title{font-size:12px;font-weight:600}
.chart .plot{fill:#fafafa;stroke:#ddd}.chart .dot{fill:#2563eb;fill-opacity:.7}
.chart .bar{fill:#2563eb}.chart polyline{fill:none;stroke:#2563eb;stroke-width:1.5}
p.reading{background:#f8fafc;border-left:3px solid #2563eb;padding:6px 10px}
"""
