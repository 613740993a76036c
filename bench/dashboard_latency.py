"""Dashboard response times on a large run, beside the baseline of reading the same data.

Builds a backtest run of `sma_cross` on N synthetic 1-minute bars (default 300,000), starts the
dashboard over its runs directory on a loopback port, and times over real HTTP:

* `GET /api/runs` (the runs list),
* `GET /api/runs/RUN/summary` cold (first read of the journal) and warm (the page's full load),
* the page's live poll (`summary?since=...`, only what is new),

beside the baseline measured in the same process: reading the run's equity with pandas
(`equity.csv`) and through `JournalReader.equity` — the least any view of the curve must do.
Prints milliseconds, response sizes and the ratios.

Usage: python bench/dashboard_latency.py [BARS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import requests

sys.path.insert(0, str(Path(__file__).parent))
from backtest_throughput import make_series
from parity.config import BacktestConfig
from parity.journal.database import run_journal_target
from parity.journal.reader import JournalReader
from parity.runners.backtest import run_backtest
from parity.runners.dashboard import dashboard_server
from parity.timeframe import parse_timeframe


def timed(work, repeat: int = 1) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """Median milliseconds of `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        make_series(bars).to_csv(data / "SYN.csv")
        started = time.perf_counter()
        result = run_backtest(
            BacktestConfig(
                strategy="sma_cross",
                params={"fast": "10", "slow": "30"},
                data=str(data),
                symbols=("SYN",),
                timeframe=parse_timeframe("1Min"),
                runs_dir=root / "runs",
            )
        )
        print(f"backtest of {bars:,} bars: {time.perf_counter() - started:.1f} s")
        run_dir = result.run_dir

        def read_csv() -> pd.DataFrame:
            return pd.read_csv(run_dir / "equity.csv", parse_dates=["datetime"])

        def read_journal() -> pd.DataFrame:
            reader = JournalReader.open(run_journal_target(run_dir))
            try:
                return reader.equity(run_dir.name)
            finally:
                reader.close()

        csv_ms, _ = timed(read_csv, 3)
        journal_ms, equity = timed(read_journal, 3)
        last = pd.Timestamp(equity.index[-10]).isoformat()  # type: ignore[union-attr]

        with dashboard_server(root / "runs", port=0) as server:
            base = server.url.rstrip("/")
            summary = f"{base}/api/runs/{run_dir.name}/summary"
            session = requests.Session()

            def get(url: str) -> requests.Response:
                response = session.get(url, timeout=120)
                response.raise_for_status()
                return response

            list_ms, listing = timed(lambda: get(f"{base}/api/runs"))
            cold_ms, cold = timed(lambda: get(summary))
            warm_ms, warm = timed(lambda: get(summary), 5)
            poll_ms, poll = timed(lambda: get(f"{summary}?since={quote(last)}"), 20)

    print(f"bars in the run                      {bars:>12,}")
    print(f"baseline: pandas read equity.csv     {csv_ms:>10.1f} ms")
    print(f"baseline: JournalReader.equity       {journal_ms:>10.1f} ms")
    print(f"GET /api/runs                        {list_ms:>10.1f} ms  {len(listing.content):>9,} B")  # type: ignore[union-attr]
    print(f"GET summary, cold                    {cold_ms:>10.1f} ms  {len(cold.content):>9,} B")  # type: ignore[union-attr]
    print(f"GET summary, warm (median of 5)      {warm_ms:>10.1f} ms  {len(warm.content):>9,} B")  # type: ignore[union-attr]
    print(f"GET summary?since (live poll, med 20) {poll_ms:>9.1f} ms  {len(poll.content):>9,} B")  # type: ignore[union-attr]
    print(f"ratio warm summary / pandas csv      {warm_ms / csv_ms:>10.2f}x")
    print(f"ratio warm summary / journal read    {warm_ms / journal_ms:>10.2f}x")
    print(f"ratio live poll / journal read       {poll_ms / journal_ms:>10.2f}x")


if __name__ == "__main__":
    main()
