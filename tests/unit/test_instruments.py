"""Symbols resolve to instruments: US equities, suffixed foreign listings, crypto pairs, OCC
options; malformed instruments are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from parity.feeds.currency import check_one_currency, is_us_listing
from parity.instruments import Instrument, instrument_for, parse_occ


def test_a_plain_symbol_is_a_us_equity_in_dollars() -> None:
    aapl = instrument_for(" aapl ")
    assert (aapl.symbol, aapl.asset_class, aapl.currency, aapl.exchange) == (
        "AAPL",
        "us_equity",
        "USD",
        "XNYS",
    )
    assert aapl.multiplier == 1.0 and not aapl.fractional and aapl.notional(10, 150.25) == 1502.5


def test_an_nse_listing_trades_in_rupees_on_the_nse() -> None:
    reliance = instrument_for("RELIANCE.NS")
    assert (reliance.asset_class, reliance.currency, reliance.exchange) == ("equity", "INR", "XNSE")
    assert not is_us_listing("RELIANCE.NS")


def test_a_crypto_pair_is_fractional_and_trades_around_the_clock() -> None:
    btc = instrument_for("BTC/USD")
    assert (btc.asset_class, btc.currency, btc.exchange) == ("crypto", "USD", "CRYPTO")
    assert btc.fractional and btc.trades_around_the_clock and btc.quantity_step == 1e-9


def test_an_occ_symbol_is_an_option_with_a_multiplier_of_100() -> None:
    call = instrument_for("SPY240119C00450000")
    assert call.asset_class == "option" and call.multiplier == 100.0
    assert (call.underlying, call.expiry, call.strike, call.right) == (
        "SPY",
        dt.date(2024, 1, 19),
        450.0,
        "call",
    )
    assert call.notional(2, 3.15) == pytest.approx(630.0)
    put = parse_occ("AAPL250620P00187500")
    assert put is not None and put.strike == 187.5 and put.right == "put"
    assert is_us_listing("SPY240119C00450000")


@pytest.mark.parametrize("text", ["SPY241332C00450000", "SPY240119X00450000", "SPY24011C0045"])
def test_what_is_not_an_occ_symbol_is_not_an_option(text: str) -> None:
    assert parse_occ(text) is None
    assert instrument_for(text).asset_class == "us_equity"


def test_malformed_instruments_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="multiplier must be positive"):
        Instrument("X", "us_equity", "USD", "XNYS", multiplier=0.0)
    with pytest.raises(ValueError, match="tick_size must be positive"):
        Instrument("X", "us_equity", "USD", "XNYS", tick_size=float("nan"))
    with pytest.raises(ValueError, match="an option needs underlying"):
        Instrument("X", "option", "USD", "OPRA", multiplier=100.0)
    with pytest.raises(ValueError, match="only an option has them"):
        Instrument("X", "us_equity", "USD", "XNYS", strike=10.0)


def test_one_currency_per_run_reads_the_instruments() -> None:
    assert check_one_currency(["AAPL", "SPY240119C00450000"]) == "USD"
    with pytest.raises(Exception, match=r"RELIANCE.NS \(INR\)"):
        check_one_currency(["AAPL", "RELIANCE.NS"])
