"""The currency a symbol is quoted in, and the rule that one run trades in one currency.

Until FX conversion exists, a run mixing currencies would add rupees to dollars in its cash and
equity. The currency is the symbol's instrument's (`parity.instruments.instrument_for`).
"""

from __future__ import annotations

from collections.abc import Sequence

from parity.errors import ConfigError
from parity.instruments import instrument_for


def quote_currency(symbol: str) -> str:
    """ISO code of the currency `symbol` is quoted in (`USD` when nothing says otherwise)."""
    return instrument_for(symbol).currency


def is_us_listing(symbol: str) -> bool:
    """Whether `symbol` trades in US regular hours: a US equity or a US equity option."""
    return instrument_for(symbol).exchange in ("XNYS", "OPRA")


def check_one_currency(symbols: Sequence[str]) -> str | None:
    """The run's currency; `ConfigError` naming each symbol's currency when they differ."""
    currencies = {symbol: quote_currency(symbol) for symbol in symbols}
    if len(set(currencies.values())) > 1:
        listed = ", ".join(f"{s} ({c})" for s, c in currencies.items())
        raise ConfigError(
            f"symbols quoted in different currencies in one run: {listed}; run each currency "
            "separately (converting between currencies is not supported yet)"
        )
    return next(iter(currencies.values()), None)
