"""The live-broker core on the local venue (alpaca-py over loopback, real SQLite): one counter for
the client order ids across broker, recorder and a resume; every intent and fill written once;
the journaled fee is the venue's; what a paper run keeps in memory is bounded by its open orders.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from parity.brokers.alpaca import RECENT
from parity.errors import StrategyError
from parity.feeds.loader import load_bars
from parity.journal.reader import JournalReader
from parity.journal.writer import Journal
from parity.runners.paper import PaperConfig, resume_paper, run_paper
from parity.venue.config import VenueConfig
from parity.venue.server import VenueServer
from parity.venues.local.session import LocalVenueSession

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(420),
]

DAY = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 4)}

CHURN = '''
import json
from pathlib import Path

import backtrader as bt


class Churn(bt.Strategy):
    """Buys 10 on one bar, sells them on the next: an order a bar. At stop, writes the sizes
    of what the broker, the recorder and the order journal keep to `sizes` (a JSON path)."""

    params = (("sizes", ""),)

    def next(self):
        if self.position:
            self.sell(size=self.position.size)
        elif not self.broker.get_orders_open():
            self.buy(size=10)

    def stop(self):
        if not self.p.sizes:
            return
        broker = self.broker
        recorder = self.analyzers.recorder
        sizes = {
            "broker_orders": len(broker._orders),
            "broker_venue_ids": len(broker._cid_of_venue_id),
            "broker_filled": len(broker._filled),
            "broker_fees": len(getattr(broker, "_fees_seen", ())),
            "journal_states": len(broker.journal._venue_state),
            "recorder_orders": len(recorder.orders),
            "recorder_fills": len(recorder.fills),
            "recorder_bars": len(recorder.values),
            "open": len(broker.get_orders_open()),
        }
        Path(self.p.sizes).write_text(json.dumps(sizes))
'''

EVERY_TENTH = '''
from pathlib import Path

import backtrader as bt


class EveryTenth(bt.Strategy):
    """Buys 5 every tenth bar it sees (warm-up bars too: refused there), sells five bars later;
    raises on its `crash_at`th live bar unless `marker` exists (it creates it): a crash."""

    params = (("crash_at", 0), ("marker", ""))

    def __init__(self):
        self.live = 0

    def next(self):
        if self.data.bar_is_live():
            self.live += 1
        if self.live == self.p.crash_at and not Path(self.p.marker).exists():
            Path(self.p.marker).write_text("crashed")
            raise RuntimeError("crash for the test")
        if len(self) % 10 == 0:
            self.buy(size=5)
        elif len(self) % 10 == 5 and self.position:
            self.sell(size=self.position.size)
'''


class Writes:
    """Counts the journal writer's intent and fill calls (each call is one INSERT attempt)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.intents: collections.Counter[str] = collections.Counter()
        self.fills: collections.Counter[tuple[str, float]] = collections.Counter()
        intent, fill = Journal.intent, Journal.fill

        def counted_intent(journal: Journal, cid: str, **kwargs: Any) -> None:
            self.intents[cid] += 1
            intent(journal, cid, **kwargs)

        def counted_fill(journal: Journal, cid: str, **kwargs: Any) -> None:
            self.fills[(cid, round(float(kwargs["cum_qty"]), 6))] += 1
            fill(journal, cid, **kwargs)

        monkeypatch.setattr(Journal, "intent", counted_intent)
        monkeypatch.setattr(Journal, "fill", counted_fill)


