"""`GET /v2/account/portfolio/history`: the account's equity over the bars replayed so far.

The series is rebuilt from the venue's own fills and bars (the same arithmetic as the engine's
`_fill` and `equity`), so it never shows a bar the venue has not replayed and needs no state of
its own: after the last replayed bar its equity is the account's equity."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from aiohttp import web

from parity.venue.clock import MarketCalendar
from parity.venue.engine import Position, invalid
from parity.venue.state import VenueState
from parity.venue.streams import STATE

_PERIOD = re.compile(r"^(\d+)([DWMA])$")
_TIMEFRAME = re.compile(r"^(\d+)(Min|T|H|Hour|D|Day)$")
_SECONDS = {"Min": 60, "T": 60, "H": 3600, "Hour": 3600, "D": 86400, "Day": 86400}


@dataclass(frozen=True)
class Point:
    """The equity after the bar starting at `time` (naive New York) was matched and marked."""

    time: datetime
    equity: float


def equity_points(state: VenueState) -> list[Point]:
    """Equity after every replayed step, replaying the venue's fills in order."""
    engine = state.engine
    fills = sorted(engine.fills, key=lambda f: datetime.fromisoformat(str(f["time"])))
    cash = engine.initial_cash
    positions: dict[str, Position] = {}
    last = dict(state.data.reference_prices)
    out: list[Point] = []
    index = 0
    for step in state.data.steps[: state.step]:
        while index < len(fills) and datetime.fromisoformat(str(fills[index]["time"])) <= step.time:
            cash = _apply(fills[index], cash, positions)
            index += 1
        for symbol, bar in step.bars.items():
            last[symbol] = bar.close
        equity = cash + sum(p.qty * last.get(s, p.avg_price) for s, p in positions.items())
        out.append(Point(step.time, equity))
    return out


def _apply(fill: dict[str, Any], cash: float, positions: dict[str, Position]) -> float:
    """One fill's effect on cash and positions, as `Engine._fill` computes it."""
    symbol, qty, price = str(fill["symbol"]), float(fill["qty"]), float(fill["price"])
    commission = float(fill["commission"])
    position = positions.get(symbol)
    if fill["side"] == "buy":
        cash -= qty * price + commission
        if position is None:
            positions[symbol] = Position(qty, price)
        else:
            total = position.qty + qty
            position.avg_price = (position.qty * position.avg_price + qty * price) / total
            position.qty = total
    else:
        cash += qty * price - commission
        if position is not None:
            position.qty -= qty
            if abs(position.qty) <= 1e-9:
                del positions[symbol]
        else:
            positions[symbol] = Position(-qty, price)
    return cash


def _timeframe_seconds(text: str) -> int:
    match = _TIMEFRAME.match(text)
    if not match or int(match.group(1)) <= 0:
        raise invalid(f"invalid timeframe {text!r}: use 1Min, 5Min, 15Min, 1H or 1D")
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    if seconds > 86400 or (seconds == 86400 and int(match.group(1)) != 1):
        raise invalid(f"invalid timeframe {text!r}: use 1Min, 5Min, 15Min, 1H or 1D")
    return seconds


def _period_days(text: str) -> tuple[int, str]:
    match = _PERIOD.match(text)
    if not match or int(match.group(1)) <= 0:
        raise invalid(f"invalid period {text!r}: a number and D, W, M or A (1D, 1W, 1M, 1A)")
    return int(match.group(1)), match.group(2)


def _first_date(state: VenueState, last: date, period: str) -> date:
    amount, unit = _period_days(period)
    if unit == "D":  # trading days
        sessions = state.calendar.session_dates(None, last)
        return sessions[-amount] if len(sessions) >= amount else (sessions[0] if sessions else last)
    offset = {"W": pd.DateOffset(weeks=amount), "M": pd.DateOffset(months=amount)}.get(
        unit, pd.DateOffset(years=amount)
    )
    return (pd.Timestamp(last) - offset + pd.Timedelta(days=1)).date()


def _default_timeframe(first: date, last: date) -> str:
    span = (last - first).days + 1
    return "1Min" if span < 7 else ("15Min" if span < 30 else "1D")


def _regular(calendar: MarketCalendar, moment: datetime) -> bool:
    return calendar.is_open(calendar.aware(moment))


