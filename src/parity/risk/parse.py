"""Parsers for risk-limit values, shared by the run file (`risk:` mapping) and the flags.

Each parser takes the text (or a YAML number) and returns the `RiskLimits` field values it sets;
a bad value raises `ValueError` whose text is what a valid value looks like. `limits.py` turns
that into a one-line `ConfigError` naming the flag and an example.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from parity.parsing import parse_bool

Parser = Callable[[Any], dict[str, Any]]

# Plain amounts this small are almost certainly a forgotten `%` (e.g. `2` meaning 2 %).
_AMBIGUOUS_AMOUNT = 10.0


def flag(value: Any) -> bool:
    try:
        return parse_bool(value)
    except ValueError:
        raise ValueError("true or false") from None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a number")
    number = float(str(value).strip().replace("_", ""))
    if not math.isfinite(number) or number <= 0:
        raise ValueError("a positive number")
    return number


def _count(value: Any) -> int:
    number = _number(value)
    if number != int(number):
        raise ValueError("a whole number")
    return int(number)


def _fraction(text: str) -> float | None:
    """`15%` → 0.15, `1.5x` → 1.5; None when the text has no unit."""
    text = text.strip().lower()
    if text.endswith("%"):
        return _number(text[:-1]) / 100.0
    if text.endswith("x"):
        return _number(text[:-1])
    return None


def fraction_or_amount(value: Any) -> tuple[float | None, float | None]:
    """`2%`, `5000` or `2%,5000` → (fraction of equity, absolute amount)."""
    fraction = amount = None
    for part in str(value).split(","):
        if not part.strip():
            continue
        share = _fraction(part)
        if share is not None:
            fraction = share
            continue
        amount = _number(part)
        if amount <= _AMBIGUOUS_AMOUNT:
            raise ValueError(f"a percent like 2% or an amount above {_AMBIGUOUS_AMOUNT:g}")
    if fraction is None and amount is None:
        raise ValueError("a percent of equity, an amount, or both")
    return fraction, amount


def parse_time(text: str) -> dt.time:
    """`09:35` or `09:35:30` → time."""
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("HH:MM-HH:MM in New York time") from None


def trading_hours(value: Any) -> dict[str, Any]:
    start, sep, end = str(value).partition("-")
    if not sep:
        raise ValueError("HH:MM-HH:MM in New York time")
    first, last = parse_time(start), parse_time(end)
    if first >= last:
        raise ValueError("a start before the end")
    return {"trading_start": first, "trading_end": last}


def drawdown(value: Any) -> dict[str, Any]:
    share = _fraction(str(value))
    share = _number(value) if share is None else share
    if not 0 < share < 1:
        raise ValueError("a fraction of peak equity between 0% and 100%")
    return {"max_drawdown": share}


def daily_loss(value: Any) -> dict[str, Any]:
    pct, amount = fraction_or_amount(value)
    if pct is not None and not pct < 1:
        raise ValueError("a percent below 100%")
    return {"daily_loss_pct": pct, "daily_loss_amount": amount}


def gross_exposure(value: Any) -> dict[str, Any]:
    fraction, amount = fraction_or_amount(value)
    return {"max_gross_exposure": fraction, "max_gross_notional": amount}


# option (run-file key; the flag is --key-with-dashes) -> (parser, example value)
OPTIONS: dict[str, tuple[Parser, str]] = {
    "max_position_shares": (lambda v: {"max_position_shares": _number(v)}, "100"),
    "max_position_notional": (lambda v: {"max_position_notional": _number(v)}, "25000"),
    "max_gross_exposure": (gross_exposure, "150% (of equity), 200000, or 150%,200000"),
    "max_open_positions": (lambda v: {"max_open_positions": _count(v)}, "5"),
    "max_orders_per_day": (lambda v: {"max_orders_per_day": _count(v)}, "20"),
    "daily_loss_limit": (daily_loss, "2% (of the day's starting equity), 5000, or 2%,5000"),
    "max_drawdown": (drawdown, "15% (from peak equity)"),
    "trading_hours": (trading_hours, "09:35-15:55 (the exchange's time, as the bar labels)"),
    "flatten_on_kill": (lambda v: {"flatten_on_kill": flag(v)}, "true"),
}
