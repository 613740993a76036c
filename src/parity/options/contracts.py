"""An option contract: an `Instrument` (OCC symbol, underlying, expiry, strike, right,
multiplier) plus what the instrument does not say: exercise style and settlement.

Equity options are American and physically settled (shares change hands); index options
(SPX, NIFTY) are European and cash-settled, often with a lot size instead of 100.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from parity.errors import ConfigError
from parity.instruments import Instrument, OptionRight, parse_occ

Style = Literal["american", "european"]
Settlement = Literal["physical", "cash"]
STYLES: tuple[Style, ...] = ("american", "european")
SETTLEMENTS: tuple[Settlement, ...] = ("physical", "cash")


@dataclass(frozen=True, slots=True)
class OptionContract:
    """One listed option. Frozen and hashable: positions are keyed by it."""

    instrument: Instrument
    style: Style = "american"
    settlement: Settlement = "physical"

    def __post_init__(self) -> None:
        if self.instrument.asset_class != "option":
            raise ConfigError(f"{self.instrument.symbol} is not an option contract")
        if self.style not in STYLES:
            raise ConfigError(f"option style {self.style!r} must be one of {', '.join(STYLES)}")
        if self.settlement not in SETTLEMENTS:
            raise ConfigError(
                f"option settlement {self.settlement!r} must be one of {', '.join(SETTLEMENTS)}"
            )

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def underlying(self) -> str:
        return str(self.instrument.underlying)

    @property
    def expiry(self) -> dt.date:
        assert self.instrument.expiry is not None  # an option instrument has one (checked)
        return self.instrument.expiry

    @property
    def strike(self) -> float:
        assert self.instrument.strike is not None
        return self.instrument.strike

    @property
    def right(self) -> OptionRight:
        assert self.instrument.right is not None
        return self.instrument.right

    @property
    def multiplier(self) -> float:
        return self.instrument.multiplier

    def intrinsic(self, spot: float) -> float:
        """Value per unit of the underlying if exercised at `spot`."""
        if self.right == "call":
            return max(spot - self.strike, 0.0)
        return max(self.strike - spot, 0.0)


def occ_symbol(root: str, expiry: dt.date, right: OptionRight, strike: float) -> str:
    """The OCC symbol as Alpaca writes it: root, YYMMDD, C/P, strike x 1000 in eight digits
    (`SPY240119P00470000`)."""
    thousandths = round(strike * 1000)
    if thousandths <= 0 or thousandths >= 10**8:
        raise ConfigError(f"strike {strike} cannot be written in an OCC symbol (0 < strike < 1e5)")
    return f"{root.upper()}{expiry:%y%m%d}{'C' if right == 'call' else 'P'}{thousandths:08d}"


def option_contract(
    underlying: str,
    expiry: dt.date,
    right: OptionRight,
    strike: float,
    *,
    multiplier: float = 100.0,
    style: Style = "american",
    settlement: Settlement = "physical",
    currency: str = "USD",
    tick_size: float = 0.01,
) -> OptionContract:
    """A contract from its terms; the OCC root is the underlying with any exchange suffix
    dropped (`RELIANCE.NS` -> `RELIANCE`)."""
    root = underlying.upper().split(".")[0].replace("^", "")[:6]
    symbol = occ_symbol(root, expiry, right, strike)
    instrument = Instrument(
        symbol=symbol,
        asset_class="option",
        currency=currency,
        exchange="OPRA",
        multiplier=multiplier,
        tick_size=tick_size,
        underlying=underlying.upper(),
        expiry=expiry,
        strike=round(strike, 3),
        right=right,
    )
    return OptionContract(instrument, style, settlement)


def contract_from_occ(
    symbol: str,
    *,
    multiplier: float = 100.0,
    style: Style = "american",
    settlement: Settlement = "physical",
) -> OptionContract:
    """The contract an OCC symbol names, with the terms the symbol does not carry."""
    parsed = parse_occ(symbol)
    if parsed is None:
        raise ConfigError(
            f"{symbol!r} is not an OCC option symbol; write ROOT+YYMMDD+C/P+strike x 1000 in "
            "eight digits, e.g. SPY240119P00470000"
        )
    return option_contract(
        str(parsed.underlying),
        parsed.expiry or dt.date.min,
        parsed.right or "call",
        float(parsed.strike or 0.0),
        multiplier=multiplier,
        style=style,
        settlement=settlement,
    )
