"""The data model of the daily and weekly reports, computed from a run's journal frames.

A report covers a period of the run's trading dates (one day, or the days of an ISO week). Its
inputs (`ReportInputs`) are what the journal holds while a paper run is live, so a report never
needs the artifacts a run writes when it ends. Dates are the bars' dates in the exchange's
own time zone (the run's calendar: New York, Mumbai, UTC for 24/7 markets).

Conventions (design.md): money and fractions are plain floats (0.12 = 12 %), `None` where a
figure is undefined. Performance to date is `compute_metrics` over the equity, round trips and
fills up to the end of the period: for a finished run and its last date it is `metrics.json`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from parity.analyzers.ledger import TRADE_COLUMNS, round_trips
from parity.analyzers.metrics import compute_metrics
from parity.analyzers.reasons import REASON_COLUMNS, annotate_trades
from parity.engine.ambiguity import PLACED_FIRST
from parity.instruments.calendars import manifest_calendar
from parity.manifest import Manifest

SCHEMA_VERSION = 1
NEAR_BREACH = 0.8  # a limit used this much (or more) is an action item
SEVERITIES = ("critical", "warning", "info")
_FILL_KEYS = ("datetime", "symbol", "side", "qty", "price", "commission", "client_order_id", "kind")


@dataclass(frozen=True)
class ReportInputs:
    """One run as the journal has it so far.

    `equity`: `value, cash` on the bar labels (sorted, unique); `fills`/`orders`: the journal's
    frames (`fills.csv`/`orders.csv` columns); `closes`: the last close of each date (normalised
    date index) per symbol; `events`: `kind, level, payload, at` plus `date`, the trading date
    each event belongs to (see `session_dates`); `limits`: the run's `RiskLimits` or None;
    `risk_state`: `risk_state.json`; `compare`: `divergence.json` written by `parity compare`,
    with its modification time (UTC) and path."""

    run_id: str
    mode: str
    status: str
    manifest: Manifest
    starting_cash: float
    equity: pd.DataFrame
    fills: pd.DataFrame
    orders: pd.DataFrame
    closes: pd.DataFrame
    events: pd.DataFrame
    limits: Any = None
    risk_state: Mapping[str, Any] | None = None
    compare: Mapping[str, Any] | None = None
    compare_at: dt.datetime | None = None
    compare_path: str | None = None
    # symbol -> multiplier as the journal's orders recorded it (option contracts, lot sizes)
    multipliers: Mapping[str, float] = field(default_factory=dict)
    # the strategy's decisions (`JournalReader.decisions`): why each trade was taken and closed
    decisions: pd.DataFrame | None = None
    # what each option leg's fill paid against its quote (`JournalReader.option_fill_costs`)
    option_fills: pd.DataFrame | None = None
    # the run's directory: its options CSVs (tags, P&L) and `compare/assumptions.csv`
    run_dir: Path | None = None

    def dates(self) -> list[dt.date]:
        """The trading dates the run has bars on, in order."""
        days = pd.DatetimeIndex(self.equity.index).normalize().unique()
        return [d.date() for d in days]


@dataclass(frozen=True)
class Report:
    """A daily or weekly report: JSON-ready sections (see `as_dict` for the key order)."""

    kind: str
    run: dict[str, Any]
    period: dict[str, Any]
    portfolio: dict[str, Any]
    pnl: dict[str, Any]
    trades: dict[str, Any]
    performance: dict[str, Any]
    divergence: dict[str, Any]
    limits: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)  # empty for a run without options
    days: list[dict[str, Any]] = field(default_factory=list)
    equity_curve: list[dict[str, Any]] = field(default_factory=list)
    generated_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON form (`days` and `equity_curve` are empty in a daily report)."""
        return {
            "schema": SCHEMA_VERSION,
            "kind": self.kind,
            "generated_at": self.generated_at,
            "run": self.run,
            "period": self.period,
            "portfolio": self.portfolio,
            "pnl": self.pnl,
            "trades": self.trades,
            "performance": self.performance,
            "divergence": self.divergence,
            "limits": self.limits,
            "actions": self.actions,
            "alerts": self.alerts,
            "options": self.options,
            "days": self.days,
            "equity_curve": self.equity_curve,
        }


# ---------------------------------------------------------------------------- plain values


