"""`ParityStrategy`: the base of the bundled strategies — validated params and position sizing.

Sizing (the same three modes for every bundled strategy):
- `fixed`: buy `size` shares per entry;
- `percent`: spend `size` * equity / number of symbols per entry (0.95 keeps cash for costs);
- `target`: bring the position to `size` * equity / number of symbols (net of what is held).

Units (`units`): `auto` sizes in the instrument's quantity step (whole shares; coins of a crypto
pair to nine decimals); `fractional` sizes shares to nine decimals too (Alpaca's fractional
shares: market orders); `notional` sends the `percent`/`target` budget as dollars
(`notional=`, a market order Alpaca and the backtest size at the fill price).

Strategies never look at the mode they run in: the same class runs in backtest and paper.

Per-symbol readiness: Backtrader calls `next()` only once every data feed has reached its
indicators' minimum period, so a symbol whose data starts years later would hold the others back.
A strategy that sets `per_symbol_warmup = True` (every bundled one does) has `next()` called from
`prenext()` too and skips each data until `ready(data)`: every symbol trades as soon as its own
indicators are ready. It is opt-in because a `next()` that does not check `ready` would act on
indicators that are not warmed up yet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import backtrader as bt

from parity.engine.fills import QTY_DECIMALS, notional_quantity, round_quantity
from parity.instruments import instrument_for
from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class SizingParams:
    """Position sizing shared by the bundled strategies."""

    sizing: Literal["fixed", "percent", "target"] = "percent"
    size: float = 0.95
    units: Literal["auto", "fractional", "notional"] = "auto"

    def __post_init__(self) -> None:
        if not math.isfinite(self.size) or self.size <= 0:
            raise ValueError(f"size must be positive, got {self.size}")
        if self.sizing == "fixed" and self.units == "notional":
            raise ValueError(
                "units=notional spends a share of equity: use sizing=percent or sizing=target"
            )
        if self.sizing == "fixed" and self.units == "auto" and self.size != int(self.size):
            raise ValueError(
                f"size must be a whole number of shares for sizing=fixed: {self.size} "
                "(or --param units=fractional)"
            )
        if self.sizing in ("percent", "target") and self.size > 1.0:
            raise ValueError(
                f"size is a fraction of equity for sizing={self.sizing}; use at most 1.0, "
                f"got {self.size}"
            )


@dataclass(frozen=True)
class BarsOfRun:
    """What a run trades, as a strategy's `bars_warnings` sees it."""

    symbols: tuple[str, ...]
    timeframe: str  # its name, e.g. `1Day`
    first: dt.datetime
    last: dt.datetime