def test_fees_are_the_venues_rows_written_once_and_memory_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "churn.py").write_text(CHURN)
    sizes = tmp_path / "sizes.json"
    writes = Writes(monkeypatch)
    fields: dict[str, Any] = {
        "strategy": f"{tmp_path / 'churn.py'}:Churn",
        "params": {"sizes": str(sizes)},
        "symbols": ("IBM",),
        "venue": "local",
        "data": "sample:minute",
        "cash": 100_000.0,
        "runs_dir": tmp_path / "runs",
        "run_id": "fees",
        "daily_reports": False,
        **DAY,
    }
    # the venue charges 1 cent a share, at least 1.00 an order; the run's own config says 0
    venue_config = PaperConfig(**{**fields, "commission": "0.01/share,min=1"})
    session = LocalVenueSession(venue_config, lambda _m: None)
    result = run_paper(PaperConfig(**{**fields, "commission": "0"}), session=session)
    venue_fills = list(session.server._state.engine.fills)
    venue_cash = session.server._state.engine.cash

    reader = JournalReader.open(result.run_dir / "journal.sqlite")
    try:
        intents = reader.intents("fees")
        fills = reader.fills("fees")
        equity = reader.equity("fees")
    finally:
        reader.close()
    # the venue's fee on every fill, not the run's 0 (10 shares: the 1.00 minimum)
    assert len(fills) == len(venue_fills) > 3 * RECENT
    charged = {(f["client_order_id"], round(f["price"], 6)): f["commission"] for f in venue_fills}
    for fill in fills.itertuples():
        assert fill.commission == charged[(fill.client_order_id, round(fill.price, 6))] == 1.0
    assert equity["cash"].iloc[-1] == pytest.approx(venue_cash, abs=0.005)
    # each intent and each fill was written once: one insert per row, none left to a conflict
    assert len(writes.intents) == len(intents) and set(writes.intents.values()) == {1}
    assert len(writes.fills) == len(fills) and set(writes.fills.values()) == {1}
    # memory: finished orders are forgotten (the broker keeps the last RECENT), nothing per bar
    kept = json.loads(sizes.read_text())
    assert len(intents) > 3 * RECENT
    assert kept["broker_orders"] <= RECENT + kept["open"]
    assert kept["broker_venue_ids"] <= RECENT + kept["open"]
    assert kept["broker_filled"] <= RECENT + kept["open"]
    assert kept["broker_fees"] <= RECENT + kept["open"]
    assert kept["journal_states"] <= RECENT + kept["open"]
    assert kept["recorder_orders"] <= kept["open"] + 1
    assert kept["recorder_fills"] == 0 and kept["recorder_bars"] == 0


def test_one_counter_numbers_orders_consecutively_across_a_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tenth.py").write_text(EVERY_TENTH)
    data = load_bars("sample:minute", ["IBM"], **DAY)
    venue = VenueServer(VenueConfig(data=data, ack_timeout=3600.0))
    venue.start()
    for name, value in {
        "APCA_API_KEY_ID": "core-test",
        "APCA_API_SECRET_KEY": "core-test",
        "APCA_API_BASE_URL": venue.base_url,
        "APCA_API_DATA_URL": venue.base_url,
        "APCA_API_STREAM_URL": venue.trading_stream_url,
        "APCA_DATA_STREAM_URL": venue.data_stream_url,
    }.items():
        monkeypatch.setenv(name, value)
    runs = tmp_path / "runs"
    config = PaperConfig(
        strategy=f"{tmp_path / 'tenth.py'}:EveryTenth",
        params={"crash_at": "150", "marker": str(tmp_path / "crashed")},
        symbols=("IBM",),
        venue="alpaca",
        cash=100_000.0,
        runs_dir=runs,
        run_id="ids",
        daily_reports=False,
    )
    try:
        with pytest.raises(StrategyError, match="crash for the test"):
            run_paper(config)
        reader = JournalReader.open(runs / "ids" / "journal.sqlite")
        try:
            before = reader.intents("ids")
        finally:
            reader.close()
        resume_paper(runs / "ids")  # re-reads 200 warm-up bars: their refused orders are no orders
        snapshot = venue.snapshot()
    finally:
        venue.stop()
    reader = JournalReader.open(runs / "ids" / "journal.sqlite")
    try:
        intents = reader.intents("ids").sort_values("seq")
    finally:
        reader.close()
    numbers = [int(n) for n in intents["seq"]]
    assert len(before) >= 10 and len(intents) >= len(before) + 10
    assert numbers == list(range(1, len(intents) + 1))  # one counter: no gap, no repeat
    assert list(intents["client_order_id"]) == [f"ids-{n:06d}" for n in numbers]
    sent = [o["client_order_id"] for o in snapshot["orders"]]
    assert len(sent) == len(set(sent)) and set(sent) <= set(intents["client_order_id"])
    assert max(numbers) > int(before["seq"].max())  # numbered on after the resume
