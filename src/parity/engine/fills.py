"""The one fill model: the price, the quantity and the commission of a fill against one bar.

The simulated broker (`parity.brokers.sim`), the local venue's matching engine
(`parity.venue.engine`) and the training environment (`parity.models.env`) all call it, so a
strategy's fills agree to the cent wherever it runs. The prices are Backtrader's `BackBroker`
rules with `slip_open=True, slip_match=True, slip_limit=True, slip_out=False`: slippage moves a
price against the trader and is capped at the bar's high (a buy) or floored at its low (a sell).
`None` means "no fill on this bar".

Partial fills: one fill takes at most `volume_share` of the bar's volume (whole shares), the
rest waits for later bars. Latency: an order sent at `t` can first fill on a bar starting at or
after `t + latency_ms`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from parity.costs import CostModel
from parity.engine.ambiguity import Exit, FinerBars, Rule, check_rule, exit_winner
from parity.errors import ConfigError
from parity.instruments import Instrument

QTY_DECIMALS = 9  # Alpaca's fractional quantities (shares and coins)


def round_quantity(qty: float, step: float) -> float:
    """`qty` rounded down to a multiple of `step` (1 for whole shares; 1e-9 for fractions,
    Alpaca's nine decimals)."""
    if step >= 1.0:
        return float(math.floor(qty / step) * step)
    scale = 10**QTY_DECIMALS
    return int(qty * scale) / scale


def notional_quantity(notional: float, price: float) -> float:
    """The fractional quantity a dollar amount buys at `price`: nine decimals, rounded down, as
    Alpaca sizes a `notional` order at its fill (the sim broker and the local venue alike)."""
    return round_quantity(notional / price, 10.0**-QTY_DECIMALS)


class Bar(NamedTuple):
    """One bar's prices and volume."""

    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, kw_only=True)
