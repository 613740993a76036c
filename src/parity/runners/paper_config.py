"""`PaperConfig`: one paper run's configuration, and its JSON form (journaled in the manifest so
that `--resume` rebuilds it; alert sink URLs excepted: they carry secrets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from parity.alerts.config import AlertConfig
from parity.costs import CostModel, cost_model
from parity.risk.limits import RiskLimits
from parity.timeframe import MINUTE, Timeframe, parse_timeframe
from parity.venues.registry import DEFAULT_VENUE, venue_named


@dataclass(frozen=True, kw_only=True)
class PaperConfig:
    """A paper run. Costs, latency and volume share set the local venue's fill model (and the
    simulated broker's for `--venue sim` and `--dry-run`)."""

    strategy: str = "sma_cross"
    params: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    timeframe: Timeframe = MINUTE
    venue: str = DEFAULT_VENUE  # a name in `venues.registry`
    data: str = "sample:minute"
    start: dt.date | None = None
    end: dt.date | None = None
    speed: float | None = None
    until: dt.datetime | None = None
    cash: float | None = None
    commission: str = "0"
    slippage: str = "0"
    latency_ms: int = 0
    volume_share: float = 1.0
    backfill: int = 0
    poll_seconds: float = 30.0
    existing: Literal["refuse", "adopt", "flatten"] = "refuse"
    flatten_on_exit: bool = False
    dry_run: bool = False
    runs_dir: Path = Path("runs")
    faults: Any = None  # a venue FaultPlan (local venue only): injected errors for rehearsals
    risk: RiskLimits | None = None  # risk limits; a paper run always has a kill switch
    run_id: str | None = None  # default: a new id (client order ids are `RUN_ID-000001`, ...)
    replay_start: str | None = None  # local venue: first streamed bar (ISO); earlier = history
    # compare with the backtest twin on the tape at each session end (re-runs the strategy
    # in-process, so it is opt-in: a strategy with side effects would repeat them)
    divergence_check: bool = False
    alerts: AlertConfig = field(default_factory=AlertConfig)  # thresholds and sink URLs
    # write RUN_DIR/reports/daily-DATE.{txt,json,html} at each session close (journaled)
    daily_reports: bool = True

    @property
    def costs(self) -> CostModel:
        return cost_model(self.commission, self.slippage)

    def as_dict(self) -> dict[str, Any]:
        """The run's configuration as JSON-ready values (journaled, so a resume rebuilds it)."""
        return {
            "strategy": self.strategy, "params": dict(self.params),
            "symbols": list(self.symbols), "timeframe": self.timeframe.name,
            "venue": self.venue, "data": self.data,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "speed": self.speed, "until": self.until.isoformat() if self.until else None,
            "cash": self.cash, "commission": self.commission, "slippage": self.slippage,
            "latency_ms": self.latency_ms, "volume_share": self.volume_share,
            "backfill": self.backfill, "poll_seconds": self.poll_seconds,
            "flatten_on_exit": self.flatten_on_exit, "dry_run": self.dry_run,
            "divergence_check": self.divergence_check,
            "daily_reports": self.daily_reports,
            "replay_start": self.replay_start,
            "risk": self.risk.describe() if self.risk else None,
            "alerts": self.alerts.describe(),  # redacted: no sink URL is ever journaled
        }  # fmt: skip

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], **overrides: Any) -> PaperConfig:
        """Rebuild a configuration recorded by `as_dict`."""
        v = dict(values)
        fields_: dict[str, Any] = {
            "strategy": v["strategy"], "params": v.get("params") or {},
            "symbols": tuple(v["symbols"]), "timeframe": parse_timeframe(v["timeframe"]),
            "venue": v["venue"], "data": v.get("data", "sample:minute"),
            "start": dt.date.fromisoformat(v["start"]) if v.get("start") else None,
            "end": dt.date.fromisoformat(v["end"]) if v.get("end") else None,
            "speed": v.get("speed"),
            "until": dt.datetime.fromisoformat(v["until"]) if v.get("until") else None,
            "cash": v.get("cash"), "commission": v.get("commission", "0"),
            "slippage": v.get("slippage", "0"), "latency_ms": v.get("latency_ms", 0),
            "volume_share": v.get("volume_share", 1.0), "backfill": v.get("backfill", 0),
            "poll_seconds": v.get("poll_seconds", 30.0),
            "flatten_on_exit": v.get("flatten_on_exit", False),
            "dry_run": v.get("dry_run", False),
            "divergence_check": v.get("divergence_check", False),
            "daily_reports": v.get("daily_reports", True),
            "replay_start": v.get("replay_start"),
            "risk": RiskLimits.from_mapping(v.get("risk") or {}, source="the journal"),
            "alerts": AlertConfig.from_record(v.get("alerts")),  # URLs: from env/flags again
        }  # fmt: skip
        return cls(**{**fields_, **overrides})

    def data_source_label(self) -> str:
        """Where the run's bars come from, as its venue records it."""
        return venue_named(self.venue).data_source(self)
