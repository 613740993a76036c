"""`run_paper`: the same strategy class and params as a backtest, on live bars and a live broker.

Composition only: which store (Alpaca's paper API, or the local venue started in-process), which
broker (`AlpacaBroker`; the simulated broker for `--dry-run`), the live feeds, the recorder. The
strategy never learns which. Artifacts are a backtest's plus `tape.csv` (every bar received, with
its arrival time).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import backtrader as bt
import pandas as pd

from parity.analyzers.ledger import round_trips
from parity.analyzers.metrics import compute_metrics, daily_returns
from parity.analyzers.recorder import Recorder
from parity.analyzers.trim import Trimmer
from parity.brokers.sim import ParityCommission, build_sim_broker
from parity.costs import CostModel, cost_model
from parity.errors import BrokerError, ConfigError, ParityError, StrategyError
from parity.feeds.live import AlpacaLiveFeed
from parity.runstore import RunArtifacts, new_run_id, write_run
from parity.stores.alpaca import AlpacaCredentials, AlpacaEndpoints, AlpacaStore
from parity.stores.types import StreamBar
from parity.strategies.params import coerce_params, resolved_params
from parity.strategies.registry import resolve_strategy
from parity.timeframe import MINUTE, Timeframe
from parity.versions import library_versions

Notify = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class PaperConfig:
    """A paper run. Costs, latency and volume share set the local venue's fill model."""

    strategy: str = "sma_cross"
    params: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    timeframe: Timeframe = MINUTE
    venue: Literal["alpaca", "local"] = "alpaca"
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
    existing: Literal["refuse", "adopt", "flatten"] = "refuse"
    flatten_on_exit: bool = False
    dry_run: bool = False
    runs_dir: Path = Path("runs")
    faults: Any = None  # a venue FaultPlan (local venue only): injected errors for rehearsals

    @property
    def costs(self) -> CostModel:
        return cost_model(self.commission, self.slippage)


@dataclass(frozen=True)
class PaperResult:
    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    stopped_by: str


