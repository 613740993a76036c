"""`simulate`: one backtest in memory (no disk, no journal) → `RunResult`.

It is the one way parity runs a backtest: `parity run backtest` is `simulate` plus persistence
(it hands in an `OrderJournal` and writes the artifacts from the result), and `parity compare`'s
twins, the per-session divergence check and the dashboard's twin call it on the bars a paper run
received. The frames are exactly what the run artifacts hold (`equity.csv`, `orders.csv`,
`fills.csv`, `trades.csv`), and `metrics` is `metrics.json`.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import backtrader as bt
import pandas as pd

from parity.analyzers.ledger import round_trips
from parity.analyzers.metrics import compute_metrics, daily_returns
from parity.analyzers.reasons import ambiguous_exits, annotate_trades
from parity.analyzers.recorder import Recorder
from parity.analyzers.trim import Trimmer
from parity.brokers.core import OrderReview
from parity.brokers.sim import CloseFills, build_sim_broker
from parity.config import DEFAULT_CASH, DEFAULT_COMMISSION, DEFAULT_SLIPPAGE
from parity.costs import CostModel, cost_model
from parity.engine.ambiguity import PLACED_FIRST, FinerBars, Rule, check_rule
from parity.errors import ConfigError, ParityError, StrategyError
from parity.feeds.arrayfeed import ArrayFeed
from parity.feeds.bars import BarSeries
from parity.feeds.loader import LoadedData, run_calendar
from parity.instruments import Instrument, bind_instrument, instrument_for
from parity.journal.hook import OrderJournal
from parity.journal.reader import integral
from parity.options.close import OptionsClose
from parity.options.setup import OptionsResult, OptionsSetup
from parity.risk.guard import RiskGuard
from parity.risk.limits import RiskLimits
from parity.risk.monitor import attach_risk
from parity.risk.state import MemoryRiskStateStore, RiskStateStore
from parity.strategies.params import coerce_params
from parity.strategies.registry import resolve_strategy

Bars = LoadedData | BarSeries | Sequence[BarSeries]
"""What `simulate` runs on: `load_bars(...)`'s result, one `BarSeries` or several."""


@dataclass(frozen=True, kw_only=True)
class Recording:
    """How the run is recorded beyond memory (`parity run backtest` sets these).

    `id_prefix` starts every client order id (`PREFIX-000001`); `journal` receives every order,
    fill and equity batch as the run goes; `progress(bars_done)` is called every
    `progress_every` bars."""

    id_prefix: str = "run"
    journal: OrderJournal | None = None
    progress: Callable[[int], None] | None = None
    progress_every: int = 0


@dataclass(frozen=True)
class RunResult:
    """One simulated run: the frames of its artifacts and its metrics.

    `equity` has `value, cash` per bar on a `datetime` index; `orders`, `fills` and `trades` are
    the `orders.csv`, `fills.csv` and `trades.csv` rows; `metrics` the `metrics.json` figures;
    `warmup` the strategy's warm-up in bars; `warnings` what the data and the run warn about."""

    equity: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame
    trades: pd.DataFrame
    metrics: dict[str, Any]
    cash: float
    warmup: int
    warnings: tuple[str, ...] = field(default=())
    options: OptionsResult | None = None  # a run with an options desk: its artifacts

    @property
    def returns(self) -> pd.Series:
        """Daily returns of the equity curve (`returns.csv`)."""
        return daily_returns(self.equity["value"], self.cash)

    @property
    def total_return(self) -> float | None:
        value = self.metrics.get("total_return")
        return None if value is None else float(value)