class FillModel:
    """Fill prices, partial fills and commission from one `CostModel`."""

    costs: CostModel = field(default_factory=CostModel)
    volume_share: float = 1.0  # the most of a bar's volume one fill takes, in (0, 1]
    latency_ms: int = 0  # from sending an order to the first moment it can fill
    # a bar reaching both exits of one position: which fills (`parity.engine.ambiguity`)
    ambiguous: Rule | None = None  # None: the exit placed first (Backtrader's time priority)
    finer: FinerBars | None = field(default=None, compare=False)  # for `finer-data`

    def __post_init__(self) -> None:
        check_rule(self.ambiguous)
        if self.ambiguous == "finer-data" and self.finer is None:
            raise ConfigError(
                "--ambiguous finer-data needs bars finer than the run's: give --finer SOURCE "
                "(e.g. hourly bars of the same symbols)"
            )
        if not 0 < self.volume_share <= 1:
            raise ConfigError(
                f"volume share {self.volume_share} must be in (0, 1], e.g. --volume-share 0.1"
            )
        if self.latency_ms < 0:
            raise ConfigError(f"latency {self.latency_ms} ms must be >= 0, e.g. --latency 250")

    # ------------------------------------------------------------------ slippage
    def slip_up(self, pmax: float, price: float) -> float:
        """`price` moved against a buyer, capped at `pmax` (`BackBroker._slip_up`)."""
        costs = self.costs
        if costs.slippage_pct:
            slipped = price * (1 + costs.slippage_pct)
        elif costs.slippage_fixed:
            slipped = price + costs.slippage_fixed
        else:
            return price
        return slipped if slipped <= pmax else pmax

    def slip_down(self, pmin: float, price: float) -> float:
        """`price` moved against a seller, floored at `pmin` (`BackBroker._slip_down`)."""
        costs = self.costs
        if costs.slippage_pct:
            slipped = price * (1 - costs.slippage_pct)
        elif costs.slippage_fixed:
            slipped = price - costs.slippage_fixed
        else:
            return price
        return slipped if slipped >= pmin else pmin

    # ------------------------------------------------------------------ prices
    def market(self, buy: bool, bar: Bar) -> float:
        """A market order: the bar's open, slipped, capped at its high (floored at its low)."""
        return self.slip_up(bar.high, bar.open) if buy else self.slip_down(bar.low, bar.open)

    def at_close(self, buy: bool, bar: Bar) -> float:
        """A market order filled at the decision bar's close (`fill_at=close`), slipped and
        capped by that bar's high/low."""
        return self.slip_up(bar.high, bar.close) if buy else self.slip_down(bar.low, bar.close)

    def limit(self, buy: bool, bar: Bar, limit: float) -> float | None:
        """A gap through the limit fills at the (slipped) open, a touch fills at the limit
        (`BackBroker._try_exec_limit`)."""
        if buy:
            if limit >= bar.open:
                return self.slip_up(min(bar.high, limit), bar.open)
            if limit >= bar.low:
                return limit
            return None
        if limit <= bar.open:
            return self.slip_down(limit, bar.open)
        if limit <= bar.high:
            return limit
        return None

    def stop(self, buy: bool, bar: Bar, stop: float) -> float | None:
        """A gap through the stop fills at the (slipped) open, a touch at the (slipped) stop
        (`BackBroker._try_exec_stop`)."""
        if buy:
            if bar.open >= stop:
                return self.slip_up(bar.high, bar.open)
            if bar.high >= stop:
                return self.slip_up(bar.high, stop)
            return None
        if bar.open <= stop:
            return self.slip_down(bar.low, bar.open)
        if bar.low <= stop:
            return self.slip_down(bar.low, stop)
        return None

    def stop_limit(
        self, buy: bool, bar: Bar, stop: float, limit: float
    ) -> tuple[bool, float | None]:
        """A not-yet-triggered stop-limit: `(triggered, price)` (`BackBroker._try_exec_stoplimit`).
        Once triggered, later bars use `limit`."""
        o, h, lo, c = bar.open, bar.high, bar.low, bar.close
        if buy:
            if o >= stop:
                return True, self.limit(True, bar, limit)
            if h < stop:
                return False, None
            if limit >= stop:
                return True, self.slip_up(h, stop)
            return True, (limit if o > c and limit >= c else None)
        if o <= stop:
            return True, self.limit(False, bar, limit)
        if lo > stop:
            return False, None
        if limit <= stop:
            return True, self.slip_down(lo, stop)
        return True, (limit if o <= c and limit <= c else None)

    # ------------------------------------------------------------------ two exits on one bar
    def both_exits(self, long: bool, bar: Bar, tp: float, sl: float) -> bool:
        """Whether `bar` would fill both the take-profit limit `tp` and the stop-loss stop `sl`
        of a long (`long`) or short position."""
        exit_buy = not long
        return (
            self.limit(exit_buy, bar, tp) is not None and self.stop(exit_buy, bar, sl) is not None
        )

    def exit_winner(
        self, *, symbol: str, start: datetime, end: datetime, long: bool, tp: float, sl: float
    ) -> Exit:
        """Which exit fills on the bar [start, end) that `both_exits` reach, by the rule
        (without one: the stop-loss, a `buy_bracket`'s first exit)."""
        return exit_winner(
            self.ambiguous or "stop-first",
            self.finer,
            symbol=symbol,
            start=start,
            end=end,
            long=long,
            tp=tp,
            sl=sl,
        )

    # ------------------------------------------------------------------ quantity and time
    def quantity(self, remaining: float, volume: float) -> float:
        """What of `remaining` one bar of `volume` fills: all of it, or at most `volume_share`
        of the volume in whole shares (0: nothing on this bar)."""
        if self.volume_share >= 1.0:
            return remaining
        return min(remaining, float(math.floor(volume * self.volume_share)))

    @property
    def latency(self) -> timedelta:
        return timedelta(milliseconds=self.latency_ms)

    def fillable_from(self, sent: datetime) -> datetime:
        """The first bar start at which an order sent at `sent` can fill."""
        return sent + self.latency

    # ------------------------------------------------------------------ commission
    def commission(
        self,
        qty: float,
        price: float,
        *,
        prior_qty: float = 0.0,
        prior_notional: float = 0.0,
        instrument: Instrument | None = None,
        sell: bool = False,
        maker: bool = False,
    ) -> float:
        """The commission of one fill (`CostModel.commission`: the minimum and cap once per
        order, the sell-only charge on a `sell`), the percentage on the cash notional of
        `instrument` (its multiplier; a share when None); `maker`: a limit order's fill, at
        the maker's rate."""
        return self.costs.commission(
            qty,
            price,
            prior_qty=prior_qty,
            prior_notional=prior_notional,
            multiplier=instrument.multiplier if instrument is not None else 1.0,
            sell=sell,
            maker=maker,
        )
