"""Daily and weekly reports as text (terminal), JSON (stable keys) and self-contained HTML."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from parity.instruments.money import format_money
from parity.reports import option_period_view
from parity.reports.chart import sparkline, svg_line_chart
from parity.reports.labels import metric_label
from parity.reports.periodic import Report
from parity.reports.text import format_metric, metric_note, table

FORMATS = ("text", "json", "html")
SUFFIX = {"text": "txt", "json": "json", "html": "html"}
OVERALL = ("trades", "win_rate", "profit_factor", "sharpe", "max_drawdown", "total_return")


def render(report: Report, fmt: str) -> str:
    """`report` in `fmt` (`text`, `json` or `html`)."""
    return {"text": to_text, "json": to_json, "html": to_html}[fmt](report)


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, allow_nan=False) + "\n"


def title_of(report: Report) -> str:
    run = report.run
    return f"parity {report.kind} report {report.period['label']} — {run['run_id']}"


# ---------------------------------------------------------------------------- formatting


def money(value: Any, sign: bool = False, currency: str | None = None) -> str:
    """`1,234.50`, with `sign` `+1,234.50`; with the run's `currency` `₹1,234.50`/`+₹1,234.50`."""
    if value is None:
        return "n/a"
    if currency:
        text = format_money(value, currency)
        return f"+{text}" if sign and value >= 0 else text
    return f"{value:+,.2f}" if sign else f"{value:,.2f}"


def price(value: Any, currency: str | None) -> str:
    """A price in the run's currency: cents, or six decimals under one unit (a crypto pair)."""
    if value is None:
        return "n/a"
    return format_money(value, currency, decimals=2 if abs(value) >= 1 or value == 0 else 6)


def pct(value: Any, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+.2f}%" if sign else f"{value * 100:.2f}%"


def qty(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4f}"


def _time(text: Any) -> str:
    return str(text or "-").replace("T", " ")[:16]


def _trade_line(trade: Mapping[str, Any] | None, currency: str | None = None) -> str:
    if trade is None:
        return "none (no closed trades in the period)"
    return (
        f"{trade['symbol']} {trade['side']} {qty(trade['qty'])} "
        f"{_time(trade['entry_time'])} → {_time(trade['exit_time'])}  "
        f"{money(trade['pnl_net'], sign=True, currency=currency)}"
    )


def _positions_rows(report: Report) -> list[list[str]]:
    c = report.run.get("currency")
    return [
        [
            p["symbol"],
            qty(p["qty"]),
            price(p["avg_price"], c),
            price(p["last_price"], c),
            money(p["market_value"], currency=c),
            money(p["unrealized_pnl"], sign=True, currency=c),
        ]
        for p in report.portfolio["positions"]
    ]


TEXT_ROWS = 40  # the text form lists this many fills / trades, the latest; JSON and HTML all


def _last_rows(head: list[str], rows: list[list[str]], what: str) -> list[str]:
    """The table of the last `TEXT_ROWS` rows, saying how many earlier ones are left out."""
    lines = [_indent(table(head, rows[-TEXT_ROWS:]))]
    if len(rows) > TEXT_ROWS:
        lines.insert(0, f"  ({len(rows) - TEXT_ROWS} earlier {what} in the JSON and HTML forms)")
    return lines


def _fill_rows(report: Report) -> list[list[str]]:
    c = report.run.get("currency")
    return [
        [
            _time(f["datetime"]),
            f["symbol"],
            f["side"],
            qty(f["qty"]),
            price(f["price"], c),
            money(f["commission"], currency=c),
        ]
        for f in report.trades["fills"]
    ]


def _trade_head(report: Report) -> list[str]:
    head = ["symbol", "side", "qty", "entry", "exit", "entry px", "exit px", "P&L net"]
    return [*head, "why"] if _has_reasons(report) else head


def _has_reasons(report: Report) -> bool:
    return any("entry_reason" in t for t in report.trades["closed"])


