"""`VenueConfig` and `FaultPlan`: the frozen configuration of one venue run."""

from __future__ import annotations

from dataclasses import dataclass, field

from parity.costs import CostModel
from parity.defaults import DEFAULT_CASH
from parity.engine.ambiguity import FinerBars, Rule, check_rule
from parity.errors import ConfigError
from parity.feeds.loader import LoadedData
from parity.options.costs import OptionCosts

REST_FAULT_STATUSES = (429, 500, 502, 503, 504)


ALPACA_OPTION_FILLS = OptionCosts(commission_per_contract=0.0, slippage=0.0)


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

    def __post_init__(self) -> None:
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
