"""Feed state reporting: delayed (warm-up from history), live, stale (no bar while the market is
open), back to live; the strategy sees each change in notify_data and the operator in the log."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from parity.feeds.sample import sample_path
from parity.runners.paper import PaperConfig, run_paper
from parity.venues.local.session import LocalVenueSession

pytestmark = pytest.mark.timeout(120)

STRATEGY = """
import json
import backtrader as bt

class Watch(bt.Strategy):
    params = (("out", ""),)

    def __init__(self):
        self.seen = []

    def notify_data(self, data, status, *args, **kwargs):
        self.seen.append(data._getstatusname(status))

    def next(self):
        if len(self) >= 4:
            self.env.runstop()

    def stop(self):
        with open(self.p.out, "w") as fh:
            json.dump(self.seen, fh)
"""


class QuickStale(LocalVenueSession):
    """The local venue, timed (not lock-step), with a short staleness limit."""

    def feed(self, symbol, config, on_bar, finished, on_state=None):  # type: ignore[no-untyped-def]
        feed = super().feed(symbol, config, on_bar, finished, on_state)
        feed.p.stale_after = 0.3
        feed.p.market_open = lambda: True
        return feed


def test_states_delayed_live_stale_live(tmp_path: Path):
    (tmp_path / "watch.py").write_text(STRATEGY)
    bars = pd.read_csv(sample_path("IBM", "minute"), parse_dates=["datetime"])
    window = bars[
        (bars["datetime"] >= "2013-10-07 09:30") & (bars["datetime"] < "2013-10-07 09:45")
    ]
    window.to_csv(tmp_path / "IBM.csv", index=False)
    out = tmp_path / "seen.json"
    config = PaperConfig(
        slippage="0",
        strategy=f"{tmp_path / 'watch.py'}:Watch",
        params={"out": str(out)},
        symbols=("IBM",),
        venue="local",
        data=str(tmp_path / "IBM.csv"),
        speed=60.0,  # a minute bar a second: quiet long enough to go stale between bars
        backfill=5,
        runs_dir=tmp_path,
    )
    messages: list[str] = []
    run_paper(config, session=QuickStale(config, messages.append), notify=messages.append)
    seen = json.loads(out.read_text())
    assert seen[0] == "DELAYED"
    assert "LIVE" in seen and "DISCONNECTED" in seen
    assert seen.index("DISCONNECTED") > seen.index("LIVE")
    assert "LIVE" in seen[seen.index("DISCONNECTED") :]  # recovered on the next bar
    assert "IBM feed: stale" in messages and "debug: IBM feed: live" in messages
