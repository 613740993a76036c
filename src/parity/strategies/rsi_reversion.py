"""`rsi_reversion`: buy when RSI falls below `lower`, sell when it rises above `upper`."""

from __future__ import annotations

from dataclasses import dataclass

import backtrader as bt

from parity.strategies.base import ParityStrategy, SizingParams
from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class RsiReversionParams(SizingParams):
    period: int = 14
    lower: float = 30.0
    upper: float = 70.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.period < 2:
            raise ValueError(f"period must be at least 2, got {self.period}")
        if not 0 < self.lower < self.upper < 100:
            raise ValueError(
                f"need 0 < lower < upper < 100, got lower={self.lower} upper={self.upper}"
            )


class RsiReversion(ParityStrategy):
    """Mean reversion on Wilder's RSI, long only."""

    Params = RsiReversionParams
    per_symbol_warmup = True
    params = bt_params(RsiReversionParams)

    def __init__(self) -> None:
        super().__init__()
        self.rsi = {
            data: bt.ind.RSI(data.close, period=self.cfg.period, safediv=True)
            for data in self.datas
        }

    def next(self) -> None:
        for data, rsi in self.rsi.items():
            if not self.ready(data):
                continue
            position = self.getposition(data).size
            if rsi[0] < self.cfg.lower and not position and not self.has_pending(data):
                self.enter_long(data)
            elif rsi[0] > self.cfg.upper and position and not self.has_pending(data):
                self.exit_position(data)