def _window(moment: datetime, seconds: int) -> datetime:
    """The start of the `seconds`-long window holding `moment`, windows counted from midnight."""
    midnight = datetime.combine(moment.date(), time())
    if seconds >= 86400:
        return midnight
    into = int((moment - midnight).total_seconds())
    return midnight + timedelta(seconds=into - into % seconds)


def _epoch(calendar: MarketCalendar, naive: datetime) -> int:
    return int(calendar.aware(naive).timestamp())


def history(state: VenueState, query: dict[str, str]) -> dict[str, Any]:
    """The PortfolioHistory body for the query parameters alpaca-py and Alpaca's docs name:
    `period`, `timeframe`, `date_start`/`date_end`, `start`/`end`, `extended_hours` or
    `intraday_reporting` (points outside 09:30-16:00 only when asked for), `pnl_reset`
    (`per_day` by default for intraday timeframes, or `no_reset`)."""
    points = equity_points(state)
    calendar = state.calendar
    now = calendar.naive(state.now)
    try:
        end = calendar.parse_naive(query["end"]) if query.get("end") else None
        start = calendar.parse_naive(query["start"]) if query.get("start") else None
        date_end = date.fromisoformat(query["date_end"][:10]) if query.get("date_end") else None
        date_start = (
            date.fromisoformat(query["date_start"][:10]) if query.get("date_start") else None
        )
    except ValueError as exc:
        raise invalid(f"invalid portfolio history date: {exc}") from None
    last_day = (end or (datetime.combine(date_end, time()) if date_end else now)).date()
    if end is None:
        end = datetime.combine(last_day + timedelta(days=1), time())
    if start is None:
        first = date_start or _first_date(state, last_day, query.get("period") or "1M")
        start = datetime.combine(first, time())
    timeframe = query.get("timeframe") or _default_timeframe(start.date(), last_day)
    seconds = _timeframe_seconds(timeframe)
    if seconds < state.data.bar_seconds:
        raise invalid(f"timeframe {timeframe} is finer than the venue's bars")
    daily = seconds >= 86400
    reporting = query.get("intraday_reporting", "market_hours")
    if reporting not in ("market_hours", "extended_hours", "continuous"):
        raise invalid(
            f"invalid intraday_reporting {reporting!r}: market_hours, extended_hours or continuous"
        )
    extended = str(query.get("extended_hours", "")).lower() in ("true", "1")
    extended = extended or reporting != "market_hours"
    before = [p for p in points if p.time < start]
    inside = [
        p
        for p in points
        if start <= p.time < end and (daily or extended or _regular(calendar, p.time))
    ]
    windows: dict[datetime, float] = {}
    for point in inside:  # the last equity in each left-labelled window
        label = _window(point.time, seconds)
        windows[label] = point.equity
    base = before[-1].equity if before else state.engine.initial_cash
    labels = sorted(windows)
    equity = [windows[t] for t in labels]
    per_day = not daily and query.get("pnl_reset", "per_day") != "no_reset"
    initial = state.engine.initial_cash
    bases = _day_bases(points, labels, initial) if per_day else [base] * len(labels)
    profit = [e - b for e, b in zip(equity, bases, strict=True)]
    pct = [(p / b if b else None) for p, b in zip(profit, bases, strict=True)]
    return {
        "timestamp": [_epoch(calendar, t) for t in labels],
        "equity": equity,
        "profit_loss": profit,
        "profit_loss_pct": pct,
        "base_value": bases[0] if bases else base,
        "base_value_asof": (labels[0].date().isoformat() if labels else None),
        "timeframe": timeframe,
        "cashflow": {},
    }


def _day_bases(points: list[Point], labels: list[datetime], initial: float) -> list[float]:
    """For each label, the equity at the end of the previous day with data (`per_day` reset);
    the initial cash before the first day."""
    closes: dict[date, float] = {}
    for point in points:
        closes[point.time.date()] = point.equity
    days = sorted(closes)
    out = []
    for label in labels:
        index = bisect.bisect_left(days, label.date())
        out.append(closes[days[index - 1]] if index else initial)
    return out


async def get_portfolio_history(request: web.Request) -> web.Response:
    return web.json_response(history(request.app[STATE], dict(request.query)))


def add_portfolio_routes(app: web.Application) -> None:
    """Register `GET /v2/account/portfolio/history`."""
    app.router.add_get("/v2/account/portfolio/history", get_portfolio_history)