class Tape:
    """Every bar received, in arrival order, with its arrival time."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, bar: StreamBar) -> None:
        with self._lock:
            self.rows.append(
                {
                    "symbol": bar.symbol,
                    "datetime": bar.start,
                    "open": bar.open,
                    "high": bar.high,
                    "low": bar.low,
                    "close": bar.close,
                    "volume": bar.volume,
                    "source": bar.source,
                    "received_at": dt.datetime.fromtimestamp(
                        bar.received_at or time.time(), dt.UTC
                    ),
                }
            )

    def frame(self) -> pd.DataFrame:
        columns = [
            "symbol",
            "datetime",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "source",
            "received_at",
        ]
        return pd.DataFrame(self.rows, columns=columns)


@dataclass
class _Session:
    """What one paper run wires together (the venue only for --venue local)."""

    store: AlpacaStore
    is_finished: Callable[[], bool]
    on_consumed: Callable[[dt.datetime], Any]
    venue: Any = None
    warnings: list[str] = field(default_factory=list)


def _local_session(config: PaperConfig, notify: Notify) -> _Session:
    from parity.feeds.loader import load_bars
    from parity.venue.config import VenueConfig
    from parity.venue.server import VenueServer

    loaded = load_bars(config.data, config.symbols, start=config.start, end=config.end)
    venue = VenueServer(
        VenueConfig(
            data=loaded,
            speed=config.speed,
            costs=config.costs,
            latency_ms=config.latency_ms,
            volume_share=config.volume_share,
            cash=config.cash or 100_000.0,
            **({"faults": config.faults} if config.faults is not None else {}),
        )
    )
    venue.start()
    notify(
        f"local venue on {venue.base_url} replaying {config.data} "
        f"({sum(len(s) for s in loaded.series)} bars)"
    )
    store = AlpacaStore(
        AlpacaCredentials("parity-local", "parity-local"),
        AlpacaEndpoints(
            trading_url=venue.base_url,
            data_url=venue.base_url,
            trading_stream_url=venue.trading_stream_url,
            data_stream_url=venue.data_stream_url,
        ),
        retry_wait=0.05,
        reconnect_backoff=0.2,
    )
    finished = [False]

    def is_finished() -> bool:
        finished[0] = finished[0] or bool((store.venue_status() or {}).get("finished"))
        return finished[0]

    return _Session(store, is_finished, store.venue_ack, venue, list(loaded.warnings))


def new_york_now() -> dt.datetime:
    """Naive America/New_York wall-clock time (the convention of `--until` and bar labels)."""
    return dt.datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)


def _alpaca_session(config: PaperConfig) -> _Session:
    store = AlpacaStore(AlpacaCredentials.from_env(), AlpacaEndpoints.from_env())
    until = config.until

    def is_finished() -> bool:
        return until is not None and new_york_now() >= until

    return _Session(store, is_finished, lambda _t: None)


def _session(config: PaperConfig, notify: Notify) -> _Session:
    return _local_session(config, notify) if config.venue == "local" else _alpaca_session(config)


def validate_paper(config: PaperConfig, notify: Notify) -> dict[str, Any]:
    """Keys, account status, buying power, clock and every symbol, without trading."""
    session = _session(config, notify)
    try:
        return _check_account(session.store, config, notify)
    finally:
        session.store.stop(join=False)
        if session.venue is not None:
            session.venue.stop()
        session.store.join()


def _check_account(store: AlpacaStore, config: PaperConfig, notify: Notify) -> dict[str, Any]:
    account = store.account()
    clock = store.clock()
    notify(
        f"account {account.status}: cash {account.cash:,.2f}, buying power "
        f"{account.buying_power:,.2f} {account.currency}"
    )
    notify(
        f"clock {clock.timestamp:%Y-%m-%d %H:%M} New York, market "
        f"{'open' if clock.is_open else 'closed'}"
        + (f", next open {clock.next_open:%Y-%m-%d %H:%M}" if clock.next_open else "")
    )
    if account.blocked or account.status.upper() not in ("ACTIVE", "PAPER_ONLY"):
        raise BrokerError(
            f"account status is {account.status} (blocked={account.blocked}); it cannot trade"
        )
    assets = {}
    for symbol in config.symbols:
        asset = store.asset(symbol)
        if asset is None:
            raise ConfigError(f"symbol {symbol} is unknown to the venue; check --symbols")
        if not asset.tradable:
            raise ConfigError(f"symbol {symbol} is not tradable ({asset.status}); remove it")
        notify(
            f"symbol {symbol}: {asset.exchange}, tradable, "
            f"{'shortable' if asset.shortable else 'not shortable'}"
        )
        assets[symbol] = asset.__dict__
    if config.cash and config.cash > account.buying_power:
        raise BrokerError(
            f"--cash {config.cash:,.2f} exceeds buying power "
            f"{account.buying_power:,.2f}; lower --cash"
        )
    return {"account": account.__dict__, "clock": clock.__dict__, "assets": assets}


def _positions_policy(store: AlpacaStore, broker: Any, config: PaperConfig, notify: Notify) -> None:
    held = store.positions()
    ours = {s: p for s, p in held.items() if s in config.symbols and p.qty}
    for symbol, position in held.items():
        if symbol not in ours:
            notify(f"account also holds {position.qty:g} {symbol}: not this run's, left alone")
    if not ours:
        return
    listing = ", ".join(f"{p.qty:g} {s}" for s, p in ours.items())
    if config.existing == "refuse":
        raise BrokerError(
            f"the account already holds {listing}; pass --existing adopt (the "
            "strategy starts with them) or --existing flatten (close them first)"
        )
    if config.existing == "adopt":
        notify(f"adopting existing positions: {listing}")
        broker.adopt(ours)
        return
    notify(f"flattening existing positions: {listing}")
    for symbol in ours:
        store.close_position(symbol)


@contextlib.contextmanager
def _stop_on_signals(cerebro: bt.Cerebro, reason: list[str]) -> Iterator[None]:
    """Ctrl+C / SIGTERM stop the run gracefully (orders cancelled, artifacts written)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        reason[0] = signal.Signals(signum).name
        cerebro.runstop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_paper(
    config: PaperConfig,
    *,
    notify: Notify = lambda _m: None,
    stop: threading.Event | None = None,
) -> PaperResult:
    """Run until the replay ends (local venue), `until`, a stop signal or `stop` is set."""
    if not config.symbols:
        raise ConfigError("paper trading needs --symbols, e.g. --symbols AAPL")
    spec = resolve_strategy(config.strategy)
    params = coerce_params(spec.cls, config.params)
    session = _session(config, notify)
    store = session.store
    run_id = new_run_id(spec.name)
    stopped_by = ["end of data"]
    try:
        _check_account(store, config, notify)
        tape = Tape()
        cerebro = bt.Cerebro(stdstats=False, preload=False, runonce=False, maxcpus=1)
        if config.dry_run:
            broker: Any = build_sim_broker(
                cash=config.cash or store.account().cash, costs=config.costs
            )
        else:
            broker = store.getbroker(cash=config.cash, id_prefix=run_id)
            broker.addcommissioninfo(
                ParityCommission(
                    per_share=config.costs.commission_per_share,
                    pct=config.costs.commission_pct,
                    minimum=config.costs.commission_min,
                )
            )
            _positions_policy(store, broker, config, notify)
        cerebro.broker = broker
        for symbol in config.symbols:
            feed = AlpacaLiveFeed(  # type: ignore[call-arg]
                symbol=symbol,
                store=store,
                bar_timeframe=config.timeframe,
                backfill=config.backfill,
                on_consumed=session.on_consumed,
                is_finished=_finished(session, stop),
                on_bar=tape.add,
            )
            cerebro.adddata(feed, name=symbol)
        cerebro.addstrategy(spec.cls, **params)
        cerebro.addanalyzer(Recorder, _name="recorder", id_prefix=run_id)
        cerebro.addanalyzer(Trimmer, _name="trimmer")
        store.start_streams_for(config.symbols, trading=not config.dry_run)
        notify(
            f"run {run_id}: {spec.name} on {','.join(config.symbols)} {config.timeframe}, "
            f"{'dry run (no orders sent)' if config.dry_run else 'orders to ' + config.venue}"
        )
        with _stop_on_signals(cerebro, stopped_by):
            try:
                strategy = cerebro.run()[0]
            except ParityError:
                raise
            except Exception as exc:
                raise StrategyError(
                    f"strategy {spec.name} raised {type(exc).__name__}: {exc} (rerun with --debug)"
                ) from exc
        if stop is not None and stop.is_set():
            stopped_by[0] = "stop requested"
        if not config.dry_run:
            cancelled = broker.cancel_all()
            if cancelled:
                notify(f"cancelled {cancelled} open order(s)")
            if config.flatten_on_exit:
                for symbol in config.symbols:
                    store.close_position(symbol)
                notify("flatten on exit: closing positions")
        result = _write(config, spec, params, run_id, strategy, tape, session, stopped_by[0])
        return result
    finally:
        store.stop(join=False)  # the venue closing its sockets lets the streams end at once
        if session.venue is not None:
            session.venue.stop()
        store.join()


