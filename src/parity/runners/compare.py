"""`run_compare`: a paper run against its backtest twin, an existing backtest, or stated figures.

Default mode builds the twin itself, from the paper run's manifest: the same strategy (its source
sha256 must match unless `allow_code_change`), params, starting cash, window (the dates of the
first and last equity bar), timeframe and cost model (the venue's fill model; `twin_costs="zero"`
makes both twins frictionless so the venue's costs show up as execution divergence). The twin
runs twice through `run_backtest`, into `PAPER_RUN/compare/`:

* ``tape-twin``: on the bars the paper run received (`tape.csv`, one SYMBOL.csv per symbol in a
  temporary directory, resampled to the run's timeframe exactly as a backtest feed would be);
* ``history-twin``: on vendor history for the same window: the local venue's data source
  (`history` overrides it), or Alpaca's history for an Alpaca run (needs keys and a network).

Outputs: `divergence.json` and `divergence.html` (the twin's: what reports and the dashboard
show), `divergence-expect.*` (`expect`) or `divergence-against-RUN.*` (`against`), in the paper
run directory (or `out`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from parity.analyzers.divergence import RunData, compute_divergence
from parity.analyzers.matching import missing_fills
from parity.analyzers.metrics import METRIC_KEYS
from parity.analyzers.verdict import WORSE, Thresholds, check_stated, verdict
from parity.defaults import DEFAULT_CASH
from parity.errors import ConfigError, DataError, ReportError, StrategyError
from parity.feeds.loader import LoadedData, frame_bars
from parity.instruments.calendars import manifest_calendar
from parity.instruments.money import run_currency
from parity.manifest import Manifest
from parity.risk.limits import RiskLimits
from parity.runstore import RunRecord, RunStore, write_run
from parity.strategies.registry import StrategySpec
from parity.timeframe import parse_timeframe
from parity.venues.registry import venue_of_run

if TYPE_CHECKING:
    from parity.config import BacktestConfig

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

    def __post_init__(self) -> None:
        if self.against and self.expect:
            raise ConfigError("give --against or --expect, not both")
        if self.twin_costs not in ("same", "zero"):
            raise ConfigError(f"--twin-costs {self.twin_costs!r} must be same or zero")


@dataclass(frozen=True)
class CompareResult:
    divergence: dict[str, Any]
    json_path: Path
    html_path: Path
    warnings: tuple[str, ...]

    @property
    def status(self) -> str:
        return str(self.divergence["verdict"]["status"])


def parse_expect(text: str) -> dict[str, float]:
    """``'sharpe=1.8,win_rate=65%'`` → ``{'sharpe': 1.8, 'win_rate': 0.65}``."""
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
        if name not in METRIC_KEYS:
            raise ConfigError(f"--expect: unknown metric {name!r}; valid: {', '.join(METRIC_KEYS)}")
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
    # the twins are built aside and replace the previous ones only once the comparison is
    # written: a failed compare leaves no half-built twin for the dashboard to overlay
    staging = record.path / "compare" / f".partial-{os.getpid()}"
    try:
        result = _compare(config, store, record, staging, notify)
        _publish(staging, record.path / "compare")
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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


def tape_sha256(record: RunRecord) -> str | None:
    """The combined sha256 of the tape's bars, as a backtest on them would record it."""
    if not (record.path / "tape.csv").is_file():
        return None
    loaded = _tape_bars(record.manifest, tape_frames(record.path / "tape.csv"), window=False)
    return hashlib.sha256("".join(s.sha256() for s in loaded.series).encode()).hexdigest()


def _compared(m: Manifest) -> dict[str, Any]:
    """What a twin must share with its paper run, by the label a difference is reported under."""
    return {
        "strategy": m.strategy.name,
        "code hash (strategy.source_sha256)": m.strategy.source_sha256,
        "timeframe": m.timeframe,
        "symbols": list(m.symbols),
        "commission": m.commission,
        "slippage": m.slippage,
        "cash": m.cash,
    }


def _day(value: Any) -> str | None:
    return dt.datetime.fromisoformat(value).date().isoformat() if value else None


