"""Option calls on an `AlpacaStore`, through alpaca-py's own clients (`alpaca-options-protocol.md`):
contracts (`TradingClient.get_option_contracts`, paged by hand: the SDK does not), chain and
contract snapshots (`OptionHistoricalDataClient.get_option_chain` / `get_option_snapshot`) and the
account's option activities (OPEXC, OPASN, OPEXP, OPTRD, FEE: no SDK method, so the raw path).

Values come back plain: `OptionSnap` per contract (quote, Greeks, IV, the quote's time as naive
exchange time) and activity rows as Alpaca's dicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from parity.venues.alpaca.wire import _local

if TYPE_CHECKING:
    from parity.venues.alpaca.rest import AlpacaRest

OPTION_ACTIVITIES = "OPEXC,OPASN,OPEXP,OPTRD"
PAGE = 100


@dataclass(frozen=True, slots=True)
class OptionSnap:
    """One contract's snapshot: its latest quote, Greeks and implied volatility (None where the
    venue sends none: Alpaca omits them on a zero bid or ask)."""

    symbol: str
    time: dt.datetime | None
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    iv: float | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    rho: float | None


def _snap(symbol: str, raw: Any, zone: Any) -> OptionSnap | None:
    quote = getattr(raw, "latest_quote", None)
    if quote is None:
        return None
    greeks = getattr(raw, "greeks", None)

    def greek(name: str) -> float | None:
        value = getattr(greeks, name, None) if greeks is not None else None
        return None if value is None else float(value)

    iv = getattr(raw, "implied_volatility", None)
    return OptionSnap(
        symbol=symbol,
        time=_local(quote.timestamp, zone),
        bid=float(quote.bid_price or 0.0),
        ask=float(quote.ask_price or 0.0),
        bid_size=float(quote.bid_size or 0.0),
        ask_size=float(quote.ask_size or 0.0),
        iv=None if iv is None else float(iv),
        delta=greek("delta"),
        gamma=greek("gamma"),
        theta=greek("theta"),
        vega=greek("vega"),
        rho=greek("rho"),
    )


def _snaps(store: AlpacaRest, result: Any) -> list[OptionSnap]:
    rows = result if isinstance(result, dict) else {}
    out = [_snap(symbol, raw, store.zone) for symbol, raw in rows.items()]
    return sorted((s for s in out if s is not None), key=lambda s: s.symbol)


def _bound(func: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """`func(*args)` to call later (a loop's own arguments, not the loop variable's last)."""
    return lambda: func(*args)


def option_chain(
    store: AlpacaRest,
    underlying: str,
    *,
    right: str | None = None,
    expiry_from: dt.date | None = None,
    expiry_to: dt.date | None = None,
    strike_from: float | None = None,
    strike_to: float | None = None,
) -> list[OptionSnap]:
    """The chain's snapshots of `underlying` within the filters (every page)."""
    from alpaca.data.requests import OptionChainRequest
    from alpaca.trading.enums import ContractType

    store.connect()
    request = OptionChainRequest(
        underlying_symbol=underlying,
        type=ContractType(right) if right else None,
        expiration_date_gte=expiry_from,
        expiration_date_lte=expiry_to,
        strike_price_gte=strike_from,
        strike_price_lte=strike_to,
    )
    found = store._call(
        f"option chain {underlying}", lambda: store._option_data.get_option_chain(request)
    )
    return _snaps(store, found)


def option_snapshots(store: AlpacaRest, symbols: list[str]) -> list[OptionSnap]:
    """Snapshots of these contracts (100 a request, the API's most)."""
    from alpaca.data.requests import OptionSnapshotRequest

    store.connect()
    out: list[OptionSnap] = []
    for i in range(0, len(symbols), 100):
        request = OptionSnapshotRequest(symbol_or_symbols=symbols[i : i + 100])
        found = store._call(
            "option snapshots", _bound(store._option_data.get_option_snapshot, request)
        )
        out += _snaps(store, found)
    return out


def option_contracts(
    store: AlpacaRest,
    underlying: str,
    *,
    expiry_from: dt.date | None = None,
    expiry_to: dt.date | None = None,
) -> list[Any]:
    """alpaca-py `OptionContract`s of `underlying` listed in the expiry range (every page:
    alpaca-py 0.44.0 returns one page and its `next_page_token`)."""
    from alpaca.trading.requests import GetOptionContractsRequest

    store.connect()
    out: list[Any] = []
    token: str | None = None
    while True:
        request = GetOptionContractsRequest(
            underlying_symbols=[underlying],
            expiration_date_gte=expiry_from,
            expiration_date_lte=expiry_to,
            limit=1000,
            page_token=token,
        )
        page = store._call(
            f"option contracts {underlying}", _bound(store._trading.get_option_contracts, request)
        )
        out += list(page.option_contracts or [])
        token = page.next_page_token
        if not token:
            return out


def option_activities(store: AlpacaRest, after: str | None = None) -> list[dict[str, Any]]:
    """The account's option activities (OPEXC, OPASN, OPEXP, OPTRD), oldest first, every page
    (`after`: only those created after this RFC 3339 time)."""
    store.connect()
    query: dict[str, Any] = {
        "activity_types": OPTION_ACTIVITIES,
        "direction": "asc",
        "page_size": PAGE,
    }
    if after:
        query["after"] = after
    out: list[dict[str, Any]] = []
    while True:
        rows = store._call(
            "option activities", _bound(store._trading.get, "/account/activities", dict(query))
        )
        page = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
        out += page
        if len(page) < PAGE:
            return out
        query["page_token"] = page[-1]["id"]


REGULATORY_FEES = {"ORF", "OCC", "TAF", "REG", "CAT"}  # FEE activity sub-types: an option's fees


def is_daily_fee(row: dict[str, Any]) -> bool:
    """A regulatory FEE row naming no order: Alpaca's charge of a day's total of one type."""
    return (
        row.get("activity_sub_type") in REGULATORY_FEES
        and not row.get("order_id")
        and "order" not in str(row.get("description") or "")
    )


def daily_fee_rows(store: AlpacaRest, after: str | None = None) -> list[dict[str, Any]]:
    """The account's regulatory FEE rows that name no order, oldest first, every page
    (`after`: only those created after this RFC 3339 time)."""
    store.connect()
    query: dict[str, Any] = {"direction": "asc", "page_size": PAGE}
    if after:
        query["after"] = after
    out: list[dict[str, Any]] = []
    while True:
        rows = store._call(
            "fee activities", _bound(store._trading.get, "/account/activities/FEE", dict(query))
        )
        page = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
        out += [r for r in page if is_daily_fee(r)]
        if len(page) < PAGE:
            return out
        query["page_token"] = page[-1]["id"]
