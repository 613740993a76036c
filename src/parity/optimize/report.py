"""The optimisation's HTML report: the best trials, the overfitting statistics with their
readings, the objective against each parameter, a heatmap for each pair of parameters (the first
three pairs), Optuna's parameter importance, and the table of every trial."""

from __future__ import annotations

import html
import itertools
import warnings
from typing import Any

import optuna
import pandas as pd

from parity.optimize import charts
from parity.optimize.objective import Objective
from parity.optimize.results import Statistics
from parity.optimize.space import Space


def importance(study: optuna.Study) -> list[tuple[str, float]]:
    """Optuna's parameter importance (empty when it cannot be computed: too few trials, or no
    parameter varies)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = optuna.importance.get_param_importances(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            return []
    if any("too small" in str(w.message) for w in caught):
        return []  # Optuna would report equal importances: say it cannot tell instead
    return [(name, float(value)) for name, value in found.items()]


def table_html(frame: pd.DataFrame, limit: int = 500) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.head(limit).iterrows():
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row.tolist())
        rows.append(f"<tr>{cells}</tr>")
    more = f"<p>{len(frame) - limit} more rows in trials.csv</p>" if len(frame) > limit else ""
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{charts.CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        "</body></html>\n"
    )


def readings_html(stats: Statistics) -> str:
    return "".join(f'<p class="reading">{html.escape(text)}</p>' for text in stats.readings())


def optimize_report(
    study: optuna.Study, table: pd.DataFrame, space: Space, objective: Objective, stats: Statistics
) -> str:
    done = table[table["state"] == "complete"]
    names = space.names
    scatters = "".join(
        charts.scatter(
            done[name].tolist(), done["objective"].astype(float).tolist(),
            title=f"{objective.text} vs {name}", x_name=name, y_name=objective.text,
        )
        for name in names
    )  # fmt: skip
    heatmaps = "".join(
        charts.heatmap(
            done[a].tolist(), done[b].tolist(), done["objective"].astype(float).tolist(),
            title=f"best {objective.text} by {a} x {b}", x_name=a, y_name=b,
        )
        for a, b in itertools.islice(itertools.combinations(names, 2), 3)
    ) if len(done) else ""  # fmt: skip
    ranks = importance(study)
    importance_html = (
        charts.bars(ranks, title="parameter importance (Optuna)")
        if ranks
        else "<p>parameter importance needs at least two completed trials that differ</p>"
    )
    ordered = done.sort_values("objective", ascending=objective.direction == "minimize")
    best_rows = table_html(ordered.head(5))
    failed = int((table["state"] == "fail").sum())
    definition = study.user_attrs.get("parity", {})
    intro = (
        f"<p>strategy <b>{html.escape(str(definition.get('strategy')))}</b>, search "
        f"{html.escape(str(definition.get('search')))}, objective {html.escape(objective.text)} "
        f"({objective.direction}), {len(table)} trials ({failed} failed), space "
        f"{html.escape(', '.join(f'{k}={v}' for k, v in space.describe().items()))}</p>"
    )
    body = (
        intro
        + "<h2>Overfitting</h2>" + readings_html(stats)
        + "<h2>Best trials</h2>" + best_rows
        + f'<h2>Objective by parameter</h2><div class="charts">{scatters}{heatmaps}</div>'
        + f"<h2>Parameter importance</h2>{importance_html}"
        + "<h2>Every trial</h2>" + table_html(table)
    )  # fmt: skip
    return page(f"parity optimize: {study.study_name}", body)


def walkforward_report(result: Any, windows: pd.DataFrame, objective: str) -> str:
    """The walk-forward's HTML report: the stitched out-of-sample curve and metrics, efficiency,
    overfitting statistics, params per window and their stability."""
    from parity.reports.chart import svg_line_chart

    equity = result.equity["value"]
    curve = svg_line_chart(
        [f"{t:%Y-%m-%d}" for t in equity.index], equity.astype(float).tolist(),
        title="out-of-sample equity (stitched test windows)",
    )  # fmt: skip
    metrics = {k: v for k, v in result.metrics.items() if k != "flags"}
    metric_rows = "".join(
        f"<tr><th class='l'>{html.escape(k)}</th><td>{html.escape(_cell(v))}</td></tr>"
        for k, v in metrics.items()
    )
    wfe = result.efficiency
    readings = [
        "walk-forward efficiency "
        + ("undefined (in-sample returns not positive)" if wfe is None else f"{wfe:.2f}")
        + ": out-of-sample annualised return over the in-sample annualised return of the chosen "
        "params (above 0.5 is usually read as robust)",
    ]
    if result.deflated:
        readings.append(f"out of sample: {result.deflated['reading']}")
    if result.pbo is not None:
        readings.append(
            f"median probability of backtest overfitting over the windows' searches "
            f"{result.pbo:.2f} (see each window's figure below)"
        )
    stability_rows = "".join(
        f"<tr><th class='l'>{html.escape(name)}</th><td class='l'>"
        f"{html.escape(', '.join(map(str, entry['values'])))}</td>"
        f"<td>{entry['most_common_share']:.0%}</td><td>{entry['changes']}</td>"
        f"<td>{_cell(entry.get('cv'))}</td></tr>"
        for name, entry in result.stability.items()
    )
    body = (
        "".join(f'<p class="reading">{html.escape(t)}</p>' for t in readings)
        + curve
        + f"<h2>Out-of-sample metrics</h2><table>{metric_rows}</table>"
        + "<h2>Windows</h2>" + table_html(windows)
        + "<h2>Parameter stability</h2><table><tr><th class='l'>param</th><th class='l'>chosen "
        "per window</th><th>most common</th><th>changes</th><th>cv</th></tr>"
        + stability_rows + "</table>"
    )  # fmt: skip
    return page(f"parity walk-forward: {result.name} ({objective})", body)
