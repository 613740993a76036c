"""parity: one Backtrader strategy, backtested and paper traded, reconciled."""

__version__ = "0.1.0"
