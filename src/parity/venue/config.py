"""`VenueConfig` and `FaultPlan`: the frozen configuration of one venue run."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from parity.costs import CostModel
from parity.defaults import DEFAULT_CASH
from parity.engine.ambiguity import FinerBars, Rule, check_rule
from parity.errors import ConfigError
from parity.feeds.loader import LoadedData
from parity.options.costs import OptionCosts, per_contract, premium_fraction
from parity.options.model import ModelChainParams

REST_FAULT_STATUSES = (429, 500, 502, 503, 504)
# how the local venue reports an option's regulatory fees: a FEE row per fill naming its order,
# or Alpaca's: after each session's close, a row per fee type, rounded up to the cent
FEE_REPORTS = ("per_fill", "daily")


ALPACA_OPTION_FILLS = OptionCosts(commission_per_contract=0.0, slippage=0.0)


@dataclass(frozen=True, kw_only=True)
class VenueOptionTerms:
    """The local venue's own option quotes and fills: a rehearsal's reality, which may differ
    from the backtest's assumptions (`parity venue serve --option-spread 0.05 ...`, `run paper
    --venue-option-spread 0.05 ...`). A field left None keeps the venue's default: the part-1
    model chain's quotes, and Alpaca paper's fills (at the ask or bid, no slippage, the
    commission of the venue's cost model per contract)."""

    half_spread: float | None = None  # of the mid: bid/ask = mid -/+ half_spread x mid
    tick: float | None = None
    slippage: float | None = None  # of the premium, against the trader
    commission_per_contract: float | None = None
    regulatory_fees: bool | None = None
    fee_report: str | None = None  # FEE_REPORTS; None: per_fill

    def __post_init__(self) -> None:
        check_fee_report(self.fee_report, "--option-fee-report")
        self.chain()  # one-line errors for a bad spread or tick
        self.costs()

    @classmethod
    def parse(
        cls,
        *,
        spread: str | None = None,
        tick: str | None = None,
        slippage: str | None = None,
        commission: str | None = None,
        regulatory_fees: bool | None = None,
        fee_report: str | None = None,
        flag: str = "--option",
    ) -> VenueOptionTerms:
        """The terms from their text forms (`0.05` or `5%`, `0.01`, `0.5%`, `0.65/contract`)."""
        return cls(
            half_spread=None
            if spread is None
            else _fraction(spread, f"{flag}-spread", "0.05 or 5%"),
            tick=None if tick is None else _fraction(tick, f"{flag}-tick", "0.01", percent=False),
            slippage=None
            if slippage is None
            else _named(
                premium_fraction, slippage, f"{flag}-slippage", "0.5% or 50bps (of premium)"
            ),
            commission_per_contract=(
                None
                if commission is None
                else _named(per_contract, commission, f"{flag}-commission", "0.65/contract")
            ),
            regulatory_fees=regulatory_fees,
            fee_report=check_fee_report(fee_report, f"{flag}-fee-report"),
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> VenueOptionTerms:
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(
                f"venue option terms: unknown {', '.join(unknown)}; valid: "
                + ", ".join(f.name for f in fields(cls))
            )
        return cls(**values)

    def chain(self) -> ModelChainParams | None:
        """The venue's model chain, None for the part-1 defaults (no quote field given)."""
        if self.half_spread is None and self.tick is None:
            return None
        base = ModelChainParams()
        return replace(
            base,
            half_spread=base.half_spread if self.half_spread is None else self.half_spread,
            tick=base.tick if self.tick is None else self.tick,
        )

    def costs(self) -> OptionCosts | None:
        """The venue's option fills, None for Alpaca paper's (no cost field given)."""
        given = (self.slippage, self.commission_per_contract, self.regulatory_fees)
        if all(v is None for v in given):
            return None
        return OptionCosts(
            commission_per_contract=self.commission_per_contract or 0.0,
            slippage=self.slippage or 0.0,
            regulatory_fees=bool(self.regulatory_fees),
        )

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def check_fee_report(value: str | None, flag: str) -> str | None:
    """`value` if it is one of `FEE_REPORTS` (or None), else a one-line error naming `flag`."""
    if value is not None and value not in FEE_REPORTS:
        raise ConfigError(
            f"{flag} {value!r} is not a fee report; use {' or '.join(FEE_REPORTS)}, "
            f"e.g. {flag} daily"
        )
    return value


def _named(parse: Callable[[str], float], text: str, flag: str, example: str) -> float:
    """`parse(text)`; its error names `flag` (the parsers' own name the backtest's flags)."""
    try:
        return parse(text)
    except ConfigError:
        raise ConfigError(f"{flag} {text!r} is not understood; e.g. {flag} {example}") from None


def _fraction(text: str, flag: str, example: str, *, percent: bool = True) -> float:
    raw = str(text).strip()
    scale = 0.01 if percent and raw.endswith("%") else 1.0
    try:
        value = float(raw.rstrip("%") if percent else raw) * scale
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a number; e.g. {flag} {example}") from None
    if not math.isfinite(value) or value < 0 or (not percent and value == 0):
        raise ConfigError(
            f"{flag} {text!r} must be a {'non-negative' if percent else 'positive'} number; "
            f"e.g. {flag} {example}"
        )
    if percent and value >= 1:
        raise ConfigError(f"{flag} {text!r} is a fraction of the mid (< 1); e.g. {flag} {example}")
    return value


@dataclass(frozen=True, kw_only=True)
class FaultPlan:
    """Faults the venue injects. All entries are consumed once.

    - `rest_errors`: `(http_status, count)` pairs: the next `count` REST requests (not
      `/parity/*`) answer `http_status` with a JSON error body; pairs are consumed in order.
    - `lost_responses`: `(http_status, count)` pairs queued with `rest_errors`: the next `count`
      REST requests are carried out, then answered `http_status` (an order the venue took
      whose answer never arrived).
    - `drop_bars`: ISO bar-start times (naive exchange time, `2013-10-07T10:15:00`) whose bars
      are never sent on the data stream (they stay in the REST history).
    - `disconnect_data_after` / `disconnect_trading_after`: close every data (trading) stream
      connection right after publishing the Nth replay step (1-based).
    - `reject_orders`: client order ids the venue rejects (HTTP 200, status `rejected`, and a
      `rejected` trade update).
    """

    rest_errors: tuple[tuple[int, int], ...] = ()
    lost_responses: tuple[tuple[int, int], ...] = ()
    drop_bars: tuple[str, ...] = ()
    disconnect_data_after: tuple[int, ...] = ()
    disconnect_trading_after: tuple[int, ...] = ()
    reject_orders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for status, count in (*self.rest_errors, *self.lost_responses):
            if status not in REST_FAULT_STATUSES or count < 0:
                raise ConfigError(
                    f"rest fault ({status}, {count}) is invalid; use a status in "
                    f"{REST_FAULT_STATUSES} and a count >= 0"
                )
        for step in (*self.disconnect_data_after, *self.disconnect_trading_after):
            if step < 1:
                raise ConfigError(f"disconnect step {step} must be >= 1 (steps are 1-based)")


@dataclass(frozen=True, kw_only=True)
class VenueConfig:
    """Everything one venue run needs: the bars to replay, the pace, costs, account and faults.

    `speed=None` is lock-step ("max"): the venue publishes a step, then waits for the client's
    `POST /parity/v1/ack` (or `ack_timeout` seconds) before the next. A number replays at that many
    times real time. `latency_ms` delays when a submitted order first becomes fillable (simulated
    time); `volume_share` caps each fill at that fraction of the bar's volume.
    """

    data: LoadedData
    speed: float | None = None
    costs: CostModel = field(default_factory=CostModel)
    latency_ms: int = 0
    volume_share: float = 1.0
    cash: float = DEFAULT_CASH
    start: str | None = None
    keys: tuple[str, str] | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    ack_timeout: float = 10.0
    # a bar reaching both exits of a bracket or `oco` pair: which fills (`engine.ambiguity`)
    ambiguous: Rule | None = None  # None: the exit placed first (a bracket's stop-loss)
    finer: FinerBars | None = None  # the finer bars `finer-data` reads
    # option fills: the quote's side moved by the slippage, commission and fees per contract;
    # None: Alpaca paper's prices (at the ask or bid) and `costs`' commission per contract
    option_costs: OptionCosts | None = None
    # the venue's own model chain (its half spread, tick): None, the part-1 defaults
    option_chain: ModelChainParams | None = None
    # an option's regulatory fees as FEE rows: `per_fill` (each fill's, naming its order) or
    # `daily` (Alpaca's: a row per fee type after each close, rounded up, naming no order)
    option_fee_report: str = "per_fill"

    def __post_init__(self) -> None:
        check_fee_report(self.option_fee_report, "option_fee_report")
        if not self.data.series:
            raise ConfigError("the venue needs bars of at least one symbol")
        if self.speed is not None and not self.speed > 0:
            raise ConfigError(f"speed {self.speed} must be > 0 (or None for lock-step 'max')")
        if self.latency_ms < 0:
            raise ConfigError(f"latency_ms {self.latency_ms} must be >= 0")
        if not 0 < self.volume_share <= 1:
            raise ConfigError(f"volume_share {self.volume_share} must be in (0, 1]")
        if not self.cash > 0:
            raise ConfigError(f"cash {self.cash} must be > 0")
        check_rule(self.ambiguous)
        if self.ack_timeout <= 0:
            raise ConfigError(f"ack_timeout {self.ack_timeout} must be > 0")
