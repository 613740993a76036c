"""Work-arounds for what QuantStats (0.0.86) draws and writes badly, kept apart from what we pass.

While it renders (:func:`patched`): percent axis labels get as many decimals as they need
(its own round to whole percents, so a 1% range reads `1%, 1%, 0%, -0%`), bar charts keep their
category labels upright under their bars (its `autofmt_xdate` rotates them right-aligned, which
puts year labels left of their bars), and matplotlib uses the bundled DejaVu Sans (its Arial is
missing here). After it has written the page (:func:`fix_page`): its header date (`%e %b, %Y`:
a space-padded day) is replaced by the run's first and last date, the `﹪` marker it leaves
after `CAGR` (a missing glyph in most fonts) is dropped, empty cells read `-`, its `onload`
call of an undefined `save()` is removed, and parity's own figures, as `runs show` prints them,
are put at the top with what QuantStats defines differently.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from parity.reports.labels import metric_label
from parity.reports.text import format_metric

OURS = ("total_return", "cagr", "sharpe", "sortino", "volatility", "max_drawdown")


def pct_axis(x: float, _pos: Any = None) -> str:
    """`0.25%`, `-1.5%`, `12%`: up to two decimals, trailing zeros dropped, never `-0%`."""
    value = x * 100
    if abs(value) >= 1000:
        return f"{value:,.0f}%"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0%" if text in ("0", "-0") else f"{text}%"


@contextmanager
def patched() -> Iterator[None]:
    """QuantStats' formatter and matplotlib's x-label rotation, replaced while it renders."""
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter
    from quantstats._plotting import core

    original_pct = core.format_pct_axis
    original_autofmt = Figure.autofmt_xdate
    original_formatter = plt.FuncFormatter

    class Formatter(FuncFormatter):
        """QuantStats' inline `int(x * 100)%` lambdas (two histograms) read as `pct_axis`."""

        def __init__(self, func: Any) -> None:
            ours = getattr(func, "__name__", "") == "<lambda>" and str(
                getattr(func, "__module__", "")
            ).startswith("quantstats")
            super().__init__(pct_axis if ours else func)

    def autofmt_xdate(self: Figure, *args: Any, **kwargs: Any) -> None:
        if any(ax.containers for ax in self.axes):  # a bar chart: labels centred under bars
            for ax in self.axes:
                _label_bars(ax)
            return
        original_autofmt(self, *args, **kwargs)

    core.format_pct_axis = pct_axis
    Figure.autofmt_xdate = autofmt_xdate  # type: ignore[method-assign,assignment]
    plt.FuncFormatter = Formatter  # type: ignore[misc]
    try:
        # svg text stays text: selectable, and readable by the browser tests
        with matplotlib.rc_context({"font.family": "DejaVu Sans", "svg.fonttype": "none"}):
            yield
    finally:
        core.format_pct_axis = original_pct
        Figure.autofmt_xdate = original_autofmt  # type: ignore[method-assign]
        plt.FuncFormatter = original_formatter  # type: ignore[misc]


def _label_bars(ax: Any) -> None:
    """One upright label under each group of bars. QuantStats sets its year labels with
    `set_xticklabels` on whatever ticks the locator chose, while pandas 3 places the bars at
    positions of its own, so the labels land far from their bars: put each label at the
    centre of its group of bars."""
    from matplotlib.ticker import FixedFormatter

    formatter = ax.xaxis.get_major_formatter()
    if ax.containers and isinstance(formatter, FixedFormatter):
        groups = len(ax.containers[0])
        labels = [str(x) for x in formatter.seq][:groups]
        if len(labels) == groups:
            centres = [
                sum(c[i].get_x() + c[i].get_width() / 2 for c in ax.containers) / len(ax.containers)
                for i in range(groups)
            ]
            ax.set_xticks(centres, labels)
    for label in ax.get_xticklabels():
        label.set_rotation(0)
        label.set_horizontalalignment("center")


def fix_page(
    page: str,
    *,
    first: str,
    last: str,
    figures: Mapping[str, Any] | None,
    currency: str | None,
    periods: int,
) -> str:
    """QuantStats' HTML with its defects fixed and parity's figures on top."""
    page = page.replace(' onload="save()"', "").replace("﹪", "")
    page = re.sub(
        r"<dt>.*?</dt>",
        f"<dt>{html.escape(first)} \u2013 {html.escape(last)}</dt>",
        page,
        count=1,
        flags=re.S,
    )
    page = re.sub(r"<td>\s*%?\s*</td>", "<td>\u2013</td>", page)
    if figures is not None:
        page = _fill_drawdown(page, figures)
        page = re.sub(
            r"(</h4>)", lambda m: m.group(1) + ours_panel(figures, currency, periods), page, count=1
        )
    return page


def _fill_drawdown(page: str, figures: Mapping[str, Any]) -> str:
    """A run too short for QuantStats' drawdown (it starts from the first close) shows
    parity's figures in the strategy's column, marked `*` and explained in the panel."""
    for label, key in (
        ("Max Drawdown", "max_drawdown"),
        ("Longest DD Days", "max_drawdown_duration_days"),
    ):
        ours = figures.get(key)
        if ours is None:
            continue
        cell = f'<td title="parity\'s figure">{format_metric(key, ours)}*</td></tr>'
        pattern = rf"(<tr><td>{label}</td>(?:<td>[^<]*</td>)*?)<td>[-\u2013]</td></tr>"
        page = re.sub(pattern, lambda m: m.group(1) + cell, page, count=1)  # noqa: B023
    return page


def ours_panel(figures: Mapping[str, Any], currency: str | None, periods: int) -> str:
    """parity's own figures and how QuantStats' differ, as an HTML block."""
    flags = figures.get("flags") or {}
    rows = "".join(
        f"<tr><td>{html.escape(metric_label(k))}</td><td id='ours-{k}'>"
        f"{html.escape(format_metric(k, figures.get(k), flags, currency))}</td></tr>"
        for k in OURS
    )
    notes = (
        "<li><b>CAGR</b>: parity compounds over calendar days, (1 + total return)<sup>365.25 / "
        "days</sup> \u2212 1 with the day before the first bar as the start; QuantStats over "
        f"trading periods, (1 + total)<sup>{periods} / n</sup> \u2212 1 with n the number of daily "
        "returns. They differ most on short runs.</li>"
        "<li><b>Max drawdown</b>: parity measures from the starting cash (the first peak) on "
        "daily closes; QuantStats from the first day's close, so a loss on the first day is "
        "not in its figure. A value marked * in its table is parity's, where QuantStats has none "
        "(a run of a few days).</li>"
        "<li><b>Sharpe, Sortino, volatility, cumulative return</b>: the same definitions on "
        f"the same daily returns, annualised over {periods} periods a year; they match.</li>"
    )
    return (
        "<div id='parity-figures' style='margin:12px 0;padding:8px 12px;border:1px solid #ccc;"
        "background:#f7f8fa;font-size:13px'><b>parity's figures</b> (as <code>parity runs show"
        "</code> prints them)<table style='margin:6px 0'>"
        f"{rows}</table><ul style='margin:4px 0;padding-left:18px'>{notes}</ul></div>"
    )