def _why(trade: Mapping[str, Any]) -> str:
    """Why a trade was taken and closed: `entry (tag) -> target`, `! ambiguous (rule)` (the
    tag once: a plan's entry reason names it already)."""
    entry = str(trade.get("entry_reason") or "?")
    tag = f" ({trade['tag']})" if trade.get("tag") and str(trade["tag"]) not in entry else ""
    text = f"{entry}{tag} -> {trade.get('exit_reason') or '?'}"
    return f"{text}, ambiguous bar: {trade['ambiguous']}" if trade.get("ambiguous") else text


def _trade_rows(report: Report) -> list[list[str]]:
    c = report.run.get("currency")
    reasons = _has_reasons(report)
    return [
        [
            t["symbol"],
            t["side"],
            qty(t["qty"]),
            _time(t["entry_time"]),
            _time(t["exit_time"]),
            price(t["entry_price"], c),
            price(t["exit_price"], c),
            money(t["pnl_net"], sign=True, currency=c),
            *([_why(t)] if reasons else []),
        ]
        for t in report.trades["closed"]
    ]


def _limit_rows(report: Report) -> list[list[str]]:
    c = report.run.get("currency")

    def cash(value: Any) -> str:
        return money(value, currency=c)

    out = []
    for item in report.limits:
        show = {
            "max_drawdown": pct,
            "gross_exposure": pct,
            "daily_loss": cash,
            "gross_notional": cash,
            "position_notional": cash,
        }.get(item["limit"], qty)
        out.append(
            [
                item["text"],
                show(item["value"]),
                show(item["threshold"]),
                pct(item["usage"]) if item["usage"] is not None else "n/a",
                item["date"],
                "BREACHED" if item["breached"] else ("near" if item["near"] else "ok"),
            ]
        )
    return out


def _day_rows(report: Report) -> list[list[str]]:
    c = report.run.get("currency")
    return [
        [
            d["date"],
            money(d["pnl"], sign=True, currency=c),
            pct(d["return"], sign=True),
            str(d["fills"]),
            str(d["trades"]),
            money(d["end_equity"], currency=c),
        ]
        for d in report.days
    ]


def divergence_line(div: Mapping[str, Any], currency: str | None = None) -> str:
    if not div.get("checked"):
        return "not checked (run `parity compare RUN`, or a paper run with --divergence-check)"
    where = (
        f"session check of {div.get('session')} (journal)"
        if div.get("source") == "journal"
        else f"`parity compare` with {div.get('compared_with') or 'its backtest twin'} "
        f"({div.get('path')})"
    )
    line = (
        f"{div.get('status')}  from {where}, at {_time(div.get('at'))} UTC; correlation "
        f"{_fmt(div.get('correlation'))}, P&L gap "
        f"{money(div.get('pnl_gap'), sign=True, currency=currency)}, final equity gap "
        f"{money(div.get('final_equity_gap'), sign=True, currency=currency)}"
    )
    if div.get("reasons"):
        line += "; " + "; ".join(str(r) for r in div["reasons"])
    return line


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


# ---------------------------------------------------------------------------- text


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line for line in text.splitlines())


def _market_line(run: Mapping[str, Any]) -> list[str]:
    """Where the run trades: its calendar and zone (times and dates are the exchange's), its
    money and how ratios are annualised; nothing for a report without the figures."""
    calendar = run.get("calendar") or {}
    if not calendar:
        return []
    return [
        f"{calendar.get('name')} calendar, times in {calendar.get('timezone')}, money in "
        f"{run.get('currency')}, annualised over {calendar.get('convention')}"
    ]


