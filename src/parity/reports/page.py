"""One self-contained HTML page in the dashboard's style: the dashboard's stylesheet and helpers,
the bundled uPlot (its licence kept) and the page's own script, all inlined, with the page's
figures as one JSON block. Opened from disk, it fetches nothing.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import pandas as pd

# the dashboard's static files are package data; reading them imports nothing of the dashboard
_DASHBOARD = ("dashboard", "static")
_UPLOT = (*_DASHBOARD, "vendor", "uplot")


def _asset(*parts: str) -> str:
    return resources.files("parity").joinpath(*parts).read_text(encoding="utf-8")


def _script(text: str) -> str:
    # a `</script` inside inlined code would end the element early
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


def json_block(data: Any) -> str:
    """`data` as an inline JSON script the page reads (`</` escaped; NaN refused)."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return (
        '<script type="application/json" id="report-data">'
        + text.replace("</", "<\\/")
        + "</script>"
    )


def render_page(*, title: str, header: str, body: str, data: Any, script: str) -> str:
    """The whole page: `header` (HTML) in the dashboard's dark bar, `body` (HTML) in `main`,
    `data` for `script` (a file of `reports/static/`) to draw from."""
    licence = _asset(*_UPLOT, "LICENSE")
    styles = (
        _asset(*_UPLOT, "uPlot.min.css") + "\n" + _asset(*_DASHBOARD, "app.css") + "\n"
        + _asset("reports", "static", "report.css")
    )  # fmt: skip
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{styles}</style></head><body>"
        f"<header>{header}</header><main>{body}</main>"
        + json_block(data)
        + f"<!-- uPlot, bundled: {html.escape(licence.splitlines()[0])}; "
        + "see parity/dashboard/static/vendor/uplot/LICENSE -->"
        + _script(_asset(*_UPLOT, "uPlot.iife.min.js"))
        + _script(_asset(*_DASHBOARD, "common.js"))
        + _script(_asset("reports", "static", "charts.js"))
        + _script(_asset("reports", "static", script))
        + "</body></html>\n"
    )


def epoch_seconds(index: pd.Index) -> list[int]:
    """Bar labels (naive exchange wall-clock times) as seconds since 1970 read as UTC: the page
    draws them in UTC, so the axis shows the exchange's own clock, as the dashboard does."""
    stamps = pd.DatetimeIndex(index)
    if stamps.tz is not None:
        stamps = stamps.tz_localize(None)
    return [int(v) for v in stamps.as_unit("s").asi8]


def finite(values: Sequence[Any]) -> list[float | None]:
    """Plain floats with NaN/inf/None as null (uPlot leaves a gap)."""
    out: list[float | None] = []
    for v in values:
        f = None if v is None else float(v)
        out.append(f if f is not None and math.isfinite(f) else None)
    return out


def aligned(curves: Mapping[str, pd.Series]) -> dict[str, list[Any]]:
    """Curves on their union of timestamps: `{"t": [...], name: [...]}`, null where a curve
    has no value (drawn across with `spanGaps`)."""
    clean = {
        k: s[~s.index.duplicated(keep="last")].astype(float)
        for k, s in curves.items()
        if len(s.dropna())
    }
    if not clean:
        return {"t": []}
    frame = pd.concat(clean, axis=1).sort_index()
    frame = frame[~frame.index.duplicated(keep="last")]
    out: dict[str, list[Any]] = {"t": epoch_seconds(frame.index)}
    for name in clean:
        out[name] = finite(frame[name].tolist())
    return out
