"""Crypto on the local venue, as Alpaca trades it (its crypto order docs and alpaca-py 0.44.0's
models): pairs such as `BTC/USD` (asset class `crypto`, exchange `CRYPTO`), 24/7, fractional
quantities to nine decimals and `notional` market orders, and these refusals (422):

- time in force `gtc` or `ioc` only: `day` (and `fok`, `opg`, `cls`) is refused with Alpaca's
  own error, code 42210000 "invalid crypto time_in_force";
- order types `market`, `limit` and `stop_limit` only, simple orders only (no bracket, `oco`,
  `oto`);
- no short sales: a sell beyond the coins held is refused as Alpaca refuses it (the venue's
  `insufficient qty available` check, which every sell already passes).

Alpaca reports a crypto position under the pair without its slash (`BTCUSD`) and takes either
form on the positions endpoints; orders, assets and market data use the pair (`BTC/USD`).
"""

from __future__ import annotations

from functools import lru_cache

from parity.instruments import instrument_for

CRYPTO_TIME_IN_FORCE = frozenset({"gtc", "ioc"})
CRYPTO_ORDER_TYPES = frozenset({"market", "limit", "stop_limit"})
INVALID_CRYPTO = 42210000  # Alpaca's code for a crypto order it cannot take


@lru_cache(maxsize=256)
def is_crypto(symbol: str) -> bool:
    """Whether `symbol` is a crypto pair (`BTC/USD`)."""
    return instrument_for(symbol).asset_class == "crypto"


def position_symbol(symbol: str) -> str:
    """The symbol Alpaca reports a position under: `BTCUSD` for `BTC/USD`."""
    return symbol.replace("/", "") if is_crypto(symbol) else symbol


def symbol_for_position(ref: str, symbols: list[str]) -> str | None:
    """The venue's symbol a positions-endpoint reference names (`BTCUSD` or `BTC/USD`)."""
    key = ref.upper()
    for symbol in symbols:
        if key in (symbol, position_symbol(symbol)):
            return symbol
    return None


def refusal(symbol: str, tif: str, kind: str, order_class: str) -> tuple[int, str] | None:
    """Alpaca's (code, message) refusing a crypto order, or None (an equity, or a valid one)."""
    if not is_crypto(symbol):
        return None
    if tif not in CRYPTO_TIME_IN_FORCE:
        return INVALID_CRYPTO, "invalid crypto time_in_force"
    if kind not in CRYPTO_ORDER_TYPES:
        return INVALID_CRYPTO, f"invalid crypto order type {kind!r}: market, limit or stop_limit"
    if order_class != "simple":
        return INVALID_CRYPTO, f"crypto orders must be simple orders, not {order_class}"
    return None
