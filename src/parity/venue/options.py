"""The local venue's options (issue 17, first part): contracts and quotes from the part-1 model
chain of each replayed equity, never past the venue's clock.

At a moment `now` (naive exchange time) a chain has seen the closes of the sessions that closed
by then (as the backtest's options desk has), and is quoted at the underlying's last price:
the close of its last bar started before `now`, or the open of the bar a replay step matches
(`step_quote`). Contracts are listed as `/v2/options/contracts` gives them (Alpaca's JSON, the
contract id a stable UUID of its OCC symbol). What Alpaca refuses of an option order is
`option_refusal`: whole contracts, `qty` not `notional`, `day` only (Alpaca's API reference and
its SDK's docstring; `VenueOptions.tifs` widens it, e.g. to test orders resting for days), no
extended hours.
Orders fill at the venue's own costs (`OptionCosts`; default Alpaca's paper fills: at the ask or
bid, no slippage, $0 commission)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from parity.engine.fills import Bar
from parity.errors import ConfigError
from parity.instruments import instrument_for
from parity.instruments.calendars import ExchangeCalendar
from parity.options.chain import Quote, session_close, session_open
from parity.options.contracts import OptionContract, contract_from_occ
from parity.options.costs import OptionCosts
from parity.options.model import ModelChain, ModelChainParams
from parity.venue.config import ALPACA_OPTION_FILLS
from parity.venue.orders import VenueError, asset_id


def is_option_symbol(symbol: str) -> bool:
    try:
        return instrument_for(symbol).asset_class == "option"
    except ConfigError:
        return False


OPTION_TIFS = ("day",)  # what Alpaca takes for an option order


def option_refusal(
    body: Mapping[str, Any], tifs: tuple[str, ...] = OPTION_TIFS
) -> VenueError | None:
    """Alpaca's rules for an option order (422 42210000), or None when it may go on."""
    qty = body.get("qty")
    if body.get("notional") is not None:
        return VenueError(422, 42210000, "notional is not supported for options trading")
    try:
        whole = qty is not None and float(qty) == int(float(qty))
    except (TypeError, ValueError):
        whole = False
    if not whole:
        return VenueError(422, 42210000, f"qty must be a whole number of contracts, got {qty!r}")
    if str(body.get("time_in_force") or "") not in tifs:
        return VenueError(
            422, 42210000, "order_time_in_force provided not supported for options trading"
        )
    if body.get("extended_hours") in (True, "true"):
        return VenueError(422, 42210000, "extended hours are not supported for options trading")
    if str(body.get("type") or "market") not in ("market", "limit"):
        return VenueError(422, 42210000, "option orders are market or limit on this venue")
    return None


