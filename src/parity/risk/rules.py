"""The exposure rules of an entry: position size (shares, notional), gross exposure and the
number of open positions. Pure functions of the limits, the order and the broker's view.

Exposure is counted as committed: what is held plus what open orders in the same direction
would add once they fill (the worst case), so two quick entries cannot slip past a limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from parity.risk.limits import RiskLimits

EPS = 1e-9


@dataclass(frozen=True)
class OrderIntent:
    """What an order wants: `qty` shares (positive) of `symbol`, decided on the bar `when`,
    priced at `price` (the data's close)."""

    symbol: str
    side: Literal["buy", "sell"]
    qty: float
    price: float
    when: dt.datetime
    tag: str = ""  # "flatten" for the guard's own closing orders

    @property
    def signed(self) -> float:
        return self.qty if self.side == "buy" else -self.qty


@dataclass(frozen=True)
class BrokerView:
    """The broker's state the rules need: equity, held positions (signed shares), the remaining
    quantity of open orders per symbol (buys, sells; both positive) and the latest prices."""

    equity: float
    positions: Mapping[str, float] = field(default_factory=dict)
    pending: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)

    def held(self, symbol: str) -> float:
        return float(self.positions.get(symbol, 0.0))

    def committed(self, symbol: str) -> float:
        """Held plus the open orders that would enlarge the position."""
        held = self.held(symbol)
        buys, sells = self.pending.get(symbol, (0.0, 0.0))
        if held > EPS:
            return held + buys
        if held < -EPS:
            return held - sells
        return buys if buys >= sells else -sells


def reduces_risk(intent: OrderIntent, view: BrokerView) -> bool:
    """A sell that brings a long down (to flat at most) or a buy that covers a short."""
    held = view.held(intent.symbol)
    after = held + intent.signed
    return abs(held) > EPS and abs(after) <= abs(held) + EPS and after * held >= -EPS


def _after(intent: OrderIntent, view: BrokerView) -> float:
    buys, sells = view.pending.get(intent.symbol, (0.0, 0.0))
    return view.held(intent.symbol) + (buys if intent.side == "buy" else -sells) + intent.signed


def _qty(value: float) -> str:
    return f"{value:g}"


def exposure_breach(limits: RiskLimits, intent: OrderIntent, view: BrokerView) -> str | None:
    """The first exposure limit the entry would breach, as a rejection reason; else None."""
    symbol, after = intent.symbol, _after(intent, view)
    notional = abs(after) * intent.price
    cap = limits.max_position_shares
    if cap is not None and abs(after) > cap + EPS:
        return f"risk: max position {_qty(cap)} shares for {symbol} (would be {_qty(abs(after))})"
    cap = limits.max_position_notional
    if cap is not None and notional > cap + EPS:
        return f"risk: max position notional {cap:,.2f} for {symbol} (would be {notional:,.2f})"
    others = [s for s in {*view.positions, *view.pending} if s != symbol]
    gross = notional + sum(
        abs(view.committed(s)) * view.prices.get(s, intent.price if s == symbol else 0.0)
        for s in others
    )
    cap = limits.max_gross_exposure
    if cap is not None and view.equity > 0 and gross / view.equity > cap + EPS:
        return (
            f"risk: max gross exposure {cap * 100:g}% of equity "
            f"(would be {gross / view.equity:.1%})"
        )
    if cap is not None and view.equity <= 0:
        return "risk: max gross exposure: equity is not positive"
    cap = limits.max_gross_notional
    if cap is not None and gross > cap + EPS:
        return f"risk: max gross exposure {cap:,.2f} (would be {gross:,.2f})"
    count = limits.max_open_positions
    if count is not None and abs(after) > EPS and abs(view.committed(symbol)) <= EPS:
        open_now = sum(1 for s in others if abs(view.committed(s)) > EPS)
        if open_now + 1 > count:
            return f"risk: max open positions {count} (would be {open_now + 1})"
    return None
