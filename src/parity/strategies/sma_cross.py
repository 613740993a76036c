"""`sma_cross`: long when the fast SMA crosses above the slow one, flat when it crosses below."""

from __future__ import annotations

from dataclasses import dataclass

import backtrader as bt

from parity.strategies.base import ParityStrategy, SizingParams
from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class SmaCrossParams(SizingParams):
    fast: int = 10
    slow: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fast < 1 or self.slow < 2:
            raise ValueError(f"fast and slow must be positive periods, got {self.fast}/{self.slow}")
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")


class SmaCross(ParityStrategy):
    """Simple moving-average crossover, long only, one position per symbol."""

    Params = SmaCrossParams
    per_symbol_warmup = True
    params = bt_params(SmaCrossParams)

    def __init__(self) -> None:
        super().__init__()
        self.cross = {
            data: bt.ind.CrossOver(
                bt.ind.SMA(data.close, period=self.cfg.fast),
                bt.ind.SMA(data.close, period=self.cfg.slow),
            )
            for data in self.datas
        }

    def next(self) -> None:
        for data, cross in self.cross.items():
            if not self.ready(data):
                continue
            position = self.getposition(data).size
            if cross[0] > 0 and not position and not self.has_pending(data):
                self.enter_long(data)
            elif cross[0] < 0 and position and not self.has_pending(data):
                self.exit_position(data)
