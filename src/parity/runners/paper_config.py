"""`PaperConfig`: one paper run's configuration, and its JSON form (journaled in the manifest so
that `--resume` rebuilds it; alert sink URLs excepted: they carry secrets)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from parity.alerts.config import AlertConfig
from parity.config import RunConfig
from parity.errors import ConfigError
from parity.timeframe import MINUTE, Timeframe
from parity.venues.registry import DEFAULT_VENUE, venue_named

EXISTING = ("refuse", "adopt", "flatten")


@dataclass(frozen=True, kw_only=True)
class PaperConfig(RunConfig):
    """A paper run. Costs, latency and volume share set the local venue's fill model (and the
    simulated broker's for `--venue sim` and `--dry-run`)."""

    timeframe: Timeframe = MINUTE
    data: str = "sample:minute"
    cash: float | None = None  # default: the account's cash (the venue's default account's)
    venue: str = DEFAULT_VENUE  # a name in `venues.registry`
    speed: float | None = None
    until: dt.datetime | None = None
    latency_ms: int = 0
    volume_share: float = 1.0
    backfill: int = 0
    poll_seconds: float = 30.0
    existing: Literal["refuse", "adopt", "flatten"] = "refuse"
    flatten_on_exit: bool = False
    dry_run: bool = False
    faults: Any = None  # a venue FaultPlan (local venue only): injected errors for rehearsals
    run_id: str | None = None  # default: a new id (client order ids are `RUN_ID-000001`, ...)
    replay_start: str | None = None  # local venue: first streamed bar (ISO); earlier = history
    # compare with the backtest twin on the tape at each session end (re-runs the strategy
    # in-process, so it is opt-in: a strategy with side effects would repeat them)
    divergence_check: bool = False
    # thresholds and sink URLs (URLs are never journaled: `describe()` redacts them)
    alerts: AlertConfig = field(
        default_factory=AlertConfig, metadata={"decode": AlertConfig.from_record}
    )
    # write RUN_DIR/reports/daily-DATE.{txt,json,html} at each session close (journaled)
    daily_reports: bool = True
    # the options desk's assumptions, `run backtest`'s `options` overrides (`model`, `costs`,
    # ...): what `compare`'s model twin assumes; None: the strategy's defaults
    options: dict[str, Any] | None = None
    # the local venue's own option quotes and fills (`venue.config.VenueOptionTerms` fields)
    venue_options: dict[str, Any] | None = None

    # where it is written, how it meets an account that already holds positions and its id
    # are the resume's to decide; faults are an injected test object
    _NOT_RECORDED: ClassVar[frozenset[str]] = frozenset(
        {"runs_dir", "existing", "run_id", "faults"}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.timeframe, Timeframe):
            raise ConfigError(f"timeframe {self.timeframe!r} must be e.g. 1Min, 5Min or 1Day")
        venue_named(self.venue)  # an unknown name is a one-line error naming the choices
        if self.existing not in EXISTING:
            raise ConfigError(f"existing {self.existing!r} must be one of {', '.join(EXISTING)}")
        if self.speed is not None and not (math.isfinite(self.speed) and self.speed > 0):
            raise ConfigError(f"speed {self.speed} must be max or a positive number, e.g. 60")
        if not isinstance(self.latency_ms, int) or self.latency_ms < 0:
            raise ConfigError(f"latency {self.latency_ms} must be whole milliseconds >= 0")
        if not 0 < self.volume_share <= 1:
            raise ConfigError(f"volume share {self.volume_share} must be in (0, 1], e.g. 0.1")
        if not isinstance(self.backfill, int) or self.backfill < 0:
            raise ConfigError(f"backfill {self.backfill} must be a number of bars >= 0")
        if not (math.isfinite(self.poll_seconds) and self.poll_seconds > 0):
            raise ConfigError(f"poll seconds {self.poll_seconds} must be positive, e.g. 30")
        if self.venue_options is not None:
            from parity.venue.config import VenueOptionTerms

            VenueOptionTerms.from_mapping(self.venue_options)  # one-line errors, up front

    def data_source_label(self) -> str:
        """Where the run's bars come from, as its venue records it."""
        return venue_named(self.venue).data_source(self)


# run-file fields (`parity.config.read_run_file`) that only a backtest has: a paper run always
# fills at the next bar's open on the venue's own prices, long or short as the venue allows
BACKTEST_ONLY = {
    "fill_at": "fill",
    "allow_short": "allow_short",
    "adjustment": "adjustment",
    "preload": "preload",
}


def paper_file_values(
    file_values: dict[str, Any], warn: Any = lambda _text: None
) -> dict[str, Any]:
    """The run file's values a paper run takes (one file serves `run backtest` and `run paper`);
    `warn(text)` names the backtest-only keys it leaves out."""
    ignored = sorted(BACKTEST_ONLY[k] for k in file_values if k in BACKTEST_ONLY)
    if ignored:
        warn(f"warning: run file keys {', '.join(ignored)} apply to backtests; the paper run "
             "ignores them")  # fmt: skip
    return {k: v for k, v in file_values.items() if k not in BACKTEST_ONLY and k != "risk"}
