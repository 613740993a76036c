"""`SteppedTwin`: a backtest twin that keeps its state between calls and is fed only new bars.

A paper run's session-end divergence check compares the run with its twin on the bars received so
far. Re-running the twin from the first bar at every session close costs the square of the run's
length; this twin is one Backtrader run, alive for the whole paper run on its own thread, whose
feeds block until bars are pushed. `advance(frames)` pushes the new bars, waits until the twin has
decided on every bar it can (Backtrader needs each feed's next bar before it moves on) and returns
what `simulate` on the same bars would return so far (orders decided on the last bar are recorded
as the end of a backtest records them). Bar by bar (preload and runonce off) is the path every
strategy must already follow identically (the preload equivalence suite).
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from parity.analyzers.recorder import Recorder
from parity.engine.simulate import Recording, Simulation, _equity, _fills, _orders
from parity.feeds.arrayfeed import US_REGULAR_SESSION_END, datetime_numbers
from parity.feeds.bars import BarSeries
from parity.feeds.currency import is_us_listing
from parity.timeframe import Timeframe


class _Gate:
    """One condition shared by the twin's feeds and the caller: `pushed` counts pushes,
    `idle` is the push count a feed last found nothing to load at (the twin is waiting)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.pushed = 0
        self.idle = -1
        self.closed = False


class QueueFeed(bt.feed.DataBase):
    """A live feed of one symbol whose `_load` waits for bars pushed with `push`."""

    params = (("gate", None), ("timeframe_of", None), ("symbol", ""))

    def __init__(self) -> None:
        self._bars: deque[tuple[float, ...]] = deque()
        timeframe: Timeframe = self.p.timeframe_of
        if timeframe.is_daily:
            self.p.timeframe, self.p.compression = bt.TimeFrame.Days, 1
        else:
            self.p.timeframe = bt.TimeFrame.Minutes
            self.p.compression = max(1, timeframe.seconds // 60)
            if is_us_listing(self.p.symbol):
                self.p.sessionend = US_REGULAR_SESSION_END

    def islive(self) -> bool:
        return True  # Cerebro then runs bar by bar (no preload, no runonce)

    def push(self, rows: list[tuple[float, ...]]) -> None:
        """Queue bars (called with the gate's lock held)."""
        self._bars.extend(rows)

    def _load(self) -> bool:
        gate: _Gate = self.p.gate
        with gate.cond:
            while not self._bars:
                if gate.closed:
                    return False
                gate.idle = gate.pushed
                gate.cond.notify_all()
                gate.cond.wait()
            stamp, open_, high, low, close, volume = self._bars.popleft()
        lines = self.lines
        lines.datetime[0] = stamp
        lines.open[0] = open_
        lines.high[0] = high
        lines.low[0] = low
        lines.close[0] = close
        lines.volume[0] = volume
        lines.openinterest[0] = 0.0
        return True


@dataclass(frozen=True)
class Snapshot:
    """The twin so far: equity (`value, cash`), orders and fills, as `RunResult` holds them."""

    equity: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame


class SteppedTwin:
    """The twin of one run (`simulation`: its strategy, params, costs, cash, risk) over
    `symbols` at `timeframe`. Call `advance` with each symbol's new bars; `close()` at the end."""

    def __init__(
        self, simulation: Simulation, symbols: tuple[str, ...], timeframe: Timeframe
    ) -> None:
        self._gate = _Gate()
        self._timeframe = timeframe
        self._daily = timeframe.is_daily
        self._symbols = symbols
        self._simulation = simulation
        self._feeds: dict[str, QueueFeed] = {}
        self._cerebro: Any = None
        self._error: BaseException | None = None
        self._done = False
        self._thread: threading.Thread | None = None
        self._last: dict[str, pd.Timestamp] = {}  # newest bar pushed, per symbol

    def _start(self) -> None:
        # built on the twin's own thread: Backtrader finds the owner of a new indicator or
        # analyzer by walking the call stack, which must not be the live run's
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="parity-twin", daemon=True
        )
        self._thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        try:
            self._cerebro = self._simulation.cerebro(
                Recording(id_prefix="run"), preload=False, runonce=False, feeds=self._make_feeds()
            )
            ready.set()
            self._cerebro.run()
        except BaseException as exc:  # handed to the caller's thread by `advance`
            self._error = exc
        finally:
            ready.set()
            with self._gate.cond:
                self._done = True
                self._gate.cond.notify_all()

    def _make_feeds(self) -> list[bt.feed.DataBase]:
        for symbol in self._symbols:
            feed = QueueFeed(gate=self._gate, timeframe_of=self._timeframe, symbol=symbol)  # type: ignore[call-arg]
            self._feeds[symbol] = feed
        return [self._feeds[s] for s in self._symbols]

    def advance(self, frames: Mapping[str, pd.DataFrame], *, last: bool = False) -> Snapshot:
        """Push the bars of `frames` ({symbol: bars on a datetime index}) newer than those
        already pushed, wait until the twin has decided on them, return the twin so far.
        `last`: no bar will follow; the twin's run ends as a backtest's does."""
        if self._thread is None:
            self._start()
        gate = self._gate
        with gate.cond:
            for symbol, frame in frames.items():
                newest = self._last.get(symbol)
                new = frame if newest is None else frame[frame.index > newest]
                if symbol not in self._feeds or not len(new):
                    continue
                series = BarSeries(symbol, new, self._timeframe, "tape")
                rows = np.column_stack(
                    [datetime_numbers(series), *(new[c].to_numpy(float) for c in _OHLCV)]
                )
                self._feeds[symbol].push([tuple(r) for r in rows.tolist()])
                self._last[symbol] = new.index[-1]
            gate.pushed += 1
            gate.closed = gate.closed or last
            gate.cond.notify_all()
            gate.cond.wait_for(lambda: self._done or (gate.idle == gate.pushed and not last))
            if self._error is not None:
                raise self._error
            return self._snapshot(ended=self._done)

    def close(self) -> None:
        """End the twin's run (its thread finishes)."""
        with self._gate.cond:
            self._gate.closed = True
            self._gate.cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _snapshot(self, *, ended: bool) -> Snapshot:
        """Called while the twin waits for bars (nothing of it moves) or once it `ended`: its
        recorder's state, plus (while it waits) the orders decided on the last bar as a
        backtest's end records them, on a copy."""
        recorder: Recorder = self._recorder()
        view = recorder
        if not ended:
            view = copy.copy(recorder)
            view.orders = copy.deepcopy(recorder.orders)
            view.fills = list(recorder.fills)
            for order in list(getattr(recorder.strategy.broker, "notifs", ())):
                view.notify_order(order)
        times = np.frombuffer(recorder.bar_times).copy()
        equity = pd.DataFrame(
            {
                "value": np.frombuffer(recorder.values).copy(),
                "cash": np.frombuffer(recorder.cash).copy(),
            },
            index=pd.DatetimeIndex(_timestamps(times, self._daily), name="datetime"),
        )
        orders, fills = view.orders_frame(self._daily), view.fills_frame(self._daily)
        return Snapshot(_equity(equity), _orders(orders), _fills(fills))

    def _recorder(self) -> Recorder:
        strategies = getattr(self._cerebro, "runningstrats", None) or ()
        if not strategies:
            raise RuntimeError("the twin has not started")
        return strategies[0].analyzers.recorder  # type: ignore[no-any-return]


_OHLCV = ("open", "high", "low", "close", "volume")


def _timestamps(values: np.ndarray, daily: bool) -> pd.DatetimeIndex:
    from parity.analyzers.recorder import num2timestamps

    return num2timestamps(values, daily)