class VenueOptions:
    """A model chain per replayed equity, fed the sessions' closes as the clock passes them."""

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame],
        exchange: ExchangeCalendar,
        *,
        params: ModelChainParams | None = None,
        costs: OptionCosts = ALPACA_OPTION_FILLS,
        daily: bool = False,
        charges: bool = False,
        fee_report: str = "per_fill",
    ) -> None:
        """`daily`: the replay's steps are sessions, an order meets the session's opening
        quote (as the backtest's desk fills at the open); `charges`: fills pay the commission
        and fees of `costs` (else the venue's commission model, per contract); `fee_report`: the
        regulatory fees as FEE rows per fill naming the order (`per_fill`), or as Alpaca does,
        a row per fee type after each session's close, naming no order (`daily`)."""
        self.charges = charges
        self.fee_report = fee_report
        self.tifs = OPTION_TIFS  # the times in force an option order may have here
        self.exchange = exchange
        self.daily = daily
        self.params = params or ModelChainParams()
        self.costs = costs
        self.frames = dict(frames)
        self.chains: dict[str, ModelChain] = {}
        self._closes: dict[str, list[tuple[dt.date, float]]] = {}
        self._seen: dict[str, int] = {}
        for symbol, frame in frames.items():
            instrument = instrument_for(symbol)
            if instrument.asset_class != "us_equity":
                continue  # options are listed on US equities only
            self.chains[symbol] = ModelChain(symbol, exchange, self.params, instrument.currency)
            last = frame["close"].groupby(pd.DatetimeIndex(frame.index).date).last()
            self._closes[symbol] = [(d, float(c)) for d, c in last.items()]
            self._seen[symbol] = 0

    def _sync(self, symbol: str, now: dt.datetime) -> ModelChain:
        """The chain of `symbol` having seen every session close up to `now`."""
        chain = self.chains[symbol]
        closes, seen = self._closes[symbol], self._seen[symbol]
        while seen < len(closes) and session_close(self.exchange, closes[seen][0]) <= now:
            chain.observe_close(*closes[seen])
            seen += 1
        self._seen[symbol] = seen
        return chain

    def spot(self, symbol: str, now: dt.datetime) -> float | None:
        """The underlying's last price at `now`: the close of its last bar started before."""
        frame = self.frames[symbol]
        before = frame[frame.index < pd.Timestamp(now)]
        return float(before["close"].iloc[-1]) if len(before) else None

    def listed(self, now: dt.datetime, underlyings: Iterable[str] | None = None) -> list[Quote]:
        """Every contract listed at `now` with its quote (underlyings in order)."""
        out: list[Quote] = []
        for symbol in underlyings if underlyings is not None else list(self.chains):
            if symbol not in self.chains:
                continue
            chain, spot = self._sync(symbol, now), self.spot(symbol, now)
            if spot is None:
                continue
            contracts = chain.contracts(now, spot)
            out += [q for q in chain.quotes(contracts, now, spot) if q is not None]
        return out

    def contract(self, ref: str, now: dt.datetime) -> OptionContract:
        """The listed contract named by its OCC symbol or id, else Alpaca's 404."""
        symbol = ref.upper()
        underlying = self._underlying(symbol)
        for quote in self.listed(now, [underlying] if underlying else None):
            if quote.symbol == symbol or asset_id(quote.symbol) == ref:
                return quote.contract
        raise VenueError(404, 40410000, f"option contract {ref} not found")

    def parse(self, symbol: str) -> OptionContract:
        """The contract an OCC symbol names, with the chain's terms."""
        return contract_from_occ(
            symbol,
            multiplier=self.params.multiplier,
            style=self.params.style,
            settlement=self.params.settlement,
        )

    def _underlying(self, symbol: str) -> str:
        return (instrument_for(symbol).underlying or "") if is_option_symbol(symbol) else ""

    def quote(self, symbol: str, now: dt.datetime, spot: float | None = None) -> Quote | None:
        """`symbol`'s quote at `now` (at `spot` if given, else the last price), None when the
        chain does not list it then."""
        underlying = self._underlying(symbol)
        if underlying not in self.chains:
            return None
        chain = self._sync(underlying, now)
        price = self.spot(underlying, now) if spot is None else spot
        if price is None:
            return None
        listed = {c.symbol for c in chain.contracts(now, price)}
        if symbol not in listed:
            return None
        contract = self.parse(symbol)
        return chain.quotes([chain.contract(contract.expiry, contract.right, contract.strike)],
                            now, price)[0]  # fmt: skip

    def step_quote(self, symbol: str, when: dt.datetime, bars: Mapping[str, Bar]) -> Quote | None:
        """The quote an order meets at a replay step: at the step's time, the underlying at its
        bar's open (None without a bar of the underlying at this step)."""
        bar = bars.get(self._underlying(symbol))
        if bar is None:
            return None
        moment = session_open(self.exchange, when.date()) if self.daily else when
        return self.quote(symbol, moment, bar.open)

    def fill_price(self, side: str, quote: Quote, limit: float | None) -> float | None:
        """The price an order on `quote` fills at (the venue's costs), None if its limit is not
        met."""
        price = self.costs.fill_price(side == "buy", quote.bid, quote.ask)
        if limit is not None and (price > limit + 1e-9 if side == "buy" else price < limit - 1e-9):
            return None
        return round(price, 6)


def stream_quotes(
    options: VenueOptions, subscribed: set[str], when: dt.datetime, bars: Mapping[str, Bar]
) -> list[dict[str, Any]]:
    """The option stream's `q` messages of one replay step (naive `when`): each subscribed
    contract at the quote an order meets at this step, stamped with the quote's time (naive
    exchange time; the caller makes it a msgpack Timestamp)."""
    out = []
    for symbol in sorted(subscribed):
        quote = options.step_quote(symbol, when, bars)
        if quote is None:
            continue
        out.append(
            {"T": "q", "S": symbol, "t": quote.time, "bx": "N", "bp": round(quote.bid, 6),
             "bs": int(quote.bid_size or 0), "ax": "N", "ap": round(quote.ask, 6),
             "as": int(quote.ask_size or 0), "c": " "}
        )  # fmt: skip
    return out


def contract_json(contract: OptionContract) -> dict[str, Any]:
    """An `OptionContract` as `/v2/options/contracts` gives it (strings where alpaca-py wants
    them: `size`, `open_interest`, `close_price`)."""
    strike = f"{contract.strike:g}"
    right = contract.right
    expiry = contract.expiry
    return {
        "id": asset_id(contract.symbol),
        "symbol": contract.symbol,
        "name": f"{contract.underlying} {expiry:%b} {expiry.day} {expiry.year} {strike} "
        f"{right.capitalize()}",
        "status": "active",
        "tradable": True,
        "expiration_date": expiry.isoformat(),
        "root_symbol": contract.underlying,
        "underlying_symbol": contract.underlying,
        "underlying_asset_id": asset_id(contract.underlying),
        "type": right,
        "style": contract.style,
        "strike_price": strike,
        "multiplier": f"{contract.multiplier:g}",
        "size": f"{contract.multiplier:g}",
        "open_interest": None,
        "open_interest_date": None,
        "close_price": None,  # the model chain has no day's close of its own
        "close_price_date": None,
    }