def num(value: Any) -> float | None:
    """A finite float, or None (NaN, inf, None, missing)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _iso(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.isoformat()


def _plain(key: str, value: Any) -> Any:
    if key.endswith("time") or key == "datetime":
        return _iso(value)
    if key in (
        "symbol",
        "side",
        "client_order_id",
        "kind",
        "entry_reason",
        "exit_reason",
        "ambiguous",
        "tag",
    ):
        return (
            None
            if value is None or (isinstance(value, float) and math.isnan(value))
            else str(value)
        )
    if key == "bars_held":
        return int(value)
    if key == "qty":  # share counts print as `100`, as in the artifacts
        qty = num(value)
        return int(qty) if qty is not None and qty.is_integer() else qty
    return num(value)


def records(frame: pd.DataFrame, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of `frame` as JSON-ready dicts of `keys` (missing columns are None)."""
    out = []
    for row in frame.to_dict("records"):
        out.append({k: _plain(k, row.get(k)) for k in keys})
    return out


# ---------------------------------------------------------------------------- windows


def _day_end(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day) + pd.Timedelta(days=1)


def _between(stamps: pd.Series | pd.DatetimeIndex, first: dt.date, last: dt.date) -> Any:
    times = pd.DatetimeIndex(pd.to_datetime(stamps))
    return (times >= pd.Timestamp(first)) & (times < _day_end(last))


def equity_until(inputs: ReportInputs, day: dt.date) -> pd.DataFrame:
    return inputs.equity[inputs.equity.index < _day_end(day)]


def fills_until(inputs: ReportInputs, day: dt.date) -> pd.DataFrame:
    fills = inputs.fills
    if not len(fills):
        return fills
    return fills[pd.DatetimeIndex(pd.to_datetime(fills["datetime"])) < _day_end(day)]


def equity_before(inputs: ReportInputs, day: dt.date) -> float:
    """The last equity before `day` (the previous date's close), else the starting cash."""
    before = inputs.equity[inputs.equity.index < pd.Timestamp(day)]
    return float(before["value"].iloc[-1]) if len(before) else float(inputs.starting_cash)


def session_dates(
    events: pd.DataFrame, arrivals: pd.DataFrame | None, timezone: str = "America/New_York"
) -> list[dt.date | None]:
    """The trading date each event belongs to.

    A date the payload names wins (`session`, `date`, or the bar time in `when`); otherwise the
    date of the last bar received before the event was recorded (`arrivals`: the tape's
    `received_at` (UTC) and `datetime` (bar label); the first bar's date for an event before
    any bar), otherwise the exchange's date of the event's own (UTC) time."""
    order = None
    if arrivals is not None and len(arrivals):
        received = pd.to_datetime(arrivals["received_at"], utc=True).dt.tz_localize(None)
        order = pd.DataFrame(
            {"received": received, "date": pd.to_datetime(arrivals["datetime"]).dt.date}
        ).sort_values("received", kind="stable")
    out: list[dt.date | None] = []
    for payload, at in zip(events["payload"], events["at"], strict=True):
        named = _named_date(payload if isinstance(payload, Mapping) else {})
        if named is not None:
            out.append(named)
        elif pd.isna(at):
            out.append(None)
        elif order is not None:
            i = int(order["received"].searchsorted(pd.Timestamp(at), side="right")) - 1
            out.append(order["date"].iloc[max(i, 0)])
        else:
            local = pd.Timestamp(at).tz_localize("UTC").tz_convert(timezone)
            out.append(local.date())
    return out


def _named_date(payload: Mapping[str, Any]) -> dt.date | None:
    for key in ("session", "date", "when"):
        text = payload.get(key)
        if isinstance(text, str) and len(text) >= 10:
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                continue
    return None