def simulate(
    bars: Bars,
    strategy: type[bt.Strategy] | str,
    params: Mapping[str, Any] | None = None,
    costs: CostModel | None = None,
    *,
    cash: float = DEFAULT_CASH,
    fill_at: Literal["open", "close"] = "open",
    allow_short: bool = False,
    preload: bool = True,
    risk: RiskLimits | None = None,
    risk_store: RiskStateStore | None = None,
    recording: Recording | None = None,
    volume_share: float = 1.0,
    latency_ms: int = 0,
    instruments: Mapping[str, Instrument] | None = None,
    options: OptionsSetup | None = None,
    ambiguous: Rule | None = None,
    finer: FinerBars | None = None,
) -> RunResult:
    """Backtest `strategy` (a `backtrader.Strategy` class, or a name `parity strategies` lists)
    with `params` on `bars`, in memory. `costs` defaults to the backtest's default costs
    (`--commission 0 --slippage 5bps`); `preload=False` runs Backtrader bar by bar (as a live
    run does), with identical results; `volume_share` and `latency_ms` are the fill model's
    partial fills and latency (`--volume-share`, `--latency`). Each symbol trades as the
    `Instrument` it names (`instrument_for`) unless `instruments` gives its own: commission, cash
    and P&L use its multiplier. `options` is the options desk's setup (a strategy with
    `trades_options` gets the default one without it). `ambiguous` decides a bar reaching both
    exits of a bracket (`parity.engine.ambiguity`; `finer-data` reads `finer`). Bad input raises
    a `ParityError`."""
    series = _series(bars)
    cls = resolve_strategy(strategy).cls if isinstance(strategy, str) else strategy
    if not (isinstance(cls, type) and issubclass(cls, bt.Strategy)):
        raise ConfigError(
            f"strategy {strategy!r} is not a backtrader.Strategy subclass; pass a class or a "
            "name from `parity strategies`"
        )
    values = coerce_params(cls, params or {})
    costs = costs if costs is not None else cost_model(DEFAULT_COMMISSION, DEFAULT_SLIPPAGE)
    run = Simulation(
        series, cls, values, costs, cash, fill_at, allow_short, risk, risk_store,
        volume_share=volume_share, latency_ms=latency_ms, instruments=dict(instruments or {}),
        options=options, ambiguous=check_rule(ambiguous), finer=finer,
    )  # fmt: skip
    recording = recording or Recording()
    try:
        try:
            strat = run.cerebro(recording, preload=preload, runonce=preload).run()[0]
        except IndexError:
            if not preload:
                raise
            # Backtrader's vectorised indicators index past the end when the window is shorter
            # than their warm-up; the bar-by-bar path handles that and gives the same results.
            if recording.journal is not None:
                recording.journal.journal.discard_run_outputs()
            strat = run.cerebro(recording, preload=True, runonce=False).run()[0]
    except ParityError:
        raise
    except Exception as exc:  # user strategy code can raise anything; name it, keep the cause
        raise StrategyError(
            f"strategy {cls.__name__} raised {type(exc).__name__}: {exc} (rerun with --debug)"
        ) from exc
    warmup = int(getattr(strat, "_minperiod", 1))
    recorder: Recorder = strat.analyzers.recorder
    desk = getattr(strat.broker, "options", None)
    option_result = OptionsResult.of(desk) if desk is not None else None
    daily = series[0].timeframe.is_daily
    equity = _equity(recorder.equity_frame(daily))
    orders, fills = _orders(recorder.orders_frame(daily)), _fills(recorder.fills_frame(daily))
    # Backtrader's lines and indicators hold reference cycles: release them before the metrics
    # so the result does not add to the run's peak memory
    multipliers = {symbol: run.instrument(symbol).multiplier for symbol in run.symbols}
    if recorder.options is not None:  # option contracts trade at their own multiplier
        multipliers.update(recorder.options.multipliers)
    decisions, rule = recorder.decisions, run.ambiguous or PLACED_FIRST
    del strat, recorder, run, desk
    gc.collect()
    trades = annotate_trades(round_trips(fills, multipliers), fills, decisions, rule=rule)
    # 252 sessions a year on an exchange, 365 days on a 24/7 calendar (the bars' calendar)
    calendar = (
        bars.calendar if isinstance(bars, LoadedData) else run_calendar([s.symbol for s in series])
    )
    metrics = compute_metrics(
        equity, trades, fills, starting_cash=cash, periods=calendar.annualisation.periods
    )
    notes = list(bars.warnings) if isinstance(bars, LoadedData) else []
    if warmup > len(equity):
        notes.append(
            f"{cls.__name__} needs {warmup} bars to warm up but the window has {len(equity)}; "
            "it made no decisions"
        )
    decided = ambiguous_exits(decisions)
    if decided is not None:  # exits at a take-profit/stop-loss: how many the rule decided
        metrics.update(ambiguous_exits=decided, ambiguity_rule=rule)
    if option_result is not None:
        metrics["options"] = option_result.metrics
    return RunResult(
        equity, orders, fills, trades, metrics, cash, warmup, tuple(notes), option_result
    )


def _series(bars: Bars) -> tuple[BarSeries, ...]:
    if isinstance(bars, LoadedData):
        found: tuple[Any, ...] = bars.series
    elif isinstance(bars, BarSeries):
        found = (bars,)
    else:
        found = tuple(bars)
    if not found or not all(isinstance(s, BarSeries) for s in found):
        raise ConfigError(
            "bars must be load_bars(...)'s result or BarSeries, e.g. "
            "simulate(load_bars('sample', ['AAPL']), 'sma_cross')"
        )
    return found


