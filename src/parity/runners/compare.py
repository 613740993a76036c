"""`run_compare`: a paper run against its backtest twin, an existing backtest, or stated figures.

Default mode builds the twin itself, from the paper run's manifest: the same strategy (its source
sha256 must match unless `allow_code_change`), params, starting cash, window (the dates of the
first and last equity bar), timeframe and cost model (the venue's fill model; `twin_costs="zero"`
makes both twins frictionless so the venue's costs show up as execution divergence). The twin
runs twice, in memory through `simulate` (`runners.twins`), leaving its artifacts in
`PAPER_RUN/compare/`:

* ``tape-twin``: on the bars the paper run received (`tape.csv`, resampled to the run's
  timeframe exactly as a backtest feed would be);
* ``history-twin``: on vendor history for the same window: the local venue's data source
  (`history` overrides it), or Alpaca's history for an Alpaca run (needs keys and a network).

Outputs: `divergence.json` and `divergence.html` (the twin's: what reports and the dashboard
show), `divergence-expect.*` (`expect`) or `divergence-against-RUN.*` (`against`), in the paper
run directory (or `out`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from parity.analyzers.assumptions import EXPECT_KEYS, Bands
from parity.analyzers.divergence import RunData, compute_divergence
from parity.analyzers.matching import missing_fills
from parity.analyzers.metrics import METRIC_KEYS
from parity.analyzers.verdict import WORSE, Thresholds, check_stated, verdict
from parity.errors import ConfigError
from parity.instruments.money import run_currency
from parity.manifest import Manifest
from parity.runners.option_compare import REPORT, compare_options, trades_options
from parity.runners.twins import build_twins, manifest_differences
from parity.runstore import RunRecord, RunStore
from parity.timeframe import parse_timeframe

Notify = Callable[[str], None]
TWIN_STEM = "divergence"  # divergence.json / .html: the twin compare, read by reports


@dataclass(frozen=True, kw_only=True)
class CompareConfig:
    """One comparison. Exactly one of default (twin), ``against`` or ``expect`` mode applies."""

    paper_run: str
    runs_dir: Path = Path("runs")
    against: str | None = None
    expect: Mapping[str, float] | None = None
    history: str | None = None
    twin_costs: Literal["same", "zero"] = "same"
    allow_code_change: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    out: Path | None = None
    resamples: int = 2000
    seed: int = 0
    bands: Bands = field(default_factory=Bands)  # an options run's assumptions verdicts

    def __post_init__(self) -> None:
        if self.against and self.expect:
            raise ConfigError("give --against or --expect, not both")
        if self.twin_costs not in ("same", "zero"):
            raise ConfigError(f"--twin-costs {self.twin_costs!r} must be same or zero")


@dataclass(frozen=True)
class CompareResult:
    divergence: dict[str, Any]
    json_path: Path
    html_path: Path | None  # an options run's is compare/divergence.html
    warnings: tuple[str, ...]
    text: str | None = None  # an options run's console output

    @property
    def status(self) -> str:
        return str(self.divergence["verdict"]["status"])


def parse_expect(text: str) -> dict[str, float]:
    """``'sharpe=1.8,win_rate=65%'`` → ``{'sharpe': 1.8, 'win_rate': 0.65}``; an options run's
    figures (`analyzers.assumptions.EXPECT_KEYS`: ``daily_pnl=341.77``) too."""
    out: dict[str, float] = {}
    for raw in str(text).split(","):
        term = raw.strip()
        if not term:
            continue
        name, sep, value = term.partition("=")
        name = name.strip().lower()
        if not sep or not name or not value.strip():
            raise ConfigError(
                f"--expect term {term!r} is not NAME=VALUE; e.g. --expect sharpe=1.8,win_rate=0.65"
            )
        if name not in METRIC_KEYS and name not in EXPECT_KEYS:
            valid = ", ".join(dict.fromkeys((*METRIC_KEYS, *EXPECT_KEYS)))
            raise ConfigError(f"--expect: unknown metric {name!r}; valid: {valid}")
        number = value.strip()
        scale = 0.01 if number.endswith("%") else 1.0
        try:
            out[name] = float(number.rstrip("%")) * scale
        except ValueError:
            raise ConfigError(f"--expect {name}={value!r} is not a number") from None
    if not out:
        raise ConfigError("--expect needs at least one NAME=VALUE, e.g. --expect sharpe=1.8")
    return out


def _paper_record(store: RunStore, ref: str, against: str | None) -> RunRecord:
    """The run compared: a paper run, or a backtest compared with another run (a what-if of
    params or costs, `--against`)."""
    record = store.get(ref)
    if not record.manifest.is_paper and not against:
        raise ConfigError(
            f"run {record.run_id} is a {record.manifest.mode} run: it has no twin; compare it "
            f"with another run instead (a what-if of params or costs): parity compare "
            f"{record.run_id} --against OTHER_RUN"
        )
    return record


def run_compare(config: CompareConfig, *, notify: Notify = lambda _m: None) -> CompareResult:
    """Compare, write divergence.json / divergence.html, return the figures and warnings."""
    store = RunStore(config.runs_dir)
    record = _paper_record(store, config.paper_run, config.against)
    if trades_options(record) and not config.against:
        return _compare_options(config, record)
    # the twins are built aside and replace the previous ones only once the comparison is
    # written: a failed compare leaves no half-built twin for the dashboard to overlay
    staging = record.path / "compare" / f".partial-{os.getpid()}"
    try:
        result = _compare(config, store, record, staging, notify)
        _publish(staging, record.path / "compare")
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _compare_options(config: CompareConfig, record: RunRecord) -> CompareResult:
    """An options run: its twins, ledger, attribution and assumptions (`runners.option_compare`),
    published into `PAPER_RUN/compare/` once all is written."""
    warnings: list[str] = []
    directory = Path(config.out) if config.out else record.path / "compare"
    staging = directory / f".partial-{os.getpid()}"
    try:
        done = compare_options(
            record, config, staging=staging, bands=config.bands, expect=config.expect,
            warn=warnings.append,
        )  # fmt: skip
        _publish(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    figures = {**done.figures, "warnings": warnings}
    path = directory / "compare.json"
    return CompareResult(figures, path, directory / REPORT, tuple(warnings), done.text)


def _publish(staging: Path, directory: Path) -> None:
    """Move every twin built in `staging` into `directory`, replacing the previous one."""
    if not staging.is_dir():
        return
    for built in sorted(staging.iterdir()):
        target = directory / built.name
        shutil.rmtree(target, ignore_errors=True)
        os.replace(built, target)


def _compare(
    config: CompareConfig, store: RunStore, record: RunRecord, staging: Path, notify: Notify
) -> CompareResult:
    from parity.reports.divergence import summary_text
    from parity.reports.divergence_html import write_html

    live = RunData.from_dir(record.path, record.manifest)
    warnings: list[str] = []
    only_options = sorted(set(config.expect or {}) - set(METRIC_KEYS))
    if only_options:
        raise ConfigError(
            f"--expect {', '.join(only_options)}: figures of an options run; run "
            f"{record.run_id} traded no options (its metrics: {', '.join(METRIC_KEYS)})"
        )
    other: RunRecord | None = None
    if config.expect:
        divergence = _expect(live, config.expect, config.thresholds)
        series: dict[str, pd.Series] = {}
    elif config.against:
        other = store.get(config.against)
        differences = manifest_differences(record, other)
        if record.manifest.is_paper:
            warnings += differences
            for text in warnings:
                notify(f"warning: {text}")
        reference = RunData.from_dir(other.path, other.manifest)
        divergence = compute_divergence(
            live,
            reference,
            thresholds=config.thresholds,
            bar_seconds=_bar_seconds(record.manifest),
            resamples=config.resamples,
            seed=config.seed,
        )
        divergence["mode"] = "against" if record.manifest.is_paper else "what-if"
        divergence["differences"] = differences
        series = {"live": live.equity["value"], "reference": reference.equity["value"]}
    else:
        twins = build_twins(record, config, warnings.append, staging)
        for text in warnings:
            notify(f"warning: {text}")
        divergence = compute_divergence(
            live,
            twins.history,
            tape=twins.tape,
            thresholds=config.thresholds,
            bar_seconds=_bar_seconds(record.manifest),
            bars=twins.bars,
            resamples=config.resamples,
            seed=config.seed,
        )
        divergence["mode"] = "twin"
        divergence["twin_costs"] = config.twin_costs
        series = {
            "live": live.equity["value"],
            "tape": twins.tape.equity["value"],
            "reference": twins.history.equity["value"],
        }
    stem, divergence["compared_with"] = _what(config, other_id=other.run_id if other else None)
    divergence["warnings"] = warnings
    divergence["thresholds"] = vars(config.thresholds)
    divergence["currency"] = run_currency(record.manifest)
    divergence = _finite(divergence)
    out = Path(config.out) if config.out else record.path
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(divergence, indent=2, default=str, allow_nan=False) + "\n")
    html_path = write_html(
        divergence,
        series,
        out / f"{stem}.html",
        currency=divergence["currency"],
        details=summary_text(divergence),
    )
    return CompareResult(divergence, json_path, html_path, tuple(warnings))


def _what(config: CompareConfig, *, other_id: str | None) -> tuple[str, str]:
    """Each comparison keeps its own file (`divergence.json` is the twin's, the one reports and
    the dashboard read) and says what it compared with."""
    if config.expect:
        return "divergence-expect", "stated figures (--expect)"
    if other_id is not None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", other_id)
        return f"divergence-against-{safe}", f"run {other_id} (--against)"
    return TWIN_STEM, "its backtest twin"


def _finite(value: Any) -> Any:
    """A JSON-safe copy: NaN/inf become None, numpy scalars plain Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _bar_seconds(manifest: Manifest) -> float:
    return float(parse_timeframe(manifest.timeframe or "1Min").seconds)


def _expect(live: RunData, stated: Mapping[str, float], t: Thresholds) -> dict[str, Any]:
    metrics = {}
    for name, want in stated.items():
        got = live.metrics.get(name)
        delta = None if got is None else float(got) - want
        metrics[name] = {
            "live": got,
            "stated": want,
            "abs_diff": delta,
            "rel_diff": delta / abs(want) if delta is not None and want else None,
            "worse": WORSE.get(name, "either"),
        }
    missing = missing_fills(live.orders, live.fills)
    return {
        "mode": "expect",
        "live_run": live.run_id,
        "metrics": metrics,
        "missing_fills": missing,
        "verdict": verdict(check_stated(live.metrics, stated, t), missing),
    }