def _finished(session: _Session, stop: threading.Event | None) -> Callable[[], bool]:
    def finished() -> bool:
        return (stop is not None and stop.is_set()) or session.is_finished()

    return finished


def _write(
    config: PaperConfig,
    spec: Any,
    params: dict[str, Any],
    run_id: str,
    strategy: Any,
    tape: Tape,
    session: _Session,
    stopped_by: str,
) -> PaperResult:
    recorder: Recorder = strategy.analyzers.recorder
    daily = config.timeframe.is_daily
    equity = recorder.equity_frame(daily)
    fills = recorder.fills_frame(daily)
    orders = recorder.orders_frame(daily)
    trades = round_trips(fills)
    cash = float(strategy.broker.startingcash)
    metrics = compute_metrics(equity, trades, fills, starting_cash=cash)
    returns = daily_returns(equity["value"], cash) if len(equity) else pd.Series(dtype=float)
    tape_frame = tape.frame()
    manifest = {
        "run_id": run_id,
        "mode": "paper",
        "venue": "local" if config.venue == "local" else "alpaca-paper",
        "dry_run": config.dry_run,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "strategy": {
            "name": spec.name,
            "class": f"{spec.cls.__module__}.{spec.cls.__qualname__}",
            "source_path": spec.source_path,
            "source_sha256": spec.source_sha256,
        },
        "params": resolved_params(spec.cls, params),
        "symbols": list(config.symbols),
        "timeframe": config.timeframe.name,
        "data": {
            "source": config.data if config.venue == "local" else "alpaca",
            "bars_received": len(tape_frame),
        },
        "costs": config.costs.describe(),
        "commission": config.commission,
        "slippage": config.slippage,
        "latency_ms": config.latency_ms,
        "volume_share": config.volume_share,
        "speed": "max" if config.speed is None else config.speed,
        "fill_at": "open",
        "cash": cash,
        "start": equity.index[0].isoformat() if len(equity) else None,
        "end": equity.index[-1].isoformat() if len(equity) else None,
        "stopped_by": stopped_by,
        "warnings": session.warnings,
        "versions": library_versions(),
    }
    run_dir = config.runs_dir / run_id
    write_run(run_dir, RunArtifacts(manifest, metrics, equity, returns, trades, orders, fills))
    tape_frame.to_csv(run_dir / "tape.csv", index=False)
    return PaperResult(run_id, run_dir, metrics, stopped_by)