def _equity(frame: pd.DataFrame) -> pd.DataFrame:
    """Equity as the journal exports it (a nanosecond `datetime` index)."""
    frame.index = pd.DatetimeIndex(frame.index, name="datetime").as_unit("ns")
    return frame


def _orders(frame: pd.DataFrame) -> pd.DataFrame:
    """Orders as the journal exports them: whole share counts as ints, nanosecond times."""
    if len(frame):
        frame["qty"] = integral(frame["qty"].tolist())
        frame["submitted_at"] = pd.DatetimeIndex(frame["submitted_at"]).as_unit("ns")
    return frame


def _fills(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame):
        frame["qty"] = integral(frame["qty"].tolist())
        frame["datetime"] = pd.DatetimeIndex(frame["datetime"]).as_unit("ns")
    return frame


@dataclass(frozen=True)
class Simulation:
    """Everything that builds one Cerebro (built twice when the vectorised path gives up).
    `simulate` is the way to run one; this is for tools that need the Cerebro itself."""

    series: tuple[BarSeries, ...]  # (empty when the feeds are handed to `cerebro`)
    cls: type[bt.Strategy]
    params: dict[str, Any]
    costs: CostModel
    cash: float
    fill_at: Literal["open", "close"]
    allow_short: bool
    risk: RiskLimits | None
    risk_store: RiskStateStore | None
    names: tuple[str, ...] = ()  # the symbols of handed-over feeds
    volume_share: float = 1.0  # the fill model's partial fills (`FillModel`)
    latency_ms: int = 0
    instruments: Mapping[str, Instrument] = field(default_factory=dict)  # else instrument_for
    options: OptionsSetup | None = None  # the options desk (default for a strategy trading them)
    ambiguous: Rule | None = None  # a bar reaching both exits of a pair (`engine.ambiguity`)
    finer: FinerBars | None = None  # finer bars for `ambiguous="finer-data"`

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.names or tuple(s.symbol for s in self.series)

    def instrument(self, symbol: str) -> Instrument:
        """What `symbol` trades as: the one given, else the one it names."""
        return self.instruments.get(symbol) or instrument_for(symbol)

    def cerebro(
        self,
        recording: Recording,
        *,
        preload: bool,
        runonce: bool,
        feeds: Sequence[bt.feed.DataBase] | None = None,
    ) -> bt.Cerebro:
        """Cerebro with the fast feeds (or `feeds`, one per symbol of `series`, in order), the
        simulated broker, the strategy and the recorder."""
        cerebro = bt.Cerebro(stdstats=False, preload=preload, runonce=runonce, maxcpus=1)
        if feeds is None:
            feeds = [ArrayFeed(series=series) for series in self.series]  # type: ignore[call-arg]
        for name, feed in zip(self.symbols, feeds, strict=True):
            cerebro.adddata(bind_instrument(feed, name, self.instrument(name)), name=name)
        guard = None
        if self.risk is not None and self.risk.active:  # a fresh guard: starts empty
            store = self.risk_store or MemoryRiskStateStore()
            guard = RiskGuard(self.risk, store, fresh=True, watch=False)
        setup = self.options
        if setup is None and getattr(self.cls, "trades_options", False):
            setup = OptionsSetup.for_strategy(self.cls)
        desk = None
        if setup is not None:
            first = self.series[0] if self.series else None
            symbols = self.symbols
            desk = setup.build(
                symbols,
                run_calendar(list(symbols)),
                fill_at=self.fill_at,
                daily=first.timeframe.is_daily if first is not None else True,
                bar_period=dt.timedelta(seconds=first.timeframe.seconds if first else 86400),
            )
        cerebro.broker = build_sim_broker(
            cash=self.cash,
            costs=self.costs,
            fill_at=self.fill_at,
            allow_short=self.allow_short,
            volume_share=self.volume_share,
            latency_ms=self.latency_ms,
            review=OrderReview(risk=guard),
            options=desk,
            ambiguous=self.ambiguous,
            finer=self.finer,
        )
        cerebro.addstrategy(self.cls, **self.params)
        if self.fill_at == "close":  # before the recorder: the bar's equity includes its fills
            cerebro.addanalyzer(CloseFills, _name="close_fills")
        if setup is not None:  # the options desk's end of bar, also before the recorder
            cerebro.addanalyzer(OptionsClose, _name="options_close")
        cerebro.addanalyzer(
            Recorder,
            _name="recorder",
            id_prefix=recording.id_prefix,
            journal=recording.journal,
            progress=recording.progress,
            progress_every=recording.progress_every,
        )
        cerebro.addanalyzer(Trimmer, _name="trimmer")
        attach_risk(cerebro, guard)
        return cerebro
