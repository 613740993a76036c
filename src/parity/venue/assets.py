"""What the venue serves about a symbol's instrument (`parity.instruments`): its Alpaca asset
class and its multiplier, the cash per point per unit its fills, positions and equity use."""

from __future__ import annotations

from parity.instruments import instrument_for

# Alpaca's asset classes; an equity of another exchange has no class of its own there, so it is
# served as Alpaca's one equity class (alpaca-py parses the field into its `AssetClass` enum)
_ALPACA_CLASS = {"us_equity": "us_equity", "equity": "us_equity", "option": "us_option"}


def multiplier(symbol: str) -> float:
    """Cash per point per unit of `symbol`'s instrument (100 for an option, 1 for a share)."""
    return instrument_for(symbol).multiplier


def asset_class(symbol: str) -> str:
    """The Alpaca asset class of `symbol`'s instrument (`us_equity`, `us_option`, `crypto`)."""
    kind = instrument_for(symbol).asset_class
    return _ALPACA_CLASS.get(kind, kind)
