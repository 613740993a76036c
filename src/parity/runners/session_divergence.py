"""Divergence during a paper run: at the end of each session the run is compared with its
backtest twin on the bars received so far (the tape), and the figures are journaled; crossing a
verdict threshold is journaled as a warning and reported."""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from parity.analyzers.divergence import DivergenceMonitor
from parity.config import BacktestConfig


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
        if self._day is not None:
            self.p.check(self._day)


def session_checker(
    config: Any, *, journal: Any, run_id: str, starting_cash: float, notify: Callable[[str], None]
) -> Callable[[dt.date], None]:
    """The `check` of `SessionEnd` for one paper run."""

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

    def check(day: dt.date) -> None:
        try:
            journal.flush()
            reader = journal.reader
            equity = reader.equity(run_id)
            equity = equity[~equity.index.duplicated(keep="last")]  # a resumed run's overlap
            live = (equity, reader.orders(run_id), reader.fills(run_id))
            tape = reader.tape(run_id)
            if not len(live[0]) or not len(tape):
                return
            with tempfile.TemporaryDirectory(prefix="parity-twin-") as tmp:
                twin = _in_own_thread(lambda: _tape_twin(config, tape, Path(tmp), starting_cash))
                monitor.on_session_end(day, live=live, twin=twin)
        except Exception as exc:  # a check that fails must never stop trading
            notify(f"divergence check after {day} skipped: {type(exc).__name__}: {exc}")

    return check


def _in_own_thread(work: Callable[[], Any]) -> Any:
    """Run `work` on a fresh thread: Backtrader finds the owner of a new indicator or analyzer
    by walking the call stack, so a backtest must not be built inside the live run's stack."""
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # handed back to the caller's thread
            out["error"] = exc

    thread = threading.Thread(target=target, name="parity-twin")
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _tape_twin(
    config: Any, tape: pd.DataFrame, tmp: Path, cash: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from parity.runners.backtest import run_backtest

    data = tmp / "bars"
    data.mkdir()
    columns = ["datetime", "open", "high", "low", "close", "volume"]
    for symbol, bars in tape.groupby("symbol"):
        bars = bars.drop_duplicates("datetime").sort_values("datetime")
        bars[columns].to_csv(data / f"{symbol}.csv", index=False)
    result = run_backtest(
        BacktestConfig(
            strategy=config.strategy,
            params=dict(config.params),
            data=str(data),
            symbols=tuple(config.symbols),
            timeframe=config.timeframe,
            cash=cash,
            commission=config.commission,
            slippage=config.slippage,
            adjustment="raw",  # the bars as the paper run received them
            risk=config.risk,
            runs_dir=tmp / "runs",
        )
    )
    run = result.run_dir
    equity = pd.read_csv(run / "equity.csv", index_col="datetime", parse_dates=["datetime"])
    orders = pd.read_csv(run / "orders.csv", parse_dates=["submitted_at"])
    fills = pd.read_csv(run / "fills.csv", parse_dates=["datetime"])
    return equity, orders, fills
