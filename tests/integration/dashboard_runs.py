"""Runs written for the dashboard's tests through the real journal writer (`Journal`) into SQLite
files, plus the files `parity compare` and the risk guard leave beside them."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from parity.journal import BarRecord, EquityRecord, Journal

START = dt.datetime(2024, 3, 4, 9, 30)
CASH = 100_000.0
ALERT = {
    "rule": "drawdown",
    "key": "drawdown:run",
    "title": "Drawdown beyond 1%",
    "message": "equity is 1.4% below its peak",
    "symbol": None,
    "value": -0.014,
    "threshold": -0.01,
    "suppressed": False,
    "sinks": ["mailto://…@localhost"],
}


def curve(n: int, first: int = 0) -> list[float]:
    """A wavy equity curve with a drawdown in it."""
    return [CASH + 800 * math.sin(i / 9) + 15 * i for i in range(first, first + n)]


def manifest(run_id: str, mode: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "mode": mode,
        "venue": "local" if mode == "paper" else "sim",
        "strategy": {"name": "sma_cross"},
        "symbols": ["IBM"],
        "timeframe": "1Min",
        "starting_cash": CASH,
        "cash": CASH,
        "config": {"strategy": "sma_cross", "symbols": ["IBM"], "risk": {"max_drawdown": "15%"}}
        if mode == "paper"
        else None,
        "risk": {"max_drawdown": "15%", "daily_loss_limit": "5%"},
    }


class SyntheticRun:
    """One run in `runs_dir/run_id/journal.sqlite`, kept open while the test writes more."""

    def __init__(self, runs_dir: Path, run_id: str, *, mode: str = "paper", pid: int | None = None):
        self.run_id = run_id
        self.run_dir = runs_dir / run_id
        self.journal = Journal.open(self.run_dir / "journal.sqlite", create=True)
        self.journal.start_run(
            run_id, manifest(run_id, mode), mode=mode, venue="local", pid=pid or os.getpid()
        )
        self.bars = 0
        self.fills = 0

    def add_bars(self, n: int) -> None:
        values = curve(n, self.bars)
        now = dt.datetime.now(dt.UTC)
        for i, value in enumerate(values):
            at = START + dt.timedelta(minutes=self.bars + i)
            price = 180 + (value - CASH) / 100
            self.journal.bars(
                [BarRecord("IBM", at, price, price + 0.1, price - 0.1, price, 1000, "stream", now)]
            )
            self.journal.equity([EquityRecord(self.bars + i, at, value, CASH - 18_000)])
        self.bars += n
        self.journal.heartbeat()
        self.journal.flush()

    def add_fill(self, side: str, qty: float = 100, price: float = 181.0) -> None:
        self.fills += 1
        cid = f"{self.run_id}-{self.fills:06d}"
        at = START + dt.timedelta(minutes=max(self.bars - 1, 0))
        self.journal.intent(cid, seq=self.fills, symbol="IBM", side=side, qty=qty, type="market",
                            decided_at=at)  # fmt: skip
        self.journal.order_event(cid, "filled", filled_qty=qty, avg_price=price, at=at,
                                 source="strategy")  # fmt: skip
        self.journal.fill(cid, order_seq=self.fills, symbol="IBM", side=side, cum_qty=qty, qty=qty,
                          price=price, commission=1.0, at=at, bar=self.bars)  # fmt: skip
        self.journal.flush()

    def add_open_order(self) -> str:
        self.fills += 1
        cid = f"{self.run_id}-{self.fills:06d}"
        at = START + dt.timedelta(minutes=max(self.bars - 1, 0))
        self.journal.intent(cid, seq=self.fills, symbol="IBM", side="sell", qty=50, type="limit",
                            limit_price=190.0, decided_at=at)  # fmt: skip
        self.journal.order_event(cid, "accepted", at=at, source="strategy")
        self.journal.flush()
        return cid

    def add_events(self) -> None:
        self.journal.event("alert", ALERT, level="warning")
        self.journal.event("alert", {**ALERT, "suppressed": True}, level="warning")
        self.journal.event("feed", {"symbol": "IBM", "state": "delayed"})
        self.journal.event("feed", {"symbol": "IBM", "state": "live"})
        self.journal.event("stream", {"stream": "data", "state": "disconnected",
                                      "reason": "connection reset"}, level="warning")  # fmt: skip
        self.journal.event("stream", {"stream": "trading", "state": "connected", "reason": ""})
        self.journal.event("risk", {"event": "risk.rejected", "reason": "max position"},
                           level="warning")  # fmt: skip
        divergence = {
            "event": "session_divergence",
            "status": "WARN",
            "session": "2024-03-04",
            "reasons": ["sharpe gap"],
            "correlation": 0.97,
            "final_equity_gap": -12.5,
        }
        self.journal.event("divergence", divergence)

    def finish(self, status: str = "finished") -> None:
        self.journal.finish_run(status)
        self.journal.close()

    def close(self) -> None:
        self.journal.close()


def write_compare_outputs(run_dir: Path, n: int) -> None:
    """What `parity compare` leaves: the tape twin's equity.csv and divergence.json."""
    twin = run_dir / "compare" / "tape-twin"
    twin.mkdir(parents=True)
    index = pd.DatetimeIndex([START + dt.timedelta(minutes=i) for i in range(n)], name="datetime")
    values = [v * 0.998 + 150 for v in curve(n)]
    pd.DataFrame({"value": values, "cash": CASH}, index=index).to_csv(twin / "equity.csv")
    divergence = {
        "mode": "twin",
        "verdict": {"status": "FAIL", "exit_code": 2, "reasons": ["returns correlation 0.41"],
                    "checks": []},
        "metrics": {"sharpe": {"live": 1.1, "tape": 1.3, "reference": 1.25, "abs_diff": -0.2,
                               "rel_diff": -0.15}},
        "curves": {"per_bar": {"correlation": 0.41}, "final_equity": {"gap": -210.0}},
        "warnings": [],
    }  # fmt: skip
    (run_dir / "divergence.json").write_text(json.dumps(divergence))


def write_risk_state(run_dir: Path) -> None:
    state = {"killed": True, "kill_reason": "max drawdown 15% breached", "killed_at": None,
             "day": "2024-03-04", "day_start_equity": CASH, "orders_today": 3,
             "day_halt_reason": "", "peak_equity": 101_000.0, "last_equity": 100_200.0,
             "resets": 0, "flatten_requested": False}  # fmt: skip
    (run_dir / "risk_state.json").write_text(json.dumps(state))


def dead_pid() -> int:
    """The pid of a process that has exited."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
