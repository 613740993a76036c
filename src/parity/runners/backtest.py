"""`run_backtest`: config → bars → Cerebro with the simulated broker → journal → run artifacts.

The run is journaled (`RUNS_DIR/RUN_ID/journal.sqlite`, or the `PARITY_DB_URL` database) while it
runs; `equity.csv`, `orders.csv` and `fills.csv` are exports of the journal, and the metrics are
computed from the same frames, so the journal is the one source of truth."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import backtrader as bt

from parity.analyzers.ledger import round_trips
from parity.analyzers.metrics import compute_metrics, daily_returns
from parity.analyzers.recorder import Recorder
from parity.analyzers.trim import Trimmer
from parity.brokers.core import OrderReview
from parity.brokers.sim import CloseFills, build_sim_broker
from parity.config import BacktestConfig
from parity.errors import ParityError, StrategyError
from parity.feeds.arrayfeed import ArrayFeed
from parity.feeds.loader import LoadedData, load_bars
from parity.journal import Journal, run_journal_target
from parity.journal.hook import OrderJournal
from parity.risk.monitor import attach_risk, risk_guard
from parity.runstore import RunArtifacts, check_run_id, check_runs_dir, new_run_id, write_run
from parity.strategies.base import ParityStrategy
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


_PRICES = {
    "splits": "adjusted for splits",
    "all": "adjusted for splits and dividends (--adjusted)",
    "raw": "raw (--raw)",
    "none available": "as in the data (no adj_close or split_coefficient column to adjust splits)",
}


def run_summary(loaded: LoadedData) -> tuple[str, ...]:
    """Two lines: how each symbol's prices were adjusted (and which splits), and the bars each
    symbol covers (symbols starting later trade from their own first bars)."""
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
    return (*lines, f"bars: {windows}")


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


def _manifest(
    run_id: str,
    config: BacktestConfig,
    spec: StrategySpec,
    params: dict[str, Any],
    loaded: LoadedData,
) -> dict[str, Any]:
    first = min(s.frame.index[0] for s in loaded.series)
    last = max(s.frame.index[-1] for s in loaded.series)
    return {
        "run_id": run_id,
        "mode": "backtest",
        "venue": "sim",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "strategy": {
            "name": spec.name,
            "class": f"{spec.cls.__module__}.{spec.cls.__qualname__}",
            "source_path": spec.source_path,
            "source_sha256": spec.source_sha256,
        },
        "params": resolved_params(spec.cls, params),
        "symbols": [s.symbol for s in loaded.series],
        "timeframe": loaded.series[0].timeframe.name,
        "data": _data_manifest(config, loaded),
        "costs": config.costs.describe(),
        "commission": config.commission,
        "slippage": config.slippage,
        "fill_at": config.fill_at,
        "allow_short": config.allow_short,
        "cash": config.cash,
        "start": first.isoformat(),
        "end": last.isoformat(),
        "requested_window": {
            "from": config.start.isoformat() if config.start else None,
            "to": config.end.isoformat() if config.end else None,
        },
        "preload": config.preload,
        "risk": config.risk.describe() if config.risk else None,
        "warnings": list(loaded.warnings),
        "versions": library_versions(),
    }


def build_cerebro(
    config: BacktestConfig,
    spec: StrategySpec,
    params: dict[str, Any],
    loaded: LoadedData,
    recorder_kwargs: dict[str, Any],
    *,
    runonce: bool | None = None,
) -> bt.Cerebro:
    """Cerebro with the fast feeds, the simulated broker, the strategy and the one recorder.

    `runonce` (vectorised indicators) follows `config.preload` unless given."""
    runonce = config.preload if runonce is None else runonce
    cerebro = bt.Cerebro(stdstats=False, preload=config.preload, runonce=runonce, maxcpus=1)
    for series in loaded.series:
        cerebro.adddata(ArrayFeed(series=series), name=series.symbol)  # type: ignore[call-arg]
    run_dir = config.runs_dir / str(recorder_kwargs.get("id_prefix", "run"))
    guard = risk_guard(config.risk, run_dir, fresh=True)
    cerebro.broker = build_sim_broker(
        cash=config.cash,
        costs=config.costs,
        fill_at=config.fill_at,
        allow_short=config.allow_short,
        review=OrderReview(risk=guard),
    )
    cerebro.addstrategy(spec.cls, **params)
    if config.fill_at == "close":  # before the recorder: the bar's equity includes its fills
        cerebro.addanalyzer(CloseFills, _name="close_fills")
    cerebro.addanalyzer(Recorder, _name="recorder", **recorder_kwargs)
    cerebro.addanalyzer(Trimmer, _name="trimmer")
    attach_risk(cerebro, guard)
    return cerebro


def _execute(
    config: BacktestConfig,
    spec: StrategySpec,
    params: dict[str, Any],
    loaded: LoadedData,
    recorder_kwargs: dict[str, Any],
    journal: Journal,
) -> int:
    """Run Cerebro (the recorder writes the journal); return the strategy's warm-up in bars.

    Cerebro's lines and indicators are released before returning (Backtrader's objects hold
    reference cycles, hence the explicit collection), so building the artifacts does not add to
    the run's peak memory."""
    try:
        try:
            cerebro = build_cerebro(config, spec, params, loaded, recorder_kwargs)
            strategy = cerebro.run()[0]
        except IndexError:
            if not config.preload:
                raise
            # Backtrader's vectorised indicators index past the end when the window is shorter
            # than their warm-up; the bar-by-bar path handles that and gives the same results.
            journal.discard_run_outputs()
            cerebro = build_cerebro(config, spec, params, loaded, recorder_kwargs, runonce=False)
            strategy = cerebro.run()[0]
    except ParityError:
        raise
    except Exception as exc:  # user strategy code can raise anything; name it, keep the cause
        raise StrategyError(
            f"strategy {spec.name} raised {type(exc).__name__}: {exc} (rerun with --debug)"
        ) from exc
    warmup = int(getattr(strategy, "_minperiod", 1))
    del cerebro, strategy
    gc.collect()
    journal.flush()
    return warmup


