"""What is traded: `Instrument` (symbol, asset class, multiplier, tick, currency, exchange) and
the rule that resolves a symbol as the user writes it into one."""

from parity.instruments.bind import bind_instrument, instrument_of
from parity.instruments.instrument import AssetClass, Instrument, OptionRight
from parity.instruments.resolve import instrument_for, parse_occ

__all__ = [
    "AssetClass",
    "Instrument",
    "OptionRight",
    "bind_instrument",
    "instrument_for",
    "instrument_of",
    "parse_occ",
]
