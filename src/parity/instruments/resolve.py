"""A symbol as the user writes it (`AAPL`, `RELIANCE.NS`, `BTC/USD`, `SPY240119C00450000`)
resolved into an `Instrument`.

Yahoo's exchange suffixes carry the listing; no maintained library maps them to a currency and an
exchange code, hence the table. OCC option symbols follow the OCC's published layout (root,
YYMMDD, C/P, strike x 1000 in eight digits).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from parity.instruments.instrument import Instrument

# suffix -> (currency, ISO 10383 MIC)
SUFFIX_LISTING: dict[str, tuple[str, str]] = {
    ".NS": ("INR", "XNSE"),
    ".BO": ("INR", "XBOM"),
    ".L": ("GBP", "XLON"),
    ".T": ("JPY", "XTKS"),
    ".TO": ("CAD", "XTSE"),
    ".HK": ("HKD", "XHKG"),
    ".AX": ("AUD", "XASX"),
    ".DE": ("EUR", "XETR"),
    ".PA": ("EUR", "XPAR"),
    ".AS": ("EUR", "XAMS"),
    ".MI": ("EUR", "XMIL"),
    ".MC": ("EUR", "XMAD"),
    ".SW": ("CHF", "XSWX"),
    ".SS": ("CNY", "XSHG"),
    ".SZ": ("CNY", "XSHE"),
    ".KS": ("KRW", "XKRX"),
    ".SA": ("BRL", "BVMF"),
}
_OCC = re.compile(r"^([A-Z][A-Z0-9.]{0,5})(\d{2})(\d{2})(\d{2})([CP])(\d{8})$")
CRYPTO_QUANTITY_STEP = 1e-9  # Alpaca accepts crypto quantities to nine decimals


def parse_occ(symbol: str) -> Instrument | None:
    """The option an OCC symbol names, or None when `symbol` is not one."""
    match = _OCC.match(symbol.strip().upper())
    if match is None:
        return None
    root, yy, mm, dd, right, strike = match.groups()
    try:
        expiry = dt.date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        return None
    return Instrument(
        symbol=match.group(0),
        asset_class="option",
        currency="USD",
        exchange="OPRA",
        multiplier=100.0,
        tick_size=0.01,
        underlying=root,
        expiry=expiry,
        strike=int(strike) / 1000.0,
        right="call" if right == "C" else "put",
    )


@functools.lru_cache(maxsize=4096)  # pure, and its result is frozen: asked per fill and bar
def instrument_for(symbol: str) -> Instrument:
    """The instrument `symbol` names: an OCC option, a crypto pair, a suffixed foreign listing,
    or else a US equity in dollars."""
    text = symbol.strip().upper()
    option = parse_occ(text)
    if option is not None:
        return option
    if "/" in text:
        return Instrument(
            symbol=text,
            asset_class="crypto",
            currency=text.rsplit("/", 1)[1],
            exchange="CRYPTO",
            quantity_step=CRYPTO_QUANTITY_STEP,
        )
    for suffix, (currency, mic) in SUFFIX_LISTING.items():
        if text.endswith(suffix):
            return Instrument(symbol=text, asset_class="equity", currency=currency, exchange=mic)
    return Instrument(symbol=text, asset_class="us_equity", currency="USD", exchange="XNYS")
