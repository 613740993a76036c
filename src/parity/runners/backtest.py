"""`run_backtest`: config → bars → `simulate` (journaled as it runs) → run artifacts.

The run is `parity.engine.simulate` plus persistence: it is journaled
(`RUNS_DIR/RUN_ID/journal.sqlite`, or the `PARITY_DB_URL` database) while it runs, and
`equity.csv`, `orders.csv`, `fills.csv`, `trades.csv` and `metrics.json` are written from the
`RunResult`, whose frames are identical to the journal's exports (tested)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import backtrader as bt

from parity.analyzers.reasons import ambiguity_summary
from parity.config import BacktestConfig, RunConfig
from parity.engine.ambiguity import FinerBars, check_rule
from parity.engine.simulate import Recording, RunResult, Simulation, simulate
from parity.errors import ConfigError, ParityError
from parity.feeds.currency import check_one_currency
from parity.feeds.finer import load_finer
from parity.feeds.loader import LoadedData, load_bars
from parity.instruments.calendars import SESSIONS, Session
from parity.instruments.money import currency_symbol
from parity.journal import Journal, run_journal_target
from parity.journal.hook import OrderJournal
from parity.manifest import Manifest, StrategyRecord
from parity.options.setup import OptionsSetup
from parity.risk.state import JsonRiskStateStore
from parity.runstore import RunArtifacts, check_run_id, check_runs_dir, new_run_id, write_run
from parity.strategies.base import BarsOfRun, ParityStrategy
from parity.strategies.params import coerce_params, resolved_params
from parity.strategies.registry import StrategySpec, resolve_strategy
from parity.versions import library_versions

ProgressFactory = Callable[[int], Callable[[int], None]]
"""Given the total number of bars, returns a callback `update(bars_done)`."""


@dataclass(frozen=True)
class BacktestResult:
    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    warnings: tuple[str, ...]
    summary: tuple[str, ...] = ()  # what the run's numbers rest on: prices and each symbol's bars
    currency: str = "USD"  # ISO code of the money in the run


_PRICES = {
    "splits": "adjusted for splits",
    "all": "adjusted for splits and dividends (--adjusted)",
    "raw": "raw (--raw)",
    "none available": "as in the data (no adj_close or split_coefficient column to adjust splits)",
}


def run_summary(loaded: LoadedData) -> tuple[str, ...]:
    """Where the run trades (calendar, time zone, annualisation, currency), how each symbol's
    prices were adjusted (and which splits), and the bars each symbol covers (symbols starting
    later trade from their own first bars)."""
    prices: dict[str, list[str]] = {}
    for series in loaded.series:
        done = loaded.adjustments.get(series.symbol)
        if done is None:
            continue
        splits = ", ".join(f"{s.text} on {s.date}" for s in done.splits)
        entry = f"{series.symbol} ({splits})" if splits and done.applied == "splits" else None
        prices.setdefault(_PRICES.get(done.applied, done.applied), []).extend([entry or ""])
    parts = []
    for text, entries in prices.items():
        named = [e for e in entries if e]
        parts.append(f"{text}: {', '.join(named)}" if named else text)
    windows = ", ".join(
        f"{s.symbol} {s.frame.index[0]:%Y-%m-%d}..{s.frame.index[-1]:%Y-%m-%d} ({len(s):,} bars)"
        for s in loaded.series
    )
    lines = [f"prices: {'; '.join(parts)}"] if parts else []
    calendar = loaded.calendar
    currency = check_one_currency([s.symbol for s in loaded.series]) or "USD"
    market = (
        f"calendar: {calendar.name} (bars in {calendar.timezone} time), annualised over "
        f"{calendar.annualisation.convention}; money in {currency_symbol(currency).strip()} "
        f"({currency})"
    )
    return (market, *lines, f"bars: {windows}")


def _data_manifest(config: BacktestConfig, loaded: LoadedData) -> dict[str, Any]:
    per_symbol = {
        s.symbol: {
            "origin": s.origin,
            "sha256": s.sha256(),
            "rows": len(s),
            "first": s.frame.index[0].isoformat(),
            "last": s.frame.index[-1].isoformat(),
            **_adjustment_record(loaded, s.symbol),
        }
        for s in loaded.series
    }
    combined = hashlib.sha256("".join(v["sha256"] for v in per_symbol.values()).encode())
    return {
        "source": config.data,
        "adjustment": config.adjustment,
        "adjusted": config.adjustment == "all",  # the boolean older readers know
        "sha256": combined.hexdigest(),
        "symbols": per_symbol,
    }


def _adjustment_record(loaded: LoadedData, symbol: str) -> dict[str, Any]:
    done = loaded.adjustments.get(symbol)
    if done is None:
        return {}
    return {"prices": done.applied, "splits": [split.describe() for split in done.splits]}


def traded_session(config: RunConfig, spec: StrategySpec) -> Session:
    """`--session` if given, else the strategy's own `session` (a class attribute), else
    `regular`: only the intraday bars inside the calendar's regular session (pre- and
    post-market bars are not traded unless asked for), in a backtest and a paper run alike."""
    chosen = config.session or getattr(spec.cls, "session", None) or "regular"
    if chosen not in SESSIONS:
        raise ConfigError(
            f"strategy {spec.name}: session {chosen!r} must be one of {', '.join(SESSIONS)}"
        )
    return cast(Session, chosen)


def readiness_warning(cls: type, loaded: LoadedData) -> str | None:
    """A plain `backtrader.Strategy` on symbols starting at different dates decides nothing
    until the latest one has warmed up (Backtrader calls `prenext` until then): say so."""
    if len(loaded.series) < 2 or getattr(cls, "per_symbol_warmup", False):
        return None
    if getattr(cls, "prenext", None) not in (bt.Strategy.prenext, ParityStrategy.prenext):
        return None  # the strategy handles the warm-up itself
    latest = max(loaded.series, key=lambda s: s.frame.index[0])
    if all(s.frame.index[0] == latest.frame.index[0] for s in loaded.series):
        return None
    return (
        f"{cls.__name__} calls next() only once every symbol has warmed up, so nothing trades "
        f"before {latest.symbol}'s data (from {latest.frame.index[0]:%Y-%m-%d}) is ready; "
        "subclass parity.strategies.ParityStrategy, set per_symbol_warmup = True and skip a "
        "data until self.ready(data) to trade each symbol from its own start"
    )


def strategy_warnings(
    spec: StrategySpec, params: Mapping[str, Any], loaded: LoadedData
) -> list[str]:
    """The strategy's own word on these bars (`ParityStrategy.bars_warnings`; it may refuse
    them); a plain `backtrader.Strategy` has none."""
    check = getattr(spec.cls, "bars_warnings", None)
    if check is None:
        return []
    bars = BarsOfRun(
        symbols=tuple(s.symbol for s in loaded.series),
        timeframe=loaded.series[0].timeframe.name,
        first=min(s.frame.index[0] for s in loaded.series).to_pydatetime(),
        last=max(s.frame.index[-1] for s in loaded.series).to_pydatetime(),
    )
    return list(check(params, bars))


def run_manifest(
    run_id: str,
    config: BacktestConfig,
    spec: StrategySpec,
    params: dict[str, Any],
    loaded: LoadedData,
) -> Manifest:
    first = min(s.frame.index[0] for s in loaded.series)
    last = max(s.frame.index[-1] for s in loaded.series)
    return Manifest(
        run_id=run_id,
        mode="backtest",
        venue="sim",
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        strategy=StrategyRecord.from_spec(spec),
        params=resolved_params(spec.cls, params),
        symbols=tuple(s.symbol for s in loaded.series),
        currency=check_one_currency([s.symbol for s in loaded.series]) or "USD",
        calendar=loaded.calendar.describe(),
        session=traded_session(config, spec),
        timeframe=loaded.series[0].timeframe.name,
        data=_data_manifest(config, loaded),
        costs=config.costs.describe(),
        commission=config.commission,
        slippage=config.slippage,
        fill_at=config.fill_at,
        allow_short=config.allow_short,
        latency_ms=config.latency_ms,
        volume_share=config.volume_share,
        cash=config.cash,
        start=first.isoformat(),
        end=last.isoformat(),
        requested_window={
            "from": config.start.isoformat() if config.start else None,
            "to": config.end.isoformat() if config.end else None,
        },
        preload=config.preload,
        risk=config.risk.describe() if config.risk else None,
        warnings=tuple(loaded.warnings),
        versions=library_versions(),
    )


def _simulation(
    config: BacktestConfig, spec: StrategySpec, params: dict[str, Any], loaded: LoadedData
) -> Simulation:
    return Simulation(
        loaded.series, spec.cls, params, config.costs, config.cash, config.fill_at,
        config.allow_short, config.risk, None,
        volume_share=config.volume_share, latency_ms=config.latency_ms,
    )  # fmt: skip


def build_cerebro(
    config: BacktestConfig,
    spec: StrategySpec,
    params: dict[str, Any],
    loaded: LoadedData,
    recorder_kwargs: dict[str, Any],
    *,
    runonce: bool | None = None,
) -> bt.Cerebro:
    """The Cerebro `simulate` runs (fast feeds, simulated broker, strategy, recorder), for tools
    that need the Cerebro itself; the risk state lives in `RUNS_DIR/ID_PREFIX/`.

    `runonce` (vectorised indicators) follows `config.preload` unless given."""
    runonce = config.preload if runonce is None else runonce
    run_dir = config.runs_dir / str(recorder_kwargs.get("id_prefix", "run"))
    simulation = replace(
        _simulation(config, spec, params, loaded), risk_store=JsonRiskStateStore.in_run(run_dir)
    )
    return simulation.cerebro(Recording(**recorder_kwargs), preload=config.preload, runonce=runonce)


def backtest_finer(config: BacktestConfig, loaded: LoadedData) -> FinerBars | None:
    """The finer bars `--ambiguous finer-data` reads (`--finer`), else None."""
    if config.ambiguous != "finer-data" or not config.finer:
        return None
    return load_finer(
        config.finer, [s.symbol for s in loaded.series], than=loaded.series[0].timeframe,
        start=config.start, end=config.end, adjustment=config.adjustment,
        calendar=config.calendar,
    )  # fmt: skip


def backtest_bars(config: BacktestConfig, spec: StrategySpec) -> LoadedData:
    """The bars a backtest of `config` runs on (its data options, the strategy's session), with
    the warnings of the data and of the strategy's warm-up; risk limits are checked against
    them."""
    loaded = load_bars(
        config.data,
        config.symbols,
        timeframe=config.timeframe,
        start=config.start,
        end=config.end,
        adjustment=config.adjustment,
        calendar=config.calendar,
        session=traded_session(config, spec),
    )
    if config.risk is not None:
        config.risk.check_bars(loaded.series[0].timeframe)
    waiting = readiness_warning(spec.cls, loaded)
    if waiting is not None:
        loaded = replace(loaded, warnings=(*loaded.warnings, waiting))
    return loaded


def run_backtest(
    config: BacktestConfig,
    *,
    progress: ProgressFactory | None = None,
    run_id: str | None = None,
    on_warning: Callable[[str], None] | None = None,
    options: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """Run one backtest, journal it and write its run directory; bad input raises a
    `ParityError`. A backtest that fails leaves its journal marked `crashed` in a database
    (`PARITY_DB_URL`); a per-run SQLite journal is removed with its run directory, since a
    backtest records nothing that re-running it would not reproduce. `options` overrides the
    options desk's assumptions (`OptionsSetup.for_strategy`); a strategy that trades options
    gets a desk without it, and the run writes `options_*.csv` beside the other artifacts."""
    check_runs_dir(config.runs_dir)
    if run_id is not None:
        check_run_id(run_id)
    spec = resolve_strategy(config.strategy)
    params = coerce_params(spec.cls, config.params)
    loaded = backtest_bars(config, spec)
    loaded = replace(loaded, warnings=(*loaded.warnings, *strategy_warnings(spec, params, loaded)))
    if on_warning is not None:
        for warning in loaded.warnings:
            on_warning(warning)
    run_id = run_id or new_run_id(spec.name)
    total = max(len(s) for s in loaded.series)
    run_dir = config.runs_dir / run_id
    manifest = run_manifest(run_id, config, spec, params, loaded)
    setup = None
    if options or getattr(spec.cls, "trades_options", False):
        setup = OptionsSetup.for_strategy(spec.cls, options)
        manifest = replace(manifest, extra={**manifest.extra, "options": setup.describe()})
    finer = backtest_finer(config, loaded)
    created_dir = not run_dir.exists()
    target = run_journal_target(run_dir)
    journal = Journal.open(target, create=True)
    try:
        journal.start_run(run_id, manifest.to_dict(), mode="backtest", venue="sim", pid=os.getpid())
        daily = loaded.series[0].timeframe.is_daily
        recording = Recording(
            id_prefix=run_id,
            journal=OrderJournal(journal, daily=daily),
            progress=progress(total) if progress is not None else None,
            progress_every=max(total // 200, 1000) if progress is not None else 0,
        )
        result = simulate(
            loaded, spec.cls, params, config.costs,
            cash=config.cash, fill_at=config.fill_at, allow_short=config.allow_short,
            preload=config.preload, risk=config.risk,
            risk_store=JsonRiskStateStore.in_run(run_dir), recording=recording,
            volume_share=config.volume_share, latency_ms=config.latency_ms, options=setup,
            ambiguous=check_rule(config.ambiguous), finer=finer,
        )  # fmt: skip
        journal.flush()
        journal.finish_run("finished")
    except BaseException:
        _abandon(journal, run_dir if created_dir and not isinstance(target, str) else None)
        raise
    journal.close()
    if result.warmup > total and on_warning is not None:
        on_warning(
            f"{spec.name} needs {result.warmup} bars to warm up but the window has {total}; "
            "it made no decisions (widen --from/--to)"
        )
    write_run(run_dir, artifacts(manifest, result))
    option_lines: tuple[str, ...] = ()
    if result.options is not None:
        result.options.write(run_dir)
        option_lines = result.options.summary
    return BacktestResult(
        run_id,
        run_dir,
        result.metrics,
        loaded.warnings,
        (*run_summary(loaded), *option_lines, *ambiguity_summary(result.metrics)),
        currency=manifest.currency or "USD",
    )


def artifacts(manifest: Manifest, result: RunResult) -> RunArtifacts:
    """What a run directory holds for a simulated run."""
    return RunArtifacts(
        manifest, result.metrics, result.equity, result.returns, result.trades, result.orders,
        result.fills,
    )  # fmt: skip


def _abandon(journal: Journal, run_dir: Path | None) -> None:
    """A failed backtest: mark the journal crashed; remove the run directory this run made."""
    try:
        if journal.run_id is not None:
            journal.finish_run("crashed")
    except ParityError:
        pass  # the original error is the one to report
    finally:
        journal.close()
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