def events_in(inputs: ReportInputs, kind: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    events = inputs.events
    if not len(events):
        return events
    dates = events["date"]
    mask = (events["kind"] == kind) & dates.notna()
    mask &= dates.map(lambda d: d is not None and first <= d <= last).astype(bool)
    return events[mask]


# ---------------------------------------------------------------------------- sections


def book(fills: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Net quantity and average cost per symbol from fills in order (the average resets when
    the position goes flat and restarts at the fill price when it flips through flat)."""
    held: dict[str, tuple[float, float]] = {}
    for symbol, side, q, p in zip(
        fills["symbol"], fills["side"], fills["qty"], fills["price"], strict=True
    ):
        qty, price = (float(q) if side == "buy" else -float(q)), float(p)
        size, avg = held.get(symbol, (0.0, 0.0))
        new = size + qty
        if abs(new) < 1e-9:
            held[symbol] = (0.0, 0.0)
        elif size == 0 or (size > 0) != (new > 0):
            held[symbol] = (new, price)
        elif (qty > 0) == (size > 0):
            held[symbol] = (new, (size * avg + qty * price) / new)
        else:
            held[symbol] = (new, avg)  # a partial exit keeps the average cost
    return {s: v for s, v in held.items() if abs(v[0]) >= 1e-9}


def last_prices(inputs: ReportInputs, day: dt.date) -> dict[str, float]:
    closes = inputs.closes
    if not len(closes):
        return {}
    upto = closes[pd.DatetimeIndex(closes.index) < _day_end(day)].ffill()
    if not len(upto):
        return {}
    return {str(k): float(v) for k, v in upto.iloc[-1].items() if num(v) is not None}


def option_marks(inputs: ReportInputs, day: dt.date) -> dict[str, float]:
    """Each open option contract's mid at the last session close up to `day` (the options
    desk's `options_session` event): option contracts have no bars of their own."""
    marks = events_in(inputs, "options_session", dt.date.min, day)
    if not len(marks):
        return {}
    return {str(k): float(v) for k, v in (marks["payload"].iloc[-1].get("marks") or {}).items()}


def portfolio(inputs: ReportInputs, day: dt.date) -> dict[str, Any]:
    """Cash, positions, equity and total return at the last bar of `day`."""
    equity = equity_until(inputs, day)
    value, cash = float(equity["value"].iloc[-1]), float(equity["cash"].iloc[-1])
    held = book(fills_until(inputs, day))
    prices = {**last_prices(inputs, day), **option_marks(inputs, day)}
    mult = {s: float(inputs.multipliers.get(s, 1.0)) for s in held}
    if len(held) == 1:  # one position: the broker's own mark (value - cash) prices it
        ((symbol, (qty, _avg)),) = held.items()
        prices.setdefault(symbol, (value - cash) / (qty * mult[symbol]))
    positions = []
    for symbol, (qty, avg) in sorted(held.items()):
        price = prices.get(symbol)
        size = qty * mult[symbol]  # in units of the price: a contract is its multiplier's
        positions.append(
            {
                "symbol": symbol,
                "qty": int(qty) if float(qty).is_integer() else qty,
                "avg_price": avg,
                "last_price": price,
                "market_value": size * price if price is not None else None,
                "unrealized_pnl": (price - avg) * size if price is not None else None,
            }
        )
    cash0 = float(inputs.starting_cash)
    return {
        "as_of": _iso(equity.index[-1]),
        "starting_cash": cash0,
        "cash": cash,
        "equity": value,
        "total_return": value / cash0 - 1.0 if cash0 > 0 else None,
        "market_value": _sum(p["market_value"] for p in positions),
        "unrealized_pnl": _sum(p["unrealized_pnl"] for p in positions),
        "positions": positions,
    }


def _sum(values: Any) -> float | None:
    items = list(values)
    return None if any(v is None for v in items) else float(sum(items))


def pnl(inputs: ReportInputs, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Equity change over the period: from the close before it to its last bar."""
    start = equity_before(inputs, first)
    end = float(equity_until(inputs, last)["value"].iloc[-1])
    return {
        "start_equity": start,
        "end_equity": end,
        "pnl": end - start,
        "return": end / start - 1.0 if start > 0 else None,
    }


def trades(inputs: ReportInputs, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The period's fills and the round trips closed in it, with the best and worst."""
    upto = fills_until(inputs, last)
    fills = upto[_between(upto["datetime"], first, last)] if len(upto) else upto
    closed = round_trips(upto if len(upto) else inputs.fills.iloc[:0], inputs.multipliers)
    keys: tuple[str, ...] = TRADE_COLUMNS
    if inputs.decisions is not None and len(inputs.decisions) and len(closed):
        rule = str((inputs.manifest.config or {}).get("ambiguous") or PLACED_FIRST)
        closed = annotate_trades(closed, upto, inputs.decisions, rule=rule)
        keys = (*TRADE_COLUMNS, *REASON_COLUMNS)
    if len(closed):
        closed = closed[_between(closed["exit_time"], first, last)]
    rows = records(closed, keys)
    best = max(rows, key=lambda r: r["pnl_net"]) if rows else None
    worst = min(rows, key=lambda r: r["pnl_net"]) if rows else None
    return {
        "fills": records(fills, _FILL_KEYS),
        "closed": rows,
        "fill_count": len(fills),
        "closed_count": len(rows),
        "realized_pnl": float(sum(r["pnl_net"] or 0.0 for r in rows)),
        "best": best,
        "worst": worst,
    }


def performance(inputs: ReportInputs, day: dt.date) -> dict[str, Any]:
    """`compute_metrics` over everything up to the end of `day` (the run metrics' function)."""
    fills = fills_until(inputs, day)
    ledger = round_trips(fills if len(fills) else inputs.fills.iloc[:0], inputs.multipliers)
    metrics = compute_metrics(
        equity_until(inputs, day),
        ledger,
        fills,
        starting_cash=float(inputs.starting_cash),
        periods=manifest_calendar(inputs.manifest).annualisation.periods,
    )
    return {"as_of": day.isoformat(), **metrics}


def divergence(inputs: ReportInputs, last: dt.date) -> dict[str, Any]:
    """The latest backtest-vs-live figures: the journal's session check up to `last`, or
    `divergence.json` from `parity compare`, whichever is more recent; `checked` False if
    neither exists."""
    events = events_in(inputs, "divergence", dt.date.min, last)
    checks = (
        [
            (p, at)
            for p, at in zip(events["payload"], events["at"], strict=True)
            if isinstance(p, Mapping) and p.get("event") == "divergence"
        ]
        if len(events)
        else []
    )
    journal: dict[str, Any] | None = None
    if checks:
        payload, at = checks[-1]
        crossed = [
            p
            for p in events["payload"]
            if p.get("event") == "divergence_threshold_crossed"
            and p.get("session") == payload.get("session")
        ]
        journal = {
            "checked": True,
            "source": "journal",
            "at": _iso(at),
            "session": payload.get("session"),
            "status": payload.get("status"),
            "reasons": list(crossed[-1].get("reasons") or []) if crossed else [],
            "correlation": num(payload.get("correlation")),
            "final_equity_gap": num(payload.get("final_equity_gap")),
            "pnl_gap": num(payload.get("pnl_gap")),
            "ledger": payload.get("ledger"),
            "path": None,
        }
    compare: dict[str, Any] | None = None
    if inputs.compare:
        figures = inputs.compare
        verdict = figures.get("verdict") or {}
        curves = figures.get("curves") or {}
        compare = {
            "checked": True,
            "source": "compare",
            "compared_with": figures.get("compared_with") or "its backtest twin",
            "at": _iso(inputs.compare_at),
            "session": None,
            "status": verdict.get("status"),
            "reasons": list(verdict.get("reasons") or []),
            "correlation": num((curves.get("per_bar") or {}).get("correlation")),
            "final_equity_gap": num((curves.get("final_equity") or {}).get("gap")),
            "pnl_gap": num((figures.get("waterfall") or {}).get("total")),
            "ledger": (figures.get("ledger") or {}).get("counts"),
            "path": inputs.compare_path,
        }
    if journal and compare:
        return compare if str(compare["at"] or "") >= str(journal["at"] or "") else journal
    return (
        journal
        or compare
        or {
            "checked": False,
            "source": None,
            "at": None,
            "session": None,
            "status": None,
            "reasons": [],
            "correlation": None,
            "final_equity_gap": None,
            "pnl_gap": None,
            "ledger": None,
            "path": None,
        }
    )


def alerts(inputs: ReportInputs, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The period's alerts (journal events of kind `alert`), oldest first."""
    events = events_in(inputs, "alert", first, last)
    out = []
    for level, payload, at, day in zip(
        events["level"], events["payload"], events["at"], events["date"], strict=True
    ):
        p = payload if isinstance(payload, Mapping) else {}
        out.append(
            {
                "at": _iso(at),
                "date": day.isoformat(),
                "level": str(level),
                "rule": p.get("rule"),
                "key": p.get("key"),
                "title": p.get("title"),
                "message": p.get("message"),
                "symbol": p.get("symbol"),
                "value": num(p.get("value")),
                "threshold": num(p.get("threshold")),
                "suppressed": bool(p.get("suppressed", False)),
            }
        )
    return out
