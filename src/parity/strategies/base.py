"""`ParityStrategy`: the base of the bundled strategies — validated params and position sizing.

Sizing (the same three modes for every bundled strategy):
- `fixed`: buy `size` shares per entry;
- `percent`: spend `size` * equity / number of symbols per entry (0.95 keeps cash for costs);
- `target`: bring the position to `size` * equity / number of symbols (net of what is held).

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
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import backtrader as bt

from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class SizingParams:
    """Position sizing shared by the bundled strategies."""

    sizing: Literal["fixed", "percent", "target"] = "percent"
    size: float = 0.95

    def __post_init__(self) -> None:
        if not math.isfinite(self.size) or self.size <= 0:
            raise ValueError(f"size must be positive, got {self.size}")
        if self.sizing == "fixed" and self.size != int(self.size):
            raise ValueError(f"size must be a whole number of shares for sizing=fixed: {self.size}")
        if self.sizing in ("percent", "target") and self.size > 1.0:
            raise ValueError(
                f"size is a fraction of equity for sizing={self.sizing}; use at most 1.0, "
                f"got {self.size}"
            )


class ParityStrategy(bt.Strategy):
    """Base class: `self.cfg` holds the validated params; `enter_long` / `exit_position` trade."""

    Params: ClassVar[type] = SizingParams
    params = bt_params(SizingParams)

    def __init__(self) -> None:
        names = [f.name for f in dataclasses.fields(self.Params)]
        self.cfg: Any = self.Params(**{name: getattr(self.p, name) for name in names})
        self._seen: set[int] = set()
        self._pending: dict[
            str, int
        ] = {}  # data name -> live orders, so a slow fill is not doubled

    # True: next() also runs while some data is still warming up and checks ready(data)
    per_symbol_warmup: ClassVar[bool] = False

    def prenext(self) -> None:
        """Some data is not warmed up yet: with `per_symbol_warmup`, decide for the others."""
        if self.per_symbol_warmup:
            self.next()

    def ready(self, data: bt.AbstractDataBase) -> bool:
        """True once `data` has bars and its indicators have warmed up (Backtrader's minimum
        period of that data: its longest indicator)."""
        # by identity: Backtrader's `==` on a data compares prices (so no `self.datas.index`)
        position = next(i for i, d in enumerate(self.datas) if d is data)
        return len(data) >= self._minperiods[position]

    def notify_order(self, order: bt.Order) -> None:
        """Track live orders per symbol. Subclasses that override this must call super()."""
        name = order.data._name
        if order.status in (order.Submitted, order.Accepted) and order.ref not in self._seen:
            self._seen.add(order.ref)
            self._pending[name] = self._pending.get(name, 0) + 1
        elif not order.alive() and order.ref in self._seen:
            self._seen.discard(order.ref)
            self._pending[name] = self._pending.get(name, 1) - 1

    def has_pending(self, data: bt.AbstractDataBase) -> bool:
        """True while an order on `data` is submitted but not yet filled, cancelled or rejected."""
        return self._pending.get(data._name, 0) > 0

    def entry_size(self, data: bt.AbstractDataBase) -> int:
        """Shares to buy now on `data` under the configured sizing (0 when nothing to do)."""
        cfg = self.cfg
        if cfg.sizing == "fixed":
            return int(cfg.size)
        price = data.close[0]
        if not price > 0:
            return 0
        budget = self.broker.getvalue() * cfg.size / len(self.datas)
        shares = math.floor(budget / price)
        if cfg.sizing == "target":
            shares -= int(self.getposition(data).size)
        return max(shares, 0)

    def enter_long(self, data: bt.AbstractDataBase) -> bt.Order | None:
        """Buy per the sizing rule; returns the order or None when the size rounds to zero."""
        size = self.entry_size(data)
        if size <= 0:
            return None
        return self.buy(data=data, size=size)

    def exit_position(self, data: bt.AbstractDataBase) -> bt.Order | None:
        """Close whatever is held on `data`."""
        if not self.getposition(data).size:
            return None
        return self.close(data=data)