def to_text(report: Report) -> str:
    run, port, pnl_, done = report.run, report.portfolio, report.pnl, report.trades
    currency = run.get("currency")

    def cur(value: Any, sign: bool = False) -> str:
        return money(value, sign, currency)

    kind = "Day" if report.kind == "daily" else "Week"
    lines = [
        f"{report.kind.capitalize()} report {report.period['label']} "
        f"({report.period['start']} to {report.period['end']})",
        f"run {run['run_id']}  {run['mode']} / {run['venue'] or '-'}  status {run['status']}",
        f"{run['strategy']} on {','.join(run['symbols'])} {run['timeframe'] or ''}".rstrip(),
        *_market_line(run),
        "",
        f"Portfolio at {_time(port['as_of'])}",
        f"  equity        {cur(port['equity']):>16}   total return "
        f"{pct(port['total_return'], True)} (from {cur(port['starting_cash'])})",
        f"  cash          {cur(port['cash']):>16}",
        f"  market value  {cur(port['market_value']):>16}   unrealized "
        f"{cur(port['unrealized_pnl'], True)}",
    ]
    if port["positions"]:
        head = ["symbol", "qty", "avg price", "last price", "market value", "unrealized"]
        lines.append(_indent(table(head, _positions_rows(report)), "    "))
    else:
        lines.append("  positions     none (flat)")
    lines += [
        "",
        kind,
        f"  P&L           {cur(pnl_['pnl'], True):>16}   return {pct(pnl_['return'], True)}"
        f"   ({cur(pnl_['start_equity'])} → {cur(pnl_['end_equity'])})",
        f"  fills         {done['fill_count']:>16}   closed trades {done['closed_count']}"
        f", realized {cur(done['realized_pnl'], True)}",
        f"  best trade    {_trade_line(done['best'], currency)}",
        f"  worst trade   {_trade_line(done['worst'], currency)}",
    ]
    if report.days:
        head = ["date", "P&L", "return", "fills", "trades", "end equity"]
        lines += ["", "Per day", _indent(table(head, _day_rows(report)))]
    if report.equity_curve:
        values = [p["value"] for p in report.equity_curve]
        lines += ["", f"Equity  {sparkline(values)}  {cur(values[0])} → {cur(values[-1])}"]
    if done["fills"]:
        head = ["time", "symbol", "side", "qty", "price", "commission"]
        lines += ["", "Fills", *_last_rows(head, _fill_rows(report), "fills")]
    if done["closed"]:
        head = _trade_head(report)
        lines += ["", "Closed trades", *_last_rows(head, _trade_rows(report), "closed trades")]
    perf = report.performance
    flags = perf.get("flags") or {}
    lines += ["", f"Performance to date (through {perf['as_of']}, as `parity runs show`)"]
    lines += [
        f"  {metric_label(name):<16}"
        f"{format_metric(name, perf.get(name), flags, currency) + metric_note(name, perf):>24}"
        for name in OVERALL
    ]
    lines += option_period_view.text_lines(report.options, report.run.get("currency"))
    lines += ["", "Backtest vs live", f"  {divergence_line(report.divergence, currency)}"]
    lines += ["", "Action items"]
    if report.actions:
        lines += [f"  [{a['severity']}] {a['message']}" for a in report.actions]
    else:
        lines.append("  none")
    if report.limits:
        head = ["limit", "worst", "threshold", "usage", "date", "state"]
        lines += [
            "",
            "Risk limits (worst of the period)",
            _indent(table(head, _limit_rows(report))),
        ]
    if report.alerts:
        lines += ["", f"Alerts ({len(report.alerts)})"]
        lines += [
            f"  {_time(a['at'])}  {a['level']:<8} {a['title'] or a['rule']}"
            + ("  (suppressed)" if a["suppressed"] else "")
            for a in report.alerts
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- html

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:980px}
h1{font-size:20px;margin-bottom:4px}h2{font-size:16px;margin:22px 0 6px;border-bottom:1px solid
#ddd;padding-bottom:3px}.muted{color:#666}table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.pos{color:#137a2f}.neg{color:#b3261e}
.critical{color:#b3261e;font-weight:600}.warning{color:#a15c00}.info{color:#555}
.PASS{color:#137a2f;font-weight:600}.WARN{color:#a15c00;font-weight:600}
.FAIL{color:#b3261e;font-weight:600}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _kv(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def to_html(report: Report) -> str:
    run, port, pnl_, done = report.run, report.portfolio, report.pnl, report.trades
    currency = run.get("currency")

    def cur(value: Any, sign: bool = False) -> str:
        return money(value, sign, currency)

    parts = [
        f"<h1>{_e(report.kind.capitalize())} report {_e(report.period['label'])}</h1>",
        f'<p class="muted">run {_e(run["run_id"])} · {_e(run["mode"])} / {_e(run["venue"])} · '
        f"status {_e(run['status'])} · {_e(run['strategy'])} on {_e(','.join(run['symbols']))} "
        f"{_e(run['timeframe'] or '')} · {_e(report.period['start'])} to "
        f"{_e(report.period['end'])} · generated {_e(report.generated_at)}</p>",
        f"<h2>Portfolio at {_e(_time(port['as_of']))}</h2>",
        _kv(
            [
                ("equity", cur(port["equity"])),
                ("total return", pct(port["total_return"], True)),
                ("starting cash", cur(port["starting_cash"])),
                ("cash", cur(port["cash"])),
                ("market value", cur(port["market_value"])),
                ("unrealized P&L", cur(port["unrealized_pnl"], True)),
            ]
        ),
    ]
    if port["positions"]:
        head = ["symbol", "qty", "avg price", "last price", "market value", "unrealized"]
        parts.append("<p></p>" + _html_table(head, _positions_rows(report), "positions"))
    else:
        parts.append("<p>No open positions.</p>")
    parts += [
        f"<h2>{'Day' if report.kind == 'daily' else 'Week'}</h2>",
        _kv(
            [
                ("P&L", cur(pnl_["pnl"], True)),
                ("return", pct(pnl_["return"], True)),
                (
                    "start → end equity",
                    f"{cur(pnl_['start_equity'])} → {cur(pnl_['end_equity'])}",
                ),
                ("fills", str(done["fill_count"])),
                ("closed trades", str(done["closed_count"])),
                ("realized P&L", cur(done["realized_pnl"], True)),
                ("best trade", _trade_line(done["best"], currency)),
                ("worst trade", _trade_line(done["worst"], currency)),
            ]
        ),
    ]
    if report.equity_curve:
        labels = [_time(p["datetime"]) for p in report.equity_curve]
        values = [p["value"] for p in report.equity_curve]
        parts += [
            "<h2>Equity</h2>",
            svg_line_chart(labels, values, title="equity", currency=currency),
        ]
    if report.days:
        head = ["date", "P&L", "return", "fills", "trades", "end equity"]
        parts += ["<h2>Per day</h2>", _html_table(head, _day_rows(report), "days")]
    if done["fills"]:
        head = ["time", "symbol", "side", "qty", "price", "commission"]
        parts += ["<h2>Fills</h2>", _html_table(head, _fill_rows(report), "fills")]
    if done["closed"]:
        head = _trade_head(report)
        parts += ["<h2>Closed trades</h2>", _html_table(head, _trade_rows(report), "trades")]
    perf = report.performance
    flags = perf.get("flags") or {}
    parts += [
        f"<h2>Performance to date (through {_e(perf['as_of'])})</h2>",
        _kv(
            [
                (
                    metric_label(n),
                    format_metric(n, perf.get(n), flags, currency) + metric_note(n, perf),
                )
                for n in OVERALL
            ]
        ),
    ]
    parts.append(option_period_view.html(report.options, report.run.get("currency")))
    div = report.divergence
    status = div.get("status")
    badge = f'<span class="{_e(status)}">{_e(status)}</span> ' if status else ""
    parts += [
        "<h2>Backtest vs live</h2>",
        f"<p>{badge}"
        f"{_e(divergence_line(div, currency).removeprefix(str(status or '')).strip())}</p>",
        "<h2>Action items</h2>",
    ]
    if report.actions:
        items = "".join(
            f'<li class="{_e(a["severity"])}">[{_e(a["severity"])}] {_e(a["message"])}</li>'
            for a in report.actions
        )
        parts.append(f'<ul class="actions">{items}</ul>')
    else:
        parts.append("<p>None.</p>")
    if report.limits:
        head = ["limit", "worst", "threshold", "usage", "date", "state"]
        parts += ["<h2>Risk limits</h2>", _html_table(head, _limit_rows(report), "limits")]
    if report.alerts:
        rows = [
            [
                _time(a["at"]),
                a["level"],
                a["title"] or a["rule"] or "",
                a["message"] or "",
                "yes" if a["suppressed"] else "",
            ]
            for a in report.alerts
        ]
        head = ["time", "level", "alert", "message", "suppressed"]
        parts += ["<h2>Alerts</h2>", _html_table(head, rows, "alerts")]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title_of(report))}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
