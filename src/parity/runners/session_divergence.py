"""Divergence during a paper run: at the end of each session the run is compared with its
backtest twin on the bars received so far (the tape), and the figures are journaled; crossing a
verdict threshold is journaled as a warning and reported.

The twin is incremental (`SessionTwin`): one Backtrader run kept alive for the paper run and fed
only the bars received since the last check, so a check costs the session's bars, not the run's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import backtrader as bt
import pandas as pd

from parity.analyzers.divergence import DivergenceMonitor
from parity.config import BacktestConfig
from parity.engine.stepper import SteppedTwin

if TYPE_CHECKING:
    from parity.engine.simulate import RunResult


class SessionEnd(bt.Analyzer):
    """Calls `check(session_date)` when a bar of a new date arrives, and at the end of the run.
    A resumed run's warm-up bars (up to `skip_through`) only tell it the day: their sessions
    were checked before the crash."""

    params = (("check", None), ("skip_through", None))

    def __init__(self) -> None:
        self._day: dt.date | None = None

    def next(self) -> None:
        day = self.strategy.datetime.date(0)
        warm = self.p.skip_through is not None and (
            self.strategy.datetime.datetime(0) <= self.p.skip_through
        )
        if self._day is not None and day != self._day and not warm:
            self.p.check(self._day)
        self._day = day

    def stop(self) -> None:
        if self._day is not None:  # the last check: the run (and so its twin) has ended
            getattr(self.p.check, "final", self.p.check)(self._day)
        close = getattr(self.p.check, "close", None)
        if close is not None:
            close()


class SessionTwin:
    """The twin of one paper run, kept between session closes: each check reads only what the
    journal gained since the last one (equity and tape rows after the last read; orders and
    fills, one row per order, are read whole) and feeds the twin only the new bars."""

    def __init__(self, config: Any, journal: Any, run_id: str, cash: float) -> None:
        self.config = config
        self.journal = journal
        self.run_id = run_id
        self.cash = cash
        self._twin: SteppedTwin | None = None
        self._equity: list[pd.DataFrame] = []
        self._equity_id = 0
        self._tape_id = 0
        self._held: dict[str, pd.DataFrame] = {}  # tape rows of a bucket not yet complete

    def figures(
        self, *, last: bool = False
    ) -> tuple[tuple[pd.DataFrame, ...], tuple[pd.DataFrame, ...]] | None:
        """`(live, twin)`, each `(equity, orders, fills)` so far; None before any bar. `last`:
        the run has ended, so the twin's run ends too (as a backtest on the whole tape)."""
        self.journal.flush()
        reader = self.journal.reader
        last_equity, last_tape = (
            reader.equity_last_id(self.run_id),
            reader.tape_last_id(self.run_id),
        )
        self._equity.append(reader.equity(self.run_id, after_id=self._equity_id))
        self._equity = [pd.concat(self._equity)] if len(self._equity) > 1 else self._equity
        self._equity_id = last_equity
        equity = self._equity[0]
        equity = equity[~equity.index.duplicated(keep="last")]  # a resumed run's overlap
        tape = reader.tape(self.run_id, after_id=self._tape_id)
        self._tape_id = last_tape
        frames = self._complete_bars(tape)
        if not len(equity) or (self._twin is None and not frames):
            return None
        live = (equity, reader.orders(self.run_id), reader.fills(self.run_id))
        twin = self._stepped().advance(frames, last=last)
        return live, (twin.equity, twin.orders, twin.fills)

    def _stepped(self) -> SteppedTwin:
        if self._twin is None:
            from parity.engine.simulate import Simulation
            from parity.strategies.params import coerce_params
            from parity.strategies.registry import resolve_strategy

            config = tape_backtest(self.config, self.cash)
            cls = resolve_strategy(config.strategy).cls
            simulation = Simulation(
                (), cls, coerce_params(cls, config.params), config.costs, config.cash,
                config.fill_at, config.allow_short, config.risk, None,
                names=tuple(self.config.symbols), volume_share=config.volume_share,
                latency_ms=config.latency_ms,
            )  # fmt: skip
            self._twin = SteppedTwin(simulation, tuple(self.config.symbols), self.config.timeframe)
        return self._twin

    def _complete_bars(self, tape: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The new tape rows as bars at the run's timeframe. When the tape is finer than that,
        the newest bucket is held back until a later row shows it complete (the live strategy
        has not seen it yet either)."""
        from parity.feeds.loader import frame_bars
        from parity.feeds.resample import infer_timeframe
        from parity.runners.twins import split_tape

        rows = split_tape(tape) if len(tape) else {}
        out: dict[str, pd.DataFrame] = {}
        for symbol in sorted(set(rows) | set(self._held)):
            parts = [p for p in (self._held.pop(symbol, None), rows.get(symbol)) if p is not None]
            merged = pd.concat(parts).drop_duplicates("datetime", keep="last")
            merged = merged.sort_values("datetime").reset_index(drop=True)
            bars = (
                frame_bars(
                    {symbol: merged},
                    (symbol,),
                    source="tape",
                    timeframe=self.config.timeframe,
                    calendar=self.config.calendar,
                )
                .series[0]
                .frame
            )
            if self.config.timeframe > infer_timeframe(pd.DatetimeIndex(merged["datetime"])):
                last = bars.index[-1]
                self._held[symbol] = merged[merged["datetime"] >= last]
                bars = bars.iloc[:-1]
            if len(bars):
                out[symbol] = bars
        return out

    def close(self) -> None:
        if self._twin is not None:
            self._twin.close()


def session_checker(
    config: Any, *, journal: Any, run_id: str, starting_cash: float, notify: Callable[[str], None]
) -> Callable[[dt.date], None]:
    """The `check` of `SessionEnd` for one paper run (its `close()` ends the twin)."""

    def emit(event: dict[str, Any]) -> None:
        crossed = event.get("event") == "divergence_threshold_crossed"
        journal.event("divergence", event, level="warning" if crossed else "info")
        if crossed:
            notify(
                f"divergence {event.get('status')} after {event.get('session')}: "
                + "; ".join(event.get("reasons") or [])
            )

    monitor = DivergenceMonitor(
        starting_cash=starting_cash, emit=emit, bar_seconds=config.timeframe.seconds
    )
    twin = SessionTwin(config, journal, run_id, starting_cash)

    def check(day: dt.date, last: bool = False) -> None:
        try:
            figures = twin.figures(last=last)
            if figures is not None:
                monitor.on_session_end(day, live=figures[0], twin=figures[1])
        except Exception as exc:  # a check that fails must never stop trading
            notify(f"divergence check after {day} skipped: {type(exc).__name__}: {exc}")

    check.final = lambda day: check(day, last=True)  # type: ignore[attr-defined]
    check.close = twin.close  # type: ignore[attr-defined]
    return check


def tape_backtest(config: Any, cash: float) -> BacktestConfig:
    """The backtest a paper run's twin is (`config`: its `PaperConfig`): the same strategy,
    params, symbols, timeframe, calendar, session, costs, fill model (latency, volume share),
    risk limits and starting `cash`, on the bars as the run received them (raw). `parity run
    backtest` with these options on the tape's bars gives the twin's numbers."""
    return BacktestConfig(
        strategy=config.strategy,
        params=dict(config.params),
        symbols=tuple(config.symbols),
        timeframe=config.timeframe,
        calendar=config.calendar,
        session=config.session,
        cash=cash,
        commission=config.commission,
        slippage=config.slippage,
        latency_ms=config.latency_ms,
        volume_share=config.volume_share,
        adjustment="raw",  # the bars as the paper run received them
        risk=config.risk,
    )


def tape_twin(config: Any, tape: pd.DataFrame, cash: float) -> RunResult:
    """The backtest twin of a paper run (`config`: its `PaperConfig`) on the bars it received
    (its tape), in memory: what the dashboard draws."""
    from parity.engine.simulate import simulate
    from parity.feeds.loader import frame_bars
    from parity.runners.twins import split_tape

    backtest = tape_backtest(config, cash)
    loaded = frame_bars(
        split_tape(tape), backtest.symbols, source="tape", timeframe=backtest.timeframe,
        calendar=backtest.calendar,
    )  # fmt: skip
    return simulate(
        loaded, backtest.strategy, backtest.params, backtest.costs, cash=cash,
        fill_at=backtest.fill_at, allow_short=backtest.allow_short, risk=backtest.risk,
        volume_share=backtest.volume_share, latency_ms=backtest.latency_ms,
    )  # fmt: skip
