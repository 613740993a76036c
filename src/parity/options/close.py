"""`OptionsClose`: the options desk's end of bar inside a Backtrader run."""

from __future__ import annotations

import backtrader as bt


class OptionsClose(bt.Analyzer):
    """Runs the desk's end of bar (fills at the close, expiry, marks) after the strategy and
    before the recorder reads the bar's equity. Added before the recorder."""

    def next(self) -> None:
        broker = self.strategy.broker
        desk = getattr(broker, "options", None)
        if desk is not None:
            desk.close_bar()
            broker.refresh_value()