def manifest_differences(paper: RunRecord, other: RunRecord) -> list[str]:
    """Every difference that makes ``other`` not the paper run's twin, one line each."""
    a, b = paper.manifest, other.manifest
    if not a.is_paper:  # a what-if between two backtests: every difference is the point
        return _run_differences(paper, other)
    out: list[str] = []
    for key in sorted(set(a.params) | set(b.params)):
        pa, pb = a.params.get(key), b.params.get(key)
        if pa != pb:
            out.append(f"params.{key}: paper {pa!r}, backtest {pb!r}")
    paper_values, other_values = _compared(a), _compared(b)
    for label, value in paper_values.items():
        if value != other_values[label]:
            out.append(f"{label}: paper {value!r}, backtest {other_values[label]!r}")
    venue = venue_of_run(a.to_dict())
    replayed = venue is not None and venue.replays
    if replayed and a.data_source != b.data_source:
        out.append(
            f"data source: paper replayed {a.data_source!r}, backtest used {b.data_source!r}"
        )
    for label, day_a, day_b in (
        ("window start", _day(a.start), _day(b.start)),
        ("window end", _day(a.end), _day(b.end)),
    ):
        if day_a != day_b:
            out.append(f"{label}: paper {day_a}, backtest {day_b}")
    if out or b.data.get("sha256"):
        try:
            sha = tape_sha256(paper)
        except (DataError, ConfigError, OSError) as exc:
            out.append(f"data sha256: the tape could not be read ({exc})")
        else:
            if sha is not None and sha != b.data.get("sha256"):
                theirs = str(b.data.get("sha256"))[:12]
                out.append(
                    f"data sha256: paper tape {sha[:12]}, backtest {theirs} "
                    "(the backtest ran on other bars)"
                )
    return out


def _run_differences(this: RunRecord, other: RunRecord) -> list[str]:
    """The manifest diff of two backtests, `this` run's value first."""
    a, b = this.manifest, other.manifest
    mine: dict[str, Any] = {f"params.{k}": v for k, v in a.params.items()}
    theirs: dict[str, Any] = {f"params.{k}": v for k, v in b.params.items()}
    for values, m in ((mine, a), (theirs, b)):
        values.update(_compared(m))
        values.update(
            {
                "data source": m.data_source,
                "data sha256": str(m.data.get("sha256") or "")[:12] or None,
                "window start": _day(m.start),
                "window end": _day(m.end),
                "currency": m.currency,
            }
        )
    return [
        f"{label}: {this.run_id} {mine.get(label)!r}, {other.run_id} {theirs.get(label)!r}"
        for label in sorted(set(mine) | set(theirs))
        if mine.get(label) != theirs.get(label)
    ]


# ---------------------------------------------------------------------------- building the twin


@dataclass(frozen=True)
class Twins:
    """The two twin runs and the bars each saw (per source, per symbol, at the run timeframe)."""

    tape: RunData
    history: RunData
    bars: dict[str, dict[str, pd.DataFrame]]


def tape_frames(tape_csv: Path) -> dict[str, pd.DataFrame]:
    """`tape.csv` as one frame of bars per symbol (`split_tape`)."""
    try:
        tape = pd.read_csv(tape_csv, parse_dates=["datetime"])
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{tape_csv} is missing or malformed ({exc}); the paper run has no tape"
        ) from None
    if tape.empty:
        raise DataError(f"{tape_csv} holds no bars: the paper run received nothing to compare")
    return split_tape(tape)


