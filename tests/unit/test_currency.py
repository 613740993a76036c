"""One currency per run: symbols' currencies from their exchange suffix or crypto pair."""

from __future__ import annotations

import pytest

from parity.errors import ConfigError
from parity.feeds.currency import check_one_currency, quote_currency


@pytest.mark.parametrize(
    ("symbol", "currency"),
    [
        ("AAPL", "USD"),
        ("BRK.B", "USD"),
        ("RELIANCE.NS", "INR"),
        ("tcs.bo", "INR"),
        ("VOD.L", "GBP"),
        ("7203.T", "JPY"),
        ("SAP.DE", "EUR"),
        ("BTC/USD", "USD"),
        ("ETH/EUR", "EUR"),
    ],
)
def test_quote_currency(symbol: str, currency: str) -> None:
    assert quote_currency(symbol) == currency


def test_one_currency_passes_and_names_it() -> None:
    assert check_one_currency(["RELIANCE.NS", "TCS.BO"]) == "INR"
    assert check_one_currency(["AAPL", "MSFT", "BTC/USD"]) == "USD"
    assert check_one_currency([]) is None


def test_mixed_currencies_name_each_symbol() -> None:
    with pytest.raises(ConfigError) as caught:
        check_one_currency(["AAPL", "RELIANCE.NS"])
    message = str(caught.value)
    assert "AAPL (USD)" in message and "RELIANCE.NS (INR)" in message
    assert "\n" not in message
