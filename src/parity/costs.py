"""The cost model: commission and slippage, priced into fills by `parity.engine.fills.FillModel`
(the simulated broker, the local venue and the training environment).

Text forms accepted on the command line and in run files:

- commission: `0`, `0.005/share`, `0.1%`, `10bps`, `min=1` for a minimum per order, `max=20` for
  a cap per order, and `sell=0.1%` (or `sell=10bps`) for a percentage charged on sells only (a
  transaction tax such as India's STT, never capped), combined with commas: `0.005/share,min=1`,
  or an Indian discount broker's `0.03%,max=20,sell=0.1%`. A crypto venue's maker/taker
  schedule names both rates, `taker=0.25%,maker=0.15%`: limit orders pay the maker rate, every
  other order the taker rate (a plain `0.25%` is both).
- slippage: `0`, `0.05%` or `5bps` (a fraction of price), or `0.01/share` (a fixed amount per
  share), always against the trader.

A number without a unit other than `0` is an error in both (`--slippage 5` could mean 5 bps or
$5 a share: the two differ by a factor of ten thousand on a $200 stock).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from parity.errors import ConfigError

_NUMBER = r"([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)"


@dataclass(frozen=True, kw_only=True)
class CostModel:
    """Commission and slippage. Fractions, not percents: 0.001 = 0.1 % = 10 bps."""

    commission_per_share: float = 0.0
    commission_pct: float = 0.0  # the taker's rate: every order but a limit order
    commission_min: float = 0.0
    commission_max: float = 0.0  # a cap per order on the commission above (0: none)
    commission_sell_pct: float = 0.0  # charged on the notional of sells only (a tax)
    slippage_pct: float = 0.0
    slippage_fixed: float = 0.0
    # what a limit order pays (the maker's rate); None: `commission_pct`, as any order
    commission_maker_pct: float | None = None

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ConfigError(f"cost {name}={value} must be a non-negative number")
        if self.slippage_pct and self.slippage_fixed:
            raise ConfigError("slippage is either a percentage or a fixed amount, not both")
        if self.commission_max and self.commission_max < self.commission_min:
            raise ConfigError(
                f"commission max={self.commission_max:g} is below min={self.commission_min:g}; "
                "raise max or lower min"
            )

    @property
    def frictionless(self) -> bool:
        return not any(vars(self).values())

    @property
    def maker_pct(self) -> float:
        """The percentage a limit order pays (the taker's when no maker rate is set)."""
        maker = self.commission_maker_pct
        return self.commission_pct if maker is None else maker

    def commission(
        self,
        qty: float,
        price: float,
        *,
        prior_qty: float = 0.0,
        prior_notional: float = 0.0,
        multiplier: float = 1.0,
        maker: bool = False,
        sell: bool = False,
    ) -> float:
        """Commission for one fill of `qty` units at `price` of an order that had already filled
        `prior_qty` units for `prior_notional` (price x quantity, before the multiplier): what
        the order owes after the fill minus what it owed before, so the minimum is charged once
        per order, not once per partial fill. With no prior fill it is the whole order's
        commission. The per-share rate is per unit (a contract for an option), the percentage
        is of the cash notional: `multiplier` is the instrument's (`Instrument.multiplier`, 100
        for a US equity option, 1 for a share). `maker`: a limit order's fill, which pays
        `maker_pct` instead of `commission_pct`. The cap (`max=`) is per order like the minimum;
        a `sell` fill also pays `commission_sell_pct` of its own notional (uncapped)."""
        if not qty:
            return 0.0
        rate = self.maker_pct if maker else self.commission_pct
        before_qty, before_notional = abs(prior_qty), abs(prior_notional)
        notional = (before_notional + abs(qty) * price) * multiplier
        after = self._owed(before_qty + abs(qty), notional, rate)
        fee = after - self._owed(before_qty, before_notional * multiplier, rate)
        if sell:
            fee += abs(qty) * price * multiplier * self.commission_sell_pct
        return fee

    def _owed(self, qty: float, notional: float, rate: float) -> float:
        if not qty:
            return 0.0
        fee = max(qty * self.commission_per_share + notional * rate, self.commission_min)
        return min(fee, self.commission_max) if self.commission_max else fee

    def describe(self) -> dict[str, float]:
        """The fields as the manifest keeps them (`commission_maker_pct` only when set, so runs
        without a maker rate record what they always did)."""
        return {name: value for name, value in vars(self).items() if value is not None}


def _amount(term: str, what: str, example: str) -> float:
    try:
        return float(term)
    except ValueError:
        raise ConfigError(f"{what} term {term!r} is not understood; e.g. {example}") from None


def _rate(term: str, example: str) -> float:
    """`0.15%` or `15bps` as a fraction."""
    if term.endswith("%"):
        return _amount(term[:-1], "commission", example) / 100.0
    if term.endswith("bps"):
        return _amount(term[:-3], "commission", example) / 10_000.0
    raise ConfigError(f"commission rate {term!r} needs a unit; e.g. --commission {example}")


def parse_commission(text: str) -> dict[str, float]:
    """`'0.005/share,min=1'` → `{'commission_per_share': 0.005, 'commission_min': 1.0, ...}`;
    `'0.03%,max=20,sell=0.1%'` → a 0.03 % commission capped at 20 per order, plus 0.1 % of
    every sell's notional; `'taker=0.25%,maker=0.15%'` → 0.25 %, and 0.15 % on limit orders."""
    example = (
        "--commission 0.005/share,min=1, --commission 0.03%,max=20,sell=0.1% or --commission 0"
    )
    out = {
        "commission_per_share": 0.0,
        "commission_pct": 0.0,
        "commission_min": 0.0,
        "commission_max": 0.0,
        "commission_sell_pct": 0.0,
    }
    for raw in str(text).split(","):
        term = raw.strip().lower().replace(" ", "")
        if not term:
            continue
        if term.startswith(("maker=", "taker=")):
            field = "commission_maker_pct" if term.startswith("maker=") else "commission_pct"
            out[field] = _rate(term[6:], "taker=0.25%,maker=0.15%")
        elif term.startswith("min="):
            out["commission_min"] = _amount(term[4:].lstrip("$₹"), "commission", example)
        elif term.startswith("max="):
            out["commission_max"] = _amount(term[4:].lstrip("$₹"), "commission", example)
            if not out["commission_max"] > 0:
                raise ConfigError(
                    f"commission cap {raw.strip()!r} must be a positive amount per order, "
                    "e.g. max=20"
                )
        elif term.startswith("sell="):
            out["commission_sell_pct"] = _sell_rate(term[5:], text)
        elif term.endswith("/share"):
            out["commission_per_share"] = _amount(term[:-6].lstrip("$"), "commission", example)
        elif term.endswith("%"):
            out["commission_pct"] = _amount(term[:-1], "commission", example) / 100.0
        elif term.endswith("bps"):
            out["commission_pct"] = _amount(term[:-3], "commission", example) / 10_000.0
        elif re.fullmatch(_NUMBER, term) and float(term) == 0:
            continue
        elif re.fullmatch(_NUMBER, term):
            raise ConfigError(
                f"commission {text!r} has no unit; use 0, 0.005/share, 0.1% or 10bps "
                f"(add ,min=1 for a minimum per order)"
            )
        else:
            raise ConfigError(f"commission {text!r} is not understood; use {example}")
    return out


def _sell_rate(term: str, text: str) -> float:
    """`0.1%` or `10bps` of a sell's notional, as a fraction."""
    example = "sell=0.1% or sell=10bps"
    if term.endswith("%"):
        return _amount(term[:-1], "commission sell", example) / 100.0
    if term.endswith("bps"):
        return _amount(term[:-3], "commission sell", example) / 10_000.0
    raise ConfigError(
        f"commission {text!r}: the sell-only charge needs a percentage, e.g. {example}"
    )


def parse_slippage(text: str) -> dict[str, float]:
    """`'5bps'` → `{'slippage_pct': 0.0005}`; `'0.01'` → `{'slippage_fixed': 0.01}`."""
    example = "--slippage 5bps, --slippage 0.05% or --slippage 0.01/share"
    term = str(text).strip().lower().replace(" ", "")
    out = {"slippage_pct": 0.0, "slippage_fixed": 0.0}
    if term.endswith("%"):
        out["slippage_pct"] = _amount(term[:-1], "slippage", example) / 100.0
    elif term.endswith("bps"):
        out["slippage_pct"] = _amount(term[:-3], "slippage", example) / 10_000.0
    elif term.endswith("/share"):
        out["slippage_fixed"] = _amount(term[:-6].lstrip("$"), "slippage", example)
    elif _amount(term.lstrip("$"), "slippage", example) != 0:
        raise ConfigError(
            f"slippage {text!r} has no unit; use 0, 5bps, 0.05% or 0.01/share "
            f"(e.g. --slippage {term}bps or --slippage {term}/share)"
        )
    return out


def cost_model(commission: str, slippage: str) -> CostModel:
    """Build a `CostModel` from the two command-line texts."""
    return CostModel(**parse_commission(commission), **parse_slippage(slippage))
