"""What a paper run leaves behind: a backtest's artifacts plus the tape of bars received."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pandas as pd

from parity.analyzers.ledger import round_trips
from parity.analyzers.metrics import compute_metrics, daily_returns
from parity.analyzers.recorder import Recorder
from parity.runstore import RunArtifacts, write_run
from parity.stores.types import StreamBar
from parity.strategies.params import resolved_params
from parity.versions import library_versions

TAPE_COLUMNS = [
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


class Tape:
    """Every bar received, in arrival order, with its source and arrival time (thread-safe)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, bar: StreamBar) -> None:
        row = {
            "symbol": bar.symbol,
            "datetime": bar.start,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
            "source": bar.source,
            "received_at": dt.datetime.fromtimestamp(bar.received_at or time.time(), dt.UTC),
        }
        with self._lock:
            self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        with self._lock:
            return pd.DataFrame(list(self.rows), columns=TAPE_COLUMNS)


def write_paper_run(
    config: Any,
    *,
    spec: Any,
    params: dict[str, Any],
    run_id: str,
    strategy: Any,
    tape: Tape,
    venue: str,
    warnings: list[str],
    stopped_by: str,
) -> tuple[Any, dict[str, Any]]:
    """Write the run directory; returns it and the metrics."""
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
        "venue": venue,
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
        "data": {"source": config.data_source_label(), "bars_received": len(tape_frame)},
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
        "warnings": warnings,
        "versions": library_versions(),
    }
    run_dir = config.runs_dir / run_id
    write_run(run_dir, RunArtifacts(manifest, metrics, equity, returns, trades, orders, fills))
    tape_frame.to_csv(run_dir / "tape.csv", index=False)
    return run_dir, metrics
