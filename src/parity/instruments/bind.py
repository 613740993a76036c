"""The instrument a data feed carries: set once where the feed is built (`bind_instrument`),
read everywhere through `instrument_of` (brokers for the multiplier, the journal for the order's
asset class, the ledger for P&L).

A Backtrader feed is the one object every order, fill and position points at (`order.data`,
`broker.getposition(data)`), so the instrument rides on it rather than in a parallel map.
"""

from __future__ import annotations

from typing import Any, TypeVar

from parity.instruments.instrument import Instrument
from parity.instruments.resolve import instrument_for

ATTRIBUTE = "instrument"
Feed = TypeVar("Feed")


def bind_instrument(feed: Feed, symbol: str, instrument: Instrument | None = None) -> Feed:
    """Give `feed` (the bars of `symbol`) its instrument: `instrument`, or the one `symbol`
    names (`instrument_for`). Returns `feed`."""
    setattr(feed, ATTRIBUTE, instrument if instrument is not None else instrument_for(symbol))
    return feed


def instrument_of(data: Any) -> Instrument:
    """The instrument of a data feed: the one bound to it, else the one its name resolves to (a
    feed built outside parity's runners), bound then so the next call reads it."""
    found = getattr(data, ATTRIBUTE, None)
    if isinstance(found, Instrument):
        return found
    name = getattr(data, "_name", "") or ""
    instrument = instrument_for(name) if name.strip() else _UNNAMED
    setattr(data, ATTRIBUTE, instrument)
    return instrument


# a feed without a name (a bare Backtrader feed in a test): a share in dollars
_UNNAMED = Instrument(symbol="?", asset_class="us_equity", currency="USD", exchange="XNYS")
