"""The divergence report's terminal summary (the HTML page is `divergence_html.py`).

It reads the ``divergence.json`` dict of :func:`parity.analyzers.divergence.compute_divergence`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parity.instruments.money import DEFAULT_CURRENCY, format_money
from parity.reports.labels import metric_label
from parity.reports.text import format_metric, table
from parity.reports.waterfall import CENT, LABELS


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
    currency = str(div.get("currency") or DEFAULT_CURRENCY)
    first = side_names(div)[0]
    lines = [f"verdict: {v['status']}" + (f" ({first} vs {what})" if what else "")]
    lines += [f"  - {r}" for r in v["reasons"]]
    lines += [f"warning: {w}" for w in div.get("warnings", [])]
    if div.get("mode") == "what-if":
        lines += ["", "what differs (manifest diff)"]
        lines += [f"  {d}" for d in div.get("differences") or ["nothing: the same run twice"]]
    lines += ["", _metrics_table(div)]
    if div.get("mode") == "expect":
        return "\n".join(lines)
    c = div["curves"]
    lines += ["", "curve agreement        daily      per bar"]
    for key in ("correlation", "dtw", "tracking_error"):
        lines.append(f"  {key:<18} {_num(c['daily'][key]):>9}  {_num(c['per_bar'][key]):>11}")
    fe = c["final_equity"]
    lines.append(
        f"  final equity gap   {_money(fe['gap'], currency)} ({_num(fe['relative_gap'], '.3%')})"
    )
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
            + (
                f"; the twin's trade from it made {_money(cost, currency)}"
                if cost is not None
                else ""
            )
        )
    lines += ["", "P&L gap attribution ({} minus {}, {})".format(*side_names(div), currency)]
    wf = div["waterfall"]
    for name, value in [*wf["components"].items(), ("total", wf["total"])]:
        lines.append(f"  {LABELS.get(name, name):<16} {_money(value, currency):>14}")
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


def side_names(div: Mapping[str, Any]) -> tuple[str, str]:
    """What the two sides are called: `paper run` and its twin, or two backtests by id."""
    if div.get("mode") == "what-if":
        return f"run {div.get('live_run')}", f"run {div.get('reference_run')}"
    return "paper run", "twin"


def _money(value: float, currency: str) -> str:
    """Money in the run's currency; under half a cent reads 0.00, never -0.00."""
    return format_money(0.0 if abs(value) < CENT else value, currency)


def _open_part(counts: Mapping[str, Any]) -> str:
    """`(54 closed + 1 open at the end)`: `metrics.trades` counts closed trades only."""
    still_open = counts.get("matched_open")
    if not still_open:
        return ""
    return f" ({counts.get('matched_closed')} closed + {still_open} open at the end)"


def _metrics_table(div: Mapping[str, Any]) -> str:
    expect = div.get("mode") == "expect"
    currency = str(div.get("currency") or DEFAULT_CURRENCY)
    tape = bool(div.get("tape_run"))
    if div.get("mode") == "what-if":
        head = ["metric", str(div.get("live_run")), str(div.get("reference_run"))]
    elif expect:
        head = ["metric", "paper", "stated"]
    else:
        head = ["metric", "paper", *(["tape"] if tape else []), "reference"]
    rows = []
    for name, m in div["metrics"].items():
        cells = [metric_label(name), format_metric(name, m["live"], currency=currency)]
        cells += (
            [format_metric(name, m["stated"], currency=currency)]
            if expect
            else [
                *([format_metric(name, m["tape"], currency=currency)] if tape else []),
                format_metric(name, m["reference"], currency=currency),
            ]
        )
        diff = m["abs_diff"]
        cells += [
            "n/a" if diff is None else format_metric(name, diff, currency=currency),
            _num(m["rel_diff"], ".1%"),
        ]
        if expect:
            cells.append(m.get("worse") or "either")
        rows.append(cells)
    return table([*head, "diff", "rel", *(["worse if"] if expect else [])], rows)
