"""Defaults shared by every run and command, in one place (the CLI imports this module at start-up,
so it imports nothing)."""

from __future__ import annotations

# starting cash of a backtest, a training run, the local venue's account and a paper run whose
# venue reports no cash
DEFAULT_CASH = 100_000.0
DEFAULT_COMMISSION = "0"  # Alpaca charges no commission on US equities
# A conservative half-spread for liquid large caps, the same in backtests AND paper runs: a user
# who holds a strategy to account expects simulated fills to cost something, and a paper run on
# the local or simulated venue must fill like its backtest twin by default (Alpaca's own fills
# are the venue's and ignore it).
DEFAULT_SLIPPAGE = "5bps"
