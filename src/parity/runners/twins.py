"""A paper run's backtest twins and what makes another run its twin.

`build_twins` runs the tape twin (the bars the paper run received, from `tape.csv`) and the
history twin (its venue's history of the same window) in memory through `simulate`, leaving
each one's artifacts in `PAPER_RUN/compare/`; `manifest_differences` lists every difference
that makes a given run not the paper run's twin (`compare --against`). See `runners.compare`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pandas as pd

from parity.analyzers.divergence import RunData
from parity.defaults import DEFAULT_CASH
from parity.errors import ConfigError, DataError, ReportError, StrategyError
from parity.feeds.loader import LoadedData, frame_bars
from parity.instruments.calendars import manifest_calendar
from parity.manifest import Manifest
from parity.risk.limits import RiskLimits
from parity.runstore import RunRecord, write_run
from parity.strategies.registry import StrategySpec
from parity.timeframe import parse_timeframe
from parity.venues.registry import venue_of_run

if TYPE_CHECKING:
    from parity.config import BacktestConfig
    from parity.options.setup import OptionsSetup

Notify = Callable[[str], None]


class TwinSettings(Protocol):
    """What building a twin reads of a comparison's configuration (`CompareConfig` has it)."""

    @property
    def runs_dir(self) -> Path: ...
    @property
    def history(self) -> str | None: ...
    @property
    def twin_costs(self) -> Literal["same", "zero"]: ...
    @property
    def allow_code_change(self) -> bool: ...


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


def twin_config(manifest: Manifest, config: TwinSettings, data: str) -> BacktestConfig:
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
    backtest: BacktestConfig,
    spec: StrategySpec,
    loaded: LoadedData,
    run_id: str,
    twin_dir: Path,
    options: OptionsSetup | None = None,
) -> tuple[RunData, dict[str, pd.DataFrame]]:
    """Simulate the twin in memory and leave its artifacts in `twin_dir` (for the dashboard
    and for reading; with `options`, its options desk's too); no journal."""
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
        options=options,
    )  # fmt: skip
    manifest = run_manifest(run_id, backtest, spec, params, loaded)
    if options is not None:
        manifest = replace(manifest, extra={**manifest.extra, "options": options.describe()})
    # a twin is derived output of this compare: rebuilt every time, never mixed with a stale one
    shutil.rmtree(twin_dir, ignore_errors=True)
    write_run(twin_dir, artifacts(manifest, result))
    if result.options is not None:
        result.options.write(twin_dir)
    run = RunData(
        run_id, result.equity, result.orders, result.fills, backtest.cash, result.metrics,
        manifest, result.trades,
    )  # fmt: skip
    return run, {s.symbol: s.frame for s in loaded.series}


def build_twins(
    record: RunRecord, config: TwinSettings, warn: Notify, runs_dir: Path | None = None
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
