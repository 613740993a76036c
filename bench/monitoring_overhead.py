"""What monitoring costs a paper run, measured side by side in one process.

The same lock-step rehearsal (`sma_cross` fast 5 / slow 20 on the bundled 1-minute IBM bars, 6
sessions, 2,566 bars, local venue over loopback) three times, alternating, `REPEAT` rounds:

* ``quiet``: daily reports off, alerts with no external sink (the log sink and the journal
  poller still run: they cannot be switched off);
* ``monitored``: daily reports at every session close (text, JSON, HTML), alerts with tight
  thresholds delivered to a local HTTP webhook, the daily report sent through it too;
* ``backtest``: the same strategy and bars as a backtest (the reference for speed).

Prints whole-command seconds and bars/s (median of the rounds), the monitored/quiet ratio, the
alerts and reports produced, and the messages the webhook received.

Usage: python bench/monitoring_overhead.py [REPEAT]
"""

from __future__ import annotations

import http.server
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from parity.alerts.config import AlertConfig
from parity.config import BacktestConfig
from parity.journal.database import run_journal_target
from parity.journal.reader import JournalReader
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper

PARAMS = {"fast": "5", "slow": "20"}


def webhook() -> tuple[http.server.ThreadingHTTPServer, list[dict]]:
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def paper(runs: Path, monitored: bool, url: str) -> tuple[float, Path]:
    alerts = (
        AlertConfig(urls=(url,), daily_loss_pct=0.1, drawdown_pct=0.2, send_daily_report=True)
        if monitored
        else AlertConfig()
    )
    config = PaperConfig(
        strategy="sma_cross",
        params=PARAMS,
        symbols=("IBM",),
        venue="local",
        data="sample:minute",
        cash=100_000.0,
        runs_dir=runs,
        daily_reports=monitored,
        alerts=alerts,
    )
    started = time.perf_counter()
    result = run_paper(config)
    return time.perf_counter() - started, result.run_dir


def count(run_dir: Path, kind: str) -> int:
    reader = JournalReader.open(run_journal_target(run_dir))
    try:
        return len(reader.events(run_dir.name, kind=kind))
    finally:
        reader.close()


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    server, received = webhook()
    url = f"json://127.0.0.1:{server.server_address[1]}/hook"
    times: dict[str, list[float]] = {"quiet": [], "monitored": [], "backtest": []}
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        for _ in range(repeat):
            seconds, quiet_dir = paper(runs / "quiet", False, url)
            times["quiet"].append(seconds)
            seconds, monitored_dir = paper(runs / "monitored", True, url)
            times["monitored"].append(seconds)
            started = time.perf_counter()
            run_backtest(
                BacktestConfig(
                    strategy="sma_cross",
                    params=PARAMS,
                    data="sample:minute",
                    symbols=("IBM",),
                    commission="0",
                    slippage="0",
                    runs_dir=runs / "bt",
                )
            )
            times["backtest"].append(time.perf_counter() - started)
        bars = len(pd.read_csv(quiet_dir / "tape.csv"))
        same = pd.read_csv(quiet_dir / "trades.csv").equals(
            pd.read_csv(monitored_dir / "trades.csv")
        )
        alerts = count(monitored_dir, "alert")
        reports = count(monitored_dir, "daily_report")
    server.shutdown()
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"bars per run                     {bars:>10,}   rounds {repeat}")
    for name in ("backtest", "quiet", "monitored"):
        print(f"{name:<10} {median[name]:>8.2f} s   {bars / median[name]:>8.0f} bars/s")
    print(f"monitored / quiet time           {median['monitored'] / median['quiet']:>10.3f}x")
    print(f"monitored / backtest time        {median['monitored'] / median['backtest']:>10.2f}x")
    print(f"last monitored run: {alerts} alerts journaled, {reports} daily reports")
    print(f"webhook messages received (all rounds): {len(received)}")
    print(f"trades identical quiet vs monitored: {same}")


if __name__ == "__main__":
    main()