def split_tape(tape: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Tape rows (`symbol`, `datetime`, OHLCV) as one frame of bars per symbol, in time order;
    a bar received twice counts once (the last copy wins)."""
    columns = ["datetime", "open", "high", "low", "close", "volume"]
    frames = {}
    for symbol, rows in tape.groupby("symbol", sort=True):
        bars = rows[columns].drop_duplicates("datetime", keep="last").sort_values("datetime")
        frames[str(symbol)] = bars.reset_index(drop=True)
    return frames


def _tape_bars(
    manifest: Manifest, frames: Mapping[str, pd.DataFrame], *, window: bool = True
) -> LoadedData:
    """Bars in memory at the run's timeframe, cut to the run's window (`window`)."""
    start, end = _window(manifest) if window else (None, None)
    return frame_bars(
        frames,
        manifest.symbols or tuple(sorted(frames)),
        source="tape",
        timeframe=parse_timeframe(manifest.timeframe or "1Min"),
        start=start,
        end=end,
        calendar=manifest_calendar(manifest).name,
    )


def _check_source(record: RunRecord, allow: bool, warn: Notify) -> StrategySpec:
    from parity.strategies.registry import resolve_strategy

    name = record.manifest.strategy.name
    spec = resolve_strategy(name)
    recorded = record.manifest.strategy.source_sha256
    if recorded and spec.source_sha256 != recorded:
        text = (
            f"strategy source {spec.source_path} changed since run {record.run_id} (sha256 "
            f"{str(recorded)[:12]} then, {spec.source_sha256[:12]} now)"
        )
        if not allow:
            raise StrategyError(f"{text}; restore it, or pass --allow-code-change")
        warn(f"{text}; compared anyway (--allow-code-change)")
    return spec


def _window(manifest: Manifest) -> tuple[dt.date, dt.date]:
    window = manifest.window
    if window is None:
        raise ReportError(
            f"paper run {manifest.run_id} recorded no bars (no start/end); nothing to compare"
        )
    return window


def _history_source(manifest: Manifest, directory: Path) -> str:
    """The paper run's venue's history of its window: the source a replay read, or vendor
    history fetched into `directory`."""
    venue = venue_of_run(manifest.to_dict())
    if venue is None:
        raise ConfigError(
            f"paper run {manifest.run_id} traded on venue {manifest.venue!r}, "
            "unknown to this version; pass --history SOURCE"
        )
    directory.mkdir()
    start, end = _window(manifest)
    try:
        return venue.history_source(manifest.data_source, manifest.symbols, start, end, directory)
    except DataError as exc:
        hint = "pass --against BACKTEST_RUN or --expect NAME=VALUE,... to compare without it"
        raise DataError(f"{exc}; {hint}") from exc


def twin_config(manifest: Manifest, config: CompareConfig, data: str) -> BacktestConfig:
    """The backtest configuration of a paper run's twin on `data` (module doc)."""
    from parity.config import BacktestConfig

    start, end = _window(manifest)
    zero = config.twin_costs == "zero"
    return BacktestConfig(
        strategy=manifest.strategy.name,
        params=dict(manifest.params),
        data=data,
        symbols=manifest.symbols,
        timeframe=parse_timeframe(manifest.timeframe or "1Min"),
        start=start,
        end=end,
        cash=float(manifest.cash or DEFAULT_CASH),
        # a manifest without costs predates their recording: its run was frictionless
        commission="0" if zero else manifest.commission or "0",
        slippage="0" if zero else manifest.slippage or "0",
        fill_at="open",
        # the paper run's latency and volume share (its venue timed and sized fills by them)
        latency_ms=int(manifest.latency_ms or 0),
        volume_share=float(manifest.volume_share or 1.0),
        adjustment="raw",  # the prices the paper run was served (the venue replays them raw)
        risk=RiskLimits.from_mapping(manifest.risk or {}, source="the paper manifest"),
        runs_dir=config.runs_dir,
        # the paper run's rule for a bar reaching both exits (its venue applied it)
        ambiguous=(manifest.config or {}).get("ambiguous"),
        finer=(manifest.config or {}).get("finer"),
    )


def _twin_run(
    backtest: BacktestConfig, spec: StrategySpec, loaded: LoadedData, run_id: str, twin_dir: Path
) -> tuple[RunData, dict[str, pd.DataFrame]]:
    """Simulate the twin in memory and leave its artifacts in `twin_dir` (for the dashboard
    and for reading); no journal."""
    from parity.engine.ambiguity import check_rule
    from parity.engine.simulate import Recording, simulate
    from parity.runners.backtest import artifacts, backtest_finer, run_manifest
    from parity.strategies.params import coerce_params

    params = coerce_params(spec.cls, backtest.params)
    result = simulate(
        loaded, spec.cls, params, backtest.costs,
        cash=backtest.cash, fill_at=backtest.fill_at, allow_short=backtest.allow_short,
        preload=backtest.preload, risk=backtest.risk, recording=Recording(id_prefix=run_id),
        volume_share=backtest.volume_share, latency_ms=backtest.latency_ms,
        ambiguous=check_rule(backtest.ambiguous), finer=backtest_finer(backtest, loaded),
    )  # fmt: skip
    manifest = run_manifest(run_id, backtest, spec, params, loaded)
    # a twin is derived output of this compare: rebuilt every time, never mixed with a stale one
    shutil.rmtree(twin_dir, ignore_errors=True)
    write_run(twin_dir, artifacts(manifest, result))
    run = RunData(
        run_id, result.equity, result.orders, result.fills, backtest.cash, result.metrics,
        manifest, result.trades,
    )  # fmt: skip
    return run, {s.symbol: s.frame for s in loaded.series}


def build_twins(
    record: RunRecord, config: CompareConfig, warn: Notify, runs_dir: Path | None = None
) -> Twins:
    """Run the tape twin and the history twin of a paper run (module doc) into `runs_dir`
    (default `PAPER_RUN/compare`), in memory."""
    from parity.feeds.loader import load_bars

    runs_dir = runs_dir or record.path / "compare"
    spec = _check_source(record, config.allow_code_change, warn)
    manifest = record.manifest
    tape_loaded = _tape_bars(manifest, tape_frames(record.path / "tape.csv"))
    tape_config = twin_config(manifest, config, "tape")
    tape, tape_bars = _twin_run(tape_config, spec, tape_loaded, "tape-twin", runs_dir / "tape-twin")
    with tempfile.TemporaryDirectory(prefix="parity-compare-") as tmp:
        # the venue's history: the source a replay read, or vendor history fetched into tmp
        source = config.history or _history_source(manifest, Path(tmp) / "history")
        history_config = twin_config(manifest, config, source)
        history_loaded = load_bars(
            source,
            history_config.symbols,
            timeframe=history_config.timeframe,
            start=history_config.start,
            end=history_config.end,
            adjustment="raw",
            # the paper run's calendar and session (runs recorded before sessions: every bar)
            calendar=manifest_calendar(manifest).name,
            session="regular" if manifest.session == "regular" else "extended",
        )
    history, history_bars = _twin_run(
        history_config, spec, history_loaded, "history-twin", runs_dir / "history-twin"
    )
    return Twins(tape, history, {"tape": tape_bars, "history": history_bars})
