"""The options rules: journal rows of an options run in, `Alert` values out (no I/O; `Rules`
hands them over).

- a rejected combo (an order with `leg` orders under it, rejected): critical, naming its legs
  and the venue's (or the desk's) message; its legs' own rejections say nothing more;
- an assignment (warning), an exercise, an expiry or a cash settlement (info): the
  `option_<kind>` events the options desk journals;
- a measured spread beyond its assumption: a leg's fill paid more than the backtest's assumed
  half spread (`ModelChainParams.half_spread`, as a fraction of the mid, floored at the model's
  tick as the model's own quotes are) by more than the alert config's band (the "concerning"
  band of the assumptions table, 50% by default; the model rounds its quotes outward to the
  tick, and so does the assumption here). The fill's mid and spread paid are the
  journal's (`fills.mid`, `fills.spread_cost`, schema 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from parity.alerts.alert import Alert, Severity
from parity.alerts.config import AlertConfig
from parity.options.model import ModelChainParams

EVENT_SEVERITY: dict[str, Severity] = {
    "assignment": "warning",
    "exercise": "info",
    "expiry": "info",
    "cash_settlement": "info",
}
TICK = ModelChainParams().tick  # the model's quotes are at least a tick either side of the mid


def assumed_half(mid: float, half_spread: float, tick: float = TICK) -> float:
    """The half spread the backtest's model quotes around `mid`: mid -/+ max(tick, half_spread
    x mid), rounded outward to the tick, bid >= 0 (`options.model.ModelChain.quotes`' rule,
    for one quote: a quote the model itself made is never beyond its assumption)."""
    half = max(tick, half_spread * mid)
    bid = max(math.floor((mid - half) / tick + 1e-9) * tick, 0.0)
    ask = math.ceil((mid + half) / tick - 1e-9) * tick
    return (ask - bid) / 2.0


@dataclass(frozen=True)
class _Order:
    symbol: str
    side: str
    qty: float
    multiplier: float
    parent: str | None
    leg: int | None


@dataclass
class OptionRules:
    """What the options rules remember: each order's placement (from its intent), the combos
    and legs already alerted."""

    config: AlertConfig
    orders: dict[str, _Order] = field(default_factory=dict)
    legs: dict[str, list[str]] = field(default_factory=dict)  # combo id -> its legs' ids
    fired: set[str] = field(default_factory=set)

    def on_intent(
        self,
        client_order_id: str,
        symbol: str,
        side: str,
        qty: float,
        multiplier: float | None,
        parent: str | None,
        leg: int | None,
    ) -> None:
        if leg is None and float(multiplier or 1.0) == 1.0:
            return  # shares, coins: none of these rules' (and a months-long run's many)
        self.orders[client_order_id] = _Order(
            str(symbol), str(side), float(qty or 0.0), float(multiplier or 1.0), parent, leg
        )
        if parent and leg is not None:
            self.legs.setdefault(parent, []).append(client_order_id)

    def rejected(self, client_order_id: str, reason: str) -> list[Alert] | None:
        """A rejection: the combo's alert, `[]` for one of its legs (the combo says it), or
        None for an order that is no combo (the generic rule's)."""
        placed = self.orders.get(client_order_id)
        if placed is not None and placed.leg is not None and placed.parent in self.legs:
            return []
        legs = self.legs.get(client_order_id)
        if not legs or client_order_id in self.fired:
            return None if not legs else []
        self.fired.add(client_order_id)
        named = ", ".join(
            f"{'+' if o.side == 'buy' else '-'}{o.qty:g} {o.symbol}"
            for o in (self.orders[cid] for cid in legs)
        )
        combo = self.orders[client_order_id]
        return [
            Alert(
                "combo_rejected", f"combo_rejected:{client_order_id}", "critical",
                f"combo rejected ({combo.symbol}, {len(legs)} legs)",
                f"combo {client_order_id} ({named}) was rejected: {reason}",
                symbol=combo.symbol,
            )
        ]  # fmt: skip

    def event(self, kind: str, p: dict[str, Any]) -> list[Alert]:
        """An `option_<kind>` event of the desk."""
        severity = EVENT_SEVERITY[kind]
        symbol = str(p.get("symbol") or "?")
        qty = float(p.get("qty") or 0.0)
        shares = float(p.get("shares") or 0.0)
        what = kind.replace("_", " ")
        delivered = f", {shares:+g} shares at the strike" if shares else ""
        return [
            Alert(
                f"option_{kind}", f"option_{kind}:{symbol}:{p.get('session')}", severity,
                f"{what}: {symbol}",
                f"{what} of {symbol} on {p.get('session', '?')}: position {-qty:+g} closed"
                f"{delivered}, cash {float(p.get('cash') or 0.0):+,.2f} (underlying "
                f"{p.get('underlying_price')})",
                symbol=symbol, value=qty,
            )
        ]  # fmt: skip

    def on_fill(
        self,
        client_order_id: str,
        cum_qty: float,
        qty: float,
        price: float,
        mid: float | None,
        spread_cost: float | None,
    ) -> list[Alert]:
        """A leg's fill: its spread paid against the assumption."""
        placed = self.orders.get(client_order_id)
        if placed is None or mid is None or spread_cost is None or not mid > 0 or not qty:
            return []
        half = spread_cost / (abs(qty) * placed.multiplier)  # per unit of the underlying
        measured = half / mid
        model = ModelChainParams()  # the model's defaults where the run set no assumption
        half_spread = self.config.option_half_spread
        tick = self.config.option_tick
        assumed = (
            assumed_half(
                mid,
                model.half_spread if half_spread is None else half_spread,
                model.tick if tick is None else tick,
            )
            / mid
        )
        limit = assumed * (1.0 + self.config.spread_band_pct / 100.0)
        if not measured > limit + 1e-12:
            return []
        beyond = (measured / assumed - 1.0) * 100.0
        return [
            Alert(
                "option_spread", f"option_spread:{client_order_id}:{cum_qty:g}", "warning",
                f"spread beyond its assumption: {placed.symbol}",
                f"{placed.symbol} {placed.side} {abs(qty):g} at {price:g}: half spread paid "
                f"{half:.4f} = {measured:.2%} of mid {mid:g}, assumed {assumed:.2%} "
                f"({beyond:+.0f}%, band {self.config.spread_band_pct:g}%)",
                symbol=placed.symbol, value=round(measured * 100.0, 4),
                threshold=round(limit * 100.0, 4),
            )
        ]  # fmt: skip
