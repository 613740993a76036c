"""Money as a person reads it: the run's currency symbol (₹ for rupees, $ for dollars, otherwise
the ISO code) in front of the amount."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SYMBOLS = {"USD": "$", "INR": "₹"}
DEFAULT_CURRENCY = "USD"  # runs recorded before the manifest named their currency


def currency_symbol(code: str | None) -> str:
    """`₹` for INR, `$` for USD (and for no code: older runs were all in dollars), else the
    ISO code followed by a space (`GBP `)."""
    code = (code or DEFAULT_CURRENCY).upper()
    return _SYMBOLS.get(code, f"{code} ")


def format_money(value: float | None, code: str | None, *, decimals: int = 2) -> str:
    """`₹50,000.00`, `-$1,234.50`, `GBP 10.00`; `n/a` for None."""
    if value is None:
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_symbol(code)}{abs(value):,.{decimals}f}"


def run_currency(manifest: Any) -> str:
    """The ISO code of a run's currency as its manifest (a mapping or a `Manifest`) records it
    (USD for older runs)."""
    if manifest is None:
        return DEFAULT_CURRENCY
    code = (
        manifest.get("currency")
        if isinstance(manifest, Mapping)
        else getattr(manifest, "currency", None)
    )
    return str(code) if code else DEFAULT_CURRENCY
