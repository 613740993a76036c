"""`put_credit_spread`: sell a short-dated put spread below the market, take half the premium or
stop out (the SPY strategy of issue 16, every rule a parameter).

At each session's close with no trade open: skip when the at-the-money implied volatility is
above `max_iv` (in points) or the day's range is above `max_range` (in price); else sell the put
`buffer` percent below the close (`buffer_high` at or above `high_price`, `buffer_mid` at or above
`mid_price`, `buffer_low` below), buy the put `width` lower, both expiring `dte` days or more
out, `contracts` of them, at market (or at a net credit of at least `min_credit`). An open trade
is closed when it can be bought back for (1 - `profit_target`) of its credit, or when its loss
reaches `max_loss` in cash; otherwise it is held to expiry. Shares an assignment delivers are
sold at the next open (`sell_assigned`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parity.options.chain import nearest
from parity.strategies.options_base import OptionsStrategy
from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class PutCreditSpreadParams:
    dte: int = 1
    max_dte: int = 7
    width: float = 5.0
    contracts: int = 2
    buffer_high: float = 0.5  # percent below the close, at or above high_price
    buffer_mid: float = 0.3  # at or above mid_price
    buffer_low: float = 0.3
    high_price: float = 500.0
    mid_price: float = 400.0
    profit_target: float = 0.5  # of the credit
    max_loss: float = 200.0  # cash per trade
    max_iv: float = 25.0  # at-the-money implied volatility, in points
    max_range: float = 5.0  # the day's high - low
    min_credit: float = 0.0  # 0: at market
    sell_assigned: bool = True  # sell shares an assignment delivered, at the next open

    def __post_init__(self) -> None:
        if self.contracts < 1 or self.width <= 0 or not 0 < self.profit_target <= 1:
            raise ValueError("contracts >= 1, width > 0 and profit_target in (0, 1] are required")
        if self.dte < 0 or self.max_dte < self.dte:
            raise ValueError(f"dte {self.dte} and max_dte {self.max_dte}: 0 <= dte <= max_dte")


class PutCreditSpread(OptionsStrategy):
    """Short-dated put credit spread: profit target, cash stop, volatility and range filters."""

    Params = PutCreditSpreadParams
    params = bt_params(PutCreditSpreadParams)

    def __init__(self) -> None:
        super().__init__()
        self.trade: int | None = None
        self.credit = 0.0  # cash received at entry (after costs)
        self.skipped = 0

    def notify_combo(self, order: Any) -> None:
        if order.status == "filled" and self.trade is None:
            self.trade = order.group
            self.credit = -order.net * order.qty * order.legs[0].contract.multiplier

    def notify_leg(self, order: Any, fill: Any) -> None:
        if self.trade is not None and not self.options.group_legs(self.trade):
            self.trade = None  # flat: closed, expired or assigned

    def next(self) -> None:
        cfg = self.cfg
        data = self.options.underlying_data
        if cfg.sell_assigned and self.getposition(data).size and not self.has_pending(data):
            self.close(data=data)  # shares an assignment delivered
        if self.trade is not None:
            self._manage(cfg)
            return
        if self.options.pending():
            return  # an entry is working (the desk's word: also after a resume)
        close = float(data.close[0])
        listed = self.options.expiries(dte=(cfg.dte, cfg.max_dte))
        if not listed:
            return  # the chain is warming up
        days = (listed[0] - self.options.now().date()).days  # the nearest expiry only
        atm = nearest(
            self.options.chain(right="put", dte=(days, days), strikes=(close - 1, close + 1)),
            strike=close,
        )
        if atm is None:
            return
        if atm.iv * 100 > cfg.max_iv or float(data.high[0]) - float(data.low[0]) > cfg.max_range:
            self.skipped += 1
            return
        buffer = (
            cfg.buffer_high
            if close >= cfg.high_price
            else cfg.buffer_mid
            if close >= cfg.mid_price
            else cfg.buffer_low
        )
        target = close * (1 - buffer / 100)
        puts = self.options.chain(
            right="put", dte=(days, days), strikes=(target - cfg.width - 1, target)
        )
        short = nearest(puts, strike=target)
        if short is None:
            return
        long = nearest(puts, strike=short.contract.strike - cfg.width)
        if long is None or long.contract.strike >= short.contract.strike:
            return
        self.options.combo(
            [(short, -1), (long, 1)],
            cfg.contracts,
            credit=cfg.min_credit or None,
            tag="put_credit_spread",
        )

    def _manage(self, cfg: Any) -> None:
        if self.trade is None or any(o.group == self.trade for o in self.options.pending()):
            return
        cost = self.options.group_value(self.trade)  # cash to buy it back at mid (negative)
        if cost is None:
            return
        to_close = -cost
        if (
            to_close <= (1 - cfg.profit_target) * self.credit
            or to_close - self.credit >= cfg.max_loss
        ):
            self.options.close(self.trade)
