"""`reconcile` (what `--resume` does first) on a real journal and the local venue over loopback:
an order with journaled fills that the venue does not know is never rewritten as unsent, the
journal's fills, position and cash the venue lacks refuse the resume (each difference on its own
line) unless `adopt`, and an order the risk guard rejected (never meant to be sent) is not
reported at all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from parity.errors import BrokerError
from parity.feeds.loader import load_bars
from parity.journal import Journal
from parity.runners.resume import reconcile
from parity.venue import VenueConfig, VenueServer
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints
from parity.venues.types import OrderRequest

KEYS = ("key-id", "secret-key")
AT = dt.datetime(2013, 10, 7, 9, 45)


@pytest.fixture
def venue():
    data = load_bars("sample:minute", ["IBM"])
    with VenueServer(VenueConfig(data=data, start="2013-10-07T10:00:00", keys=KEYS)) as server:
        yield server


def _journal(path: Path) -> Journal:
    journal = Journal.open(path, create=True)
    manifest = {"strategy": {"name": "t"}, "starting_cash": 100_000.0, "account_cash": 100_000.0}
    journal.start_run("r", manifest, mode="paper", venue="alpaca-paper")

    def intent(seq: int, price: float | None = None) -> str:
        cid = f"r-{seq:06d}"
        kind = "market" if price is None else "limit"
        journal.intent(
            cid, seq=seq, symbol="IBM", side="buy", qty=100, type=kind, limit_price=price,
            decided_at=AT,
        )  # fmt: skip
        return cid

    filled = intent(1)  # sent and filled: the venue lost it
    journal.order_event(filled, "submitted", source="strategy", at=AT)
    journal.fill(
        filled, order_seq=1, symbol="IBM", side="buy", cum_qty=100, qty=100, price=180.0,
        commission=0.0, at=AT, durable=True,
    )  # fmt: skip
    journal.order_event(filled, "completed", source="strategy", filled_qty=100, avg_price=180.0)
    refused = intent(2)  # rejected by the risk guard: never meant to be sent
    journal.order_event(
        refused, "rejected", source="strategy", reason="risk: max 1 orders per day", at=AT
    )
    intent(3)  # journaled, then the crash: never sent
    intent(4, price=1.0)  # sent, still open at the venue
    journal.flush()
    return journal


def test_a_venue_without_the_journals_fills_is_not_believed(tmp_path: Path, venue) -> None:
    endpoints = AlpacaEndpoints(trading_url=venue.base_url, data_url=venue.base_url)
    store = AlpacaStore(AlpacaCredentials(*KEYS), endpoints, retries=1, retry_wait=0.0)
    store.submit_order(
        OrderRequest(
            symbol="IBM", side="buy", qty=100, type="limit", time_in_force="gtc",
            limit_price=1.0, client_order_id="r-000004",
        )
    )  # fmt: skip
    journal = _journal(tmp_path / "journal.sqlite")
    said: list[str] = []
    try:
        with pytest.raises(BrokerError) as refused:
            reconcile(store, journal, "r", ("IBM",), adopt=False, notify=said.append)
        differences = [
            "r-000001: the journal holds 100 filled, the venue has no such order",
            "IBM: journal position 100, venue 0",
            "cash: the venue holds 100,000.00, the journal's fills leave 82,000.00 "
            "(the account had 100,000.00 at the start)",
        ]
        assert said == ["reconciliation: journal and venue disagree:"] + [
            f"  {d}" for d in differences
        ]
        message = str(refused.value)
        assert "\n" not in message
        assert message.startswith("resume refused: 3 differences between journal and venue")
        assert "pass --adopt" in message

        result = reconcile(store, journal, "r", ("IBM",), adopt=True)
        events = journal.reader.order_events("r")
        orders = journal.reader.orders("r").set_index("client_order_id")
    finally:
        journal.close()
        store.stop()
    assert [line for line in result.lines if line.startswith("adopted")] == [
        f"adopted the venue's state: {d}" for d in differences
    ]
    assert not any("r-000002" in line for line in result.lines)  # the risk guard's: not a word
    assert not any("r-000003" in line for line in result.lines)  # marked by the first pass
    resumed = events[events["source"] == "resume"]
    never_sent = set(resumed.loc[resumed["event"] == "never_sent", "client_order_id"])
    assert never_sent == {"r-000003"}
    assert len(resumed[resumed["event"] == "never_sent"]) == 1  # the second pass found it final
    assert "r-000002" not in set(resumed["client_order_id"])
    assert orders.loc["r-000001", "status"] == "completed"
    assert orders.loc["r-000001", "filled_qty"] == 100
    assert orders.loc["r-000002", "reason"] == "risk: max 1 orders per day"
    assert set(resumed.loc[resumed["event"] == "canceled_on_resume", "client_order_id"]) == {
        "r-000004"
    }
