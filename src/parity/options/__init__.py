"""Options in backtests: contracts as instruments, chain sources (a model chain priced from the
underlying's bars, or recorded quotes), combo orders, fills and costs, expiry and assignment,
buying power, and the desk a strategy trades them through (`OptionsDesk`).

Backtrader's datas are fixed before a run starts, so contracts are not datas: the simulated
broker carries an `OptionsDesk` (`broker.options`) that prices what the strategy asks for at each
bar, fills its orders against those quotes and settles expiries at the session close. A strategy
reaches it through `parity.options.strategy.OptionsStrategy.options`, the seam a paper desk on
Alpaca fills in part 2.
"""

from parity.options.contracts import OptionContract, occ_symbol, option_contract

__all__ = ["OptionContract", "occ_symbol", "option_contract"]
