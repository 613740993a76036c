"""`Manifest`: what a run records about itself (`manifest.json`, and the journal's copy).

Written by the runners, read through attributes by the run store, the reports, the dashboard and
`compare`. `from_dict` reads any version's manifest: a key it does not know is kept in `extra`
(and written back by `to_dict`), a key an older version did not write takes its default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

Mode = Literal["backtest", "paper"]


@dataclass(frozen=True, kw_only=True)
class StrategyRecord:
    """Which strategy ran: its registry name, class and (for a file strategy) its source."""

    name: str = ""
    cls: str | None = None  # `module.QualName`; the key is `class`
    source_path: str | None = None
    source_sha256: str | None = None

    @classmethod
    def from_spec(cls, spec: Any) -> StrategyRecord:
        """The record of a resolved `StrategySpec`."""
        return cls(
            name=spec.name,
            cls=f"{spec.cls.__module__}.{spec.cls.__qualname__}",
            source_path=spec.source_path,
            source_sha256=spec.source_sha256,
        )

    @classmethod
    def from_value(cls, value: Any) -> StrategyRecord:
        if isinstance(value, str):  # a bare name
            return cls(name=value)
        value = value if isinstance(value, Mapping) else {}
        return cls(
            name=str(value.get("name") or ""),
            cls=value.get("class"),
            source_path=value.get("source_path"),
            source_sha256=value.get("source_sha256"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class": self.cls,
            "source_path": self.source_path,
            "source_sha256": self.source_sha256,
        }


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """A run's manifest. Fields one mode does not have are None and left out of `to_dict`."""

    run_id: str
    mode: str = "backtest"
    venue: str = "sim"
    dry_run: bool | None = None  # paper
    created_at: str | None = None  # ISO UTC
    finished_at: str | None = None  # paper, once it ended
    strategy: StrategyRecord = field(default_factory=StrategyRecord)
    params: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    timeframe: str | None = None  # its name, e.g. `1Day`
    data: Mapping[str, Any] = field(default_factory=dict)  # source, adjustment, hashes, ...
    costs: Mapping[str, float] = field(default_factory=dict)  # the parsed cost model
    commission: str | None = None  # as given
    slippage: str | None = None
    latency_ms: int | None = None  # paper
    volume_share: float | None = None  # paper
    speed: float | str | None = None  # paper: `max` or N times real time
    currency: str | None = None  # ISO code of the run's money
    calendar: Mapping[str, Any] | None = None  # exchange calendar: name, timezone, annualisation
    session: str | None = None  # backtest: regular or extended intraday bars
    fill_at: str | None = None
    allow_short: bool | None = None  # backtest
    cash: float | None = None  # the capital the strategy started with
    starting_cash: float | None = None  # paper (the same; older readers know this key)
    account_cash: float | None = None  # paper: the account's cash when the run started
    live_from: str | None = None  # paper: the first live bar (earlier bars were the warm-up)
    start: str | None = None  # first bar (ISO)
    end: str | None = None  # last bar (ISO)
    requested_window: Mapping[str, Any] | None = None  # backtest: --from/--to as given
    preload: bool | None = None  # backtest
    stopped_by: str | None = None  # paper
    config: Mapping[str, Any] | None = None  # paper: the `PaperConfig` a resume rebuilds
    risk: Mapping[str, Any] | None = None  # the risk limits (their `describe()` form)
    warnings: tuple[str, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this version does not know

    # written even when None (older readers look them up)
    _ALWAYS: ClassVar[frozenset[str]] = frozenset({"risk", "start", "end"})

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, *, run_id: str = "") -> Manifest:
        """Read a manifest of any version; `run_id` names a manifest that lacks one."""
        values = dict(values or {})
        names = {f.name for f in fields(cls)} - {"extra", "strategy"}
        known = {k: values.pop(k) for k in list(values) if k in names}
        strategy = StrategyRecord.from_value(values.pop("strategy", None))
        known["run_id"] = str(known.get("run_id") or run_id)
        known["mode"] = str(known.get("mode") or "backtest")
        known["venue"] = str(known.get("venue") or "sim")
        for name in ("symbols", "warnings"):
            known[name] = tuple(known.get(name) or ())
        for name in ("params", "data", "costs", "versions"):
            known[name] = dict(known.get(name) or {})
        return cls(**known, strategy=strategy, extra=values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`manifest.json`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra":
                continue
            if f.name == "strategy":
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            if value is not None or f.name in self._ALWAYS:
                out[f.name] = value
        return {**out, **self.extra}

    @property
    def is_paper(self) -> bool:
        return self.mode == "paper"

    @property
    def data_source(self) -> str:
        return str(self.data.get("source") or "")

    @property
    def initial_cash(self) -> float | None:
        """The capital the run started with: `starting_cash`, else `cash`, else its config's."""
        config_cash = (self.config or {}).get("cash")
        for value in (self.starting_cash, self.cash, config_cash):
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return float(value)
        return None

    @property
    def risk_limits(self) -> Mapping[str, Any] | None:
        """The recorded risk limits (a paper run's config holds them too)."""
        return self.risk or (self.config or {}).get("risk") or None

    @property
    def window(self) -> tuple[dt.date, dt.date] | None:
        """The dates of the first and last bar, if the run recorded any."""
        if not self.start or not self.end:
            return None
        return dt.date.fromisoformat(self.start[:10]), dt.date.fromisoformat(self.end[:10])
