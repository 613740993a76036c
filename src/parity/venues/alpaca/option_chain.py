"""`VenueChain`: an Alpaca-compatible venue's option chain as a `ChainSource`, so a strategy's
`self.options.chain(...)` runs the same `ChainQuery` on the venue's quotes in paper as on the
model chain in a backtest.

`contracts` asks the venue's chain snapshots (`get_option_chain`) with the query's filters
(expiries from `min_dte`/`max_dte` days after `now`, strikes, right) and keeps the snapshots;
`quotes` answers from them, asking `get_option_snapshot` only for contracts not in them. A
snapshot without a two-sided quote or Greeks is no quote (None), as the model chain gives none
before its volatility is warm. What the run received is told to `on_quotes` (the option tape).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from parity.instruments import OptionRight
from parity.options.chain import Quote
from parity.options.contracts import OptionContract, contract_from_occ
from parity.options.model import ModelChainParams
from parity.venues.alpaca.option_calls import OptionSnap, option_chain, option_contracts
from parity.venues.alpaca.option_calls import option_snapshots as fetch_snapshots

if TYPE_CHECKING:
    from parity.venues.alpaca.rest import AlpacaRest

# (decision time, what was asked: "chain" or "quotes", the snapshots received)
OnQuotes = Callable[[dt.datetime, str, Sequence[OptionSnap]], None]


class VenueChain:
    """The chain of `underlying` at the venue; contract terms the OCC symbol does not carry
    (multiplier, style, settlement) from `params`."""

    def __init__(
        self,
        store: AlpacaRest,
        underlying: str,
        params: ModelChainParams | None = None,
        *,
        on_quotes: OnQuotes | None = None,
    ) -> None:
        self.store = store
        self.underlying = underlying.upper()
        self.params = params or ModelChainParams()
        self.on_quotes = on_quotes
        self._moment: dt.datetime | None = None
        self._snaps: dict[str, OptionSnap] = {}  # received at `_moment`
        self.last: dict[str, OptionSnap] = {}  # the last snapshot received of each contract

    def observe_close(self, session: dt.date, close: float) -> None:
        """Nothing to learn: the venue prices its own chain."""

    def contract(self, symbol: str) -> OptionContract:
        p = self.params
        return contract_from_occ(
            symbol, multiplier=p.multiplier, style=p.style, settlement=p.settlement
        )

    def _keep(self, now: dt.datetime, what: str, snaps: Sequence[OptionSnap]) -> None:
        if now != self._moment:
            self._moment, self._snaps = now, {}
        for snap in snaps:
            self._snaps[snap.symbol] = self.last[snap.symbol] = snap
        if self.on_quotes is not None and snaps:
            self.on_quotes(now, what, snaps)

    def contracts(
        self,
        now: dt.datetime,
        spot: float,
        *,
        right: OptionRight | None = None,
        min_dte: int = 0,
        max_dte: int | None = None,
        min_strike: float | None = None,
        max_strike: float | None = None,
    ) -> list[OptionContract]:
        day = now.date()
        snaps = option_chain(
            self.store,
            self.underlying,
            right=right,
            expiry_from=day + dt.timedelta(days=min_dte),
            expiry_to=None if max_dte is None else day + dt.timedelta(days=max_dte),
            strike_from=min_strike,
            strike_to=max_strike,
        )
        self._keep(now, "chain", snaps)
        found = [self.contract(s.symbol) for s in snaps]
        return sorted(found, key=lambda c: (c.expiry, c.right, c.strike))

    def quotes(
        self, contracts: Sequence[OptionContract], now: dt.datetime, spot: float
    ) -> list[Quote | None]:
        if now != self._moment:
            self._moment, self._snaps = now, {}
        missing = [c.symbol for c in contracts if c.symbol not in self._snaps]
        if missing:
            self._keep(now, "quotes", fetch_snapshots(self.store, missing))
        return [self._quote(c, self._snaps.get(c.symbol), now, spot) for c in contracts]

    @staticmethod
    def _quote(
        contract: OptionContract, snap: OptionSnap | None, now: dt.datetime, spot: float
    ) -> Quote | None:
        if snap is None or (snap.bid <= 0 and snap.ask <= 0):
            return None
        greeks = (snap.iv, snap.delta, snap.gamma, snap.theta, snap.vega, snap.rho)
        if any(g is None for g in greeks):
            return None
        iv, delta, gamma, theta, vega, rho = (float(g) for g in greeks)  # type: ignore[arg-type]
        return Quote(
            contract, snap.time or now, spot, snap.bid, snap.ask, iv, delta, gamma, theta, vega,
            rho, bid_size=snap.bid_size or None, ask_size=snap.ask_size or None,
        )  # fmt: skip

    def expiries(
        self, now: dt.datetime, *, min_dte: int = 0, max_dte: int | None = None
    ) -> list[dt.date]:
        day = now.date()
        listed = option_contracts(
            self.store,
            self.underlying,
            expiry_from=day + dt.timedelta(days=min_dte),
            # an explicit end: the contracts endpoint's default ends at the coming weekend
            expiry_to=day + dt.timedelta(days=3650 if max_dte is None else max_dte),
        )
        return sorted({c.expiration_date for c in listed})

    def describe(self) -> dict[str, Any]:
        return {"source": "venue", "underlying": self.underlying}

    def summary(self) -> str:
        return f"option chain: the venue's quotes of {self.underlying}"
