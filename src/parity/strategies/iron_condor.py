"""`iron_condor`: a short iron condor on a cash-settled index with a lot size (NIFTY style).

Its chain defaults (`option_model`): European, cash-settled, `lot` 50 units a contract, weekly
expiries, strikes every 50 points, tick 0.05 (override with the run's option flags). At a
session's close with no trade open: sell the call and the put whose |delta| is nearest
`short_delta`, buy the wings `width` points beyond each, expiring `min_dte`..`max_dte` days out,
`lots` condors at market. Closed when it can be bought back for (1 - `profit_target`) of its
credit or when its loss reaches `stop_multiple` x the credit; else held to expiry, where it is
settled in cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from parity.options.chain import nearest
from parity.options.model import ModelChainParams
from parity.strategies.options_base import OptionsStrategy
from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class IronCondorParams:
    short_delta: float = 0.15
    width: float = 200.0
    min_dte: int = 2
    max_dte: int = 9
    lots: int = 1
    profit_target: float = 0.5
    stop_multiple: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.short_delta < 0.5 or self.width <= 0 or self.lots < 1:
            raise ValueError("short_delta in (0, 0.5), width > 0 and lots >= 1 are required")
        if self.min_dte < 0 or self.max_dte < self.min_dte:
            raise ValueError(f"min_dte {self.min_dte}, max_dte {self.max_dte}: 0 <= min <= max")


class IronCondor(OptionsStrategy):
    """Short iron condor on a cash-settled index with a lot size: profit target and stop."""

    Params = IronCondorParams
    params = bt_params(IronCondorParams)
    option_model: ClassVar[ModelChainParams] = ModelChainParams(
        multiplier=50.0,
        style="european",
        settlement="cash",
        expiries="weekly",
        strike_step=50.0,
        strike_range=0.1,
        tick=0.05,
    )

    def __init__(self) -> None:
        super().__init__()
        self.trade: int | None = None
        self.credit = 0.0

    def notify_combo(self, order: Any) -> None:
        if order.status == "filled" and self.trade is None:
            self.trade = order.group
            self.credit = -order.net * order.qty * order.legs[0].contract.multiplier

    def notify_leg(self, order: Any, fill: Any) -> None:
        if self.trade is not None and not self.options.group_legs(self.trade):
            self.trade = None

    def next(self) -> None:
        cfg = self.cfg
        if self.options.pending():
            return
        if self.trade is not None:
            value = self.options.group_value(self.trade)
            if value is None:
                return
            to_close = -value
            if (
                to_close <= (1 - cfg.profit_target) * self.credit
                or to_close - self.credit >= cfg.stop_multiple * self.credit
            ):
                self.options.close(self.trade)
            return
        dte = (cfg.min_dte, cfg.max_dte)
        calls = self.options.chain(right="call", dte=dte, moneyness=(1.0, 1.1))
        puts = self.options.chain(right="put", dte=dte, moneyness=(0.9, 1.0))
        if not calls or not puts:
            return
        expiry = min(q.contract.expiry for q in calls)
        calls = [q for q in calls if q.contract.expiry == expiry]
        puts = [q for q in puts if q.contract.expiry == expiry]
        short_call = nearest(calls, delta=cfg.short_delta)
        short_put = nearest(puts, delta=-cfg.short_delta)
        if short_call is None or short_put is None:
            return
        long_call = nearest(calls, strike=short_call.contract.strike + cfg.width)
        long_put = nearest(puts, strike=short_put.contract.strike - cfg.width)
        if long_call is None or long_put is None:
            return
        if (
            long_call.contract.strike <= short_call.contract.strike
            or long_put.contract.strike >= short_put.contract.strike
        ):
            return
        self.options.combo(
            [(short_put, -1), (long_put, 1), (short_call, -1), (long_call, 1)],
            cfg.lots,
            tag="iron_condor",
        )