def run_backtest(
    config: BacktestConfig,
    *,
    progress: ProgressFactory | None = None,
    run_id: str | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Run one backtest, journal it and write its run directory; bad input raises a
    `ParityError`. A backtest that fails leaves its journal marked `crashed` in a database
    (`PARITY_DB_URL`); a per-run SQLite journal is removed with its run directory, since a
    backtest records nothing that re-running it would not reproduce."""
    check_runs_dir(config.runs_dir)
    if run_id is not None:
        check_run_id(run_id)
    spec = resolve_strategy(config.strategy)
    params = coerce_params(spec.cls, config.params)
    loaded = load_bars(
        config.data,
        config.symbols,
        timeframe=config.timeframe,
        start=config.start,
        end=config.end,
        adjustment=config.adjustment,
    )
    if config.risk is not None:
        config.risk.check_bars(loaded.series[0].timeframe)
    waiting = readiness_warning(spec.cls, loaded)
    if waiting is not None:
        loaded = replace(loaded, warnings=(*loaded.warnings, waiting))
    if on_warning is not None:
        for warning in loaded.warnings:
            on_warning(warning)
    run_id = run_id or new_run_id(spec.name)
    total = max(len(s) for s in loaded.series)
    run_dir = config.runs_dir / run_id
    manifest = _manifest(run_id, config, spec, params, loaded)
    created_dir = not run_dir.exists()
    target = run_journal_target(run_dir)
    journal = Journal.open(target, create=True)
    try:
        journal.start_run(run_id, manifest, mode="backtest", venue="sim", pid=os.getpid())
        daily = loaded.series[0].timeframe.is_daily
        recorder_kwargs: dict[str, Any] = {
            "id_prefix": run_id,
            "journal": OrderJournal(journal, daily=daily),
        }
        if progress is not None:
            recorder_kwargs.update(progress=progress(total), progress_every=max(total // 200, 1000))
        warmup = _execute(config, spec, params, loaded, recorder_kwargs, journal)
        equity = journal.reader.equity(run_id)
        orders = journal.reader.orders(run_id)
        fills = journal.reader.fills(run_id)
        journal.finish_run("finished")
    except BaseException:
        _abandon(journal, run_dir if created_dir and not isinstance(target, str) else None)
        raise
    journal.close()
    if warmup > total and on_warning is not None:
        on_warning(
            f"{spec.name} needs {warmup} bars to warm up but the window has {total}; "
            "it made no decisions (widen --from/--to)"
        )
    trades = round_trips(fills)
    metrics = compute_metrics(equity, trades, fills, starting_cash=config.cash)
    returns = daily_returns(equity["value"], config.cash)
    write_run(run_dir, RunArtifacts(manifest, metrics, equity, returns, trades, orders, fills))
    return BacktestResult(run_id, run_dir, metrics, loaded.warnings, run_summary(loaded))


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
