"""The currency a symbol is quoted in, and the rule that one run trades in one currency.

Until instruments carry a currency and FX conversion exists, a run mixing currencies would add
rupees to dollars in its cash and equity. The currency is read from the exchange suffix of the
symbol as Yahoo writes it (`RELIANCE.NS`, `VOD.L`) or the quote side of a crypto pair
(`BTC/USD`); a plain symbol is a US listing in dollars. No maintained library maps Yahoo's
suffixes to currencies, hence the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from parity.errors import ConfigError

SUFFIX_CURRENCY: dict[str, str] = {
    ".NS": "INR",
    ".BO": "INR",
    ".L": "GBP",
    ".T": "JPY",
    ".TO": "CAD",
    ".HK": "HKD",
    ".AX": "AUD",
    ".DE": "EUR",
    ".PA": "EUR",
    ".AS": "EUR",
    ".MI": "EUR",
    ".MC": "EUR",
    ".SW": "CHF",
    ".SS": "CNY",
    ".SZ": "CNY",
    ".KS": "KRW",
    ".SA": "BRL",
}


def quote_currency(symbol: str) -> str:
    """ISO code of the currency `symbol` is quoted in (`USD` when nothing says otherwise)."""
    text = symbol.strip().upper()
    if "/" in text:
        return text.rsplit("/", 1)[1]
    for suffix, currency in SUFFIX_CURRENCY.items():
        if text.endswith(suffix):
            return currency
    return "USD"


def is_us_listing(symbol: str) -> bool:
    """Whether `symbol` is a US equity listing (no exchange suffix, not a crypto pair)."""
    return "/" not in symbol and quote_currency(symbol) == "USD"


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
