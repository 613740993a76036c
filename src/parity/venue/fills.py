"""Fill prices exactly as Backtrader's `BackBroker` computes them, as configured by
`parity.brokers.sim.build_sim_broker` (`slip_open=True, slip_match=True, slip_limit=True,
slip_out=False`). Pure functions of one bar; `None` means "no fill on this bar".
"""

from __future__ import annotations

from typing import NamedTuple

from parity.costs import CostModel


class Bar(NamedTuple):
    """One bar's prices and volume."""

    open: float
    high: float
    low: float
    close: float
    volume: float


def slip_up(costs: CostModel, pmax: float, price: float) -> float:
    """`BackBroker._slip_up`: price moved against a buyer, capped at `pmax`."""
    if costs.slippage_pct:
        slipped = price * (1 + costs.slippage_pct)
    elif costs.slippage_fixed:
        slipped = price + costs.slippage_fixed
    else:
        return price
    return slipped if slipped <= pmax else pmax


def slip_down(costs: CostModel, pmin: float, price: float) -> float:
    """`BackBroker._slip_down`: price moved against a seller, floored at `pmin`."""
    if costs.slippage_pct:
        slipped = price * (1 - costs.slippage_pct)
    elif costs.slippage_fixed:
        slipped = price - costs.slippage_fixed
    else:
        return price
    return slipped if slipped >= pmin else pmin


def market_price(costs: CostModel, buy: bool, bar: Bar) -> float:
    """A market order fills at the open with slippage, capped at the high (floored at the low)."""
    if buy:
        return slip_up(costs, bar.high, bar.open)
    return slip_down(costs, bar.low, bar.open)


def limit_price(costs: CostModel, buy: bool, bar: Bar, limit: float) -> float | None:
    """`BackBroker._try_exec_limit`: a gap through the limit fills at the (slipped) open, a touch
    fills at the limit."""
    if buy:
        if limit >= bar.open:
            return slip_up(costs, min(bar.high, limit), bar.open)
        if limit >= bar.low:
            return limit
        return None
    if limit <= bar.open:
        return slip_down(costs, limit, bar.open)
    if limit <= bar.high:
        return limit
    return None


def stop_price(costs: CostModel, buy: bool, bar: Bar, stop: float) -> float | None:
    """`BackBroker._try_exec_stop`: a gap through the stop fills at the (slipped) open, a touch at
    the (slipped) stop price."""
    if buy:
        if bar.open >= stop:
            return slip_up(costs, bar.high, bar.open)
        if bar.high >= stop:
            return slip_up(costs, bar.high, stop)
        return None
    if bar.open <= stop:
        return slip_down(costs, bar.low, bar.open)
    if bar.low <= stop:
        return slip_down(costs, bar.low, stop)
    return None


def stop_limit_price(
    costs: CostModel, buy: bool, bar: Bar, stop: float, limit: float
) -> tuple[bool, float | None]:
    """`BackBroker._try_exec_stoplimit` for a not-yet-triggered order: `(triggered, price)`.

    Once triggered, later bars use `limit_price`.
    """
    o, h, lo, c = bar.open, bar.high, bar.low, bar.close
    if buy:
        if o >= stop:
            return True, limit_price(costs, True, bar, limit)
        if h >= stop:
            if o > c:
                if limit >= stop:
                    return True, slip_up(costs, h, stop)
                if limit >= c:
                    return True, limit
                return True, None
            if limit >= stop:
                return True, slip_up(costs, h, stop)
            return True, None
        return False, None
    if o <= stop:
        return True, limit_price(costs, False, bar, limit)
    if lo <= stop:
        if o <= c:
            if limit <= stop:
                return True, slip_down(costs, lo, stop)
            if limit <= c:
                return True, limit
            return True, None
        if limit <= stop:
            return True, slip_down(costs, lo, stop)
        return True, None
    return False, None