class ParityStrategy(bt.Strategy):
    """Base class: `self.cfg` holds the validated params; `enter_long` / `exit_position` trade."""

    Params: ClassVar[type] = SizingParams
    params = bt_params(SizingParams)

    def __init__(self) -> None:
        names = [f.name for f in dataclasses.fields(self.Params)]
        self.cfg: Any = self.Params(**{name: getattr(self.p, name) for name in names})
        self._seen: set[int] = set()
        self._ready: set[int] = set()  # id() of the datas `ready` found warmed up
        self._pending: dict[
            str, int
        ] = {}  # data name -> live orders, so a slow fill is not doubled

    # True: next() also runs while some data is still warming up and checks ready(data)
    per_symbol_warmup: ClassVar[bool] = False

    @classmethod
    def bars_warnings(cls, params: Mapping[str, Any], bars: BarsOfRun) -> list[str]:
        """Before any bar: what a person should know about running these params on `bars`
        (returned), or a `ParityError` when the run cannot mean anything. None by default."""
        return []

    def prenext(self) -> None:
        """Some data is not warmed up yet: with `per_symbol_warmup`, decide for the others."""
        if self.per_symbol_warmup:
            self.next()

    def ready(self, data: bt.AbstractDataBase) -> bool:
        """True once `data` has bars and its indicators have warmed up (Backtrader's minimum
        period of that data: its longest indicator)."""
        if id(data) in self._ready:  # a data's length only grows: once ready, always ready
            return True
        # by identity: Backtrader's `==` on a data compares prices (so no `self.datas.index`)
        position = next(i for i, d in enumerate(self.datas) if d is data)
        if len(data) < self._minperiods[position]:
            return False
        self._ready.add(id(data))
        return True

    def notify_order(self, order: bt.Order) -> None:
        """Track live orders per symbol. Subclasses that override this must call super()."""
        name = order.data._name
        if order.status in (order.Submitted, order.Accepted) and order.ref not in self._seen:
            self._seen.add(order.ref)
            self._pending[name] = self._pending.get(name, 0) + 1
        elif not order.alive() and order.ref in self._seen:
            self._seen.discard(order.ref)
            self._pending[name] = self._pending.get(name, 1) - 1

    def carry(self) -> dict[str, Any] | None:
        """What a run continued on a later day (`run paper --continue`), or resumed after a
        crash (`--resume`: journaled at the end of each bar it changed on), needs of this one's
        state beyond cash and positions (a plan's open brackets), as JSON-ready values; None:
        nothing (the strategy rebuilds itself from the warm-up bars). Client order ids listed
        under `orders` come back to a resumed run with what the venue filled of them since."""
        return None

    def take_carried(self, state: Mapping[str, Any]) -> None:
        """Continue from `carry()`'s `state` of the run this one continues (called before the
        first bar). Only a strategy whose `carry()` returns something receives one. A resumed
        run's `state` has `resumed: True` (taken at the end of the bar before its first live
        one) and `filled`: client order id -> quantity filled by now, for those in `orders`."""

    def note(self, action: str, order: bt.Order | None = None, **payload: Any) -> None:
        """Record a decision that is no order of its own (an ambiguous exit, a model's outputs
        for a bar it did not trade) in the run's journal (`decisions`), about `order` if given.
        To give an order its reason, pass `decision={"reason": ..., ...}` to `buy`/`sell`."""
        for analyzer in self.analyzers:
            record = getattr(analyzer, "note", None)
            if callable(record):
                record(action, order, payload)

    def has_pending(self, data: bt.AbstractDataBase) -> bool:
        """True while an order on `data` is submitted but not yet filled, cancelled or rejected."""
        return self._pending.get(data._name, 0) > 0

    def quantity_step(self, data: bt.AbstractDataBase) -> float:
        """The smallest quantity this strategy trades on `data`: the instrument's (a whole share;
        1e-9 of a coin), or 1e-9 of a share with `units=fractional` or `notional`."""
        if self.cfg.units != "auto":
            return 10.0**-QTY_DECIMALS
        return instrument_for(data._name or "").quantity_step

    def entry_budget(self, data: bt.AbstractDataBase) -> float:
        """Dollars to spend now on `data` under `percent`/`target` sizing (net of the value
        held, for `target`)."""
        budget = self.broker.getvalue() * self.cfg.size / len(self.datas)
        if self.cfg.sizing == "target":
            budget -= self.getposition(data).size * data.close[0]
        return max(budget, 0.0)

    def entry_size(self, data: bt.AbstractDataBase) -> float:
        """Units to buy now on `data` under the configured sizing (0 when nothing to do): whole
        shares, or fractions down to `quantity_step`."""
        cfg = self.cfg
        if cfg.sizing == "fixed":
            return float(cfg.size) if cfg.units != "auto" else int(cfg.size)
        price = data.close[0]
        if not price > 0:
            return 0
        step = self.quantity_step(data)
        budget = self.broker.getvalue() * cfg.size / len(self.datas)
        units = round_quantity(budget / price, step)
        if cfg.sizing == "target":
            units = round_quantity(units - self.getposition(data).size, step)
        units = max(units, 0)
        return int(units) if step >= 1 else units

    def enter_long(self, data: bt.AbstractDataBase) -> bt.Order | None:
        """Buy per the sizing rule; returns the order or None when the size rounds to zero.
        With `units=notional` the order carries the dollars (`notional=`) and its size is an
        estimate at the decision bar's close: the fill sizes it."""
        if self.cfg.units == "notional":
            dollars = round(self.entry_budget(data), 2)
            price = data.close[0]
            if not (dollars >= 1.0 and price > 0):  # Alpaca's smallest notional order is $1
                return None
            estimate = notional_quantity(dollars, price)
            return self.buy(data=data, size=estimate, notional=dollars)
        size = self.entry_size(data)
        if size <= 0:
            return None
        return self.buy(data=data, size=size)

    def exit_position(self, data: bt.AbstractDataBase) -> bt.Order | None:
        """Close whatever is held on `data`."""
        if not self.getposition(data).size:
            return None
        return self.close(data=data)
