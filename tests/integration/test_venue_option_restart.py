"""A venue holding option positions and open option orders (a combo among them) is killed
with SIGKILL on both sides of an expiry and restarted from its state file each time: the
exercise, the assignment and the expiry are applied once (cash, positions, activities), the open
orders go on, and the venue ends exactly as one never killed. The activities are read through
alpaca-py's `TradingClient` from a venue restarted on the final file."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from alpaca.trading.client import TradingClient
from test_venue_lifecycle import KEYS
from test_venue_persist_kills import cursor

from parity.feeds.loader import load_bars
from parity.venue import VenueConfig, VenueServer
from parity.venue.persist import FILE_NAME, SavedVenue, VenueStore

pytestmark = pytest.mark.timeout(300)

CHILD = """
import asyncio, datetime as dt, os, sys, time
from pathlib import Path

from parity.feeds.loader import load_bars
from parity.venue.config import VenueConfig
from parity.venue.persist import VenueStore
from parity.venue.state import VenueState

store = VenueStore(Path(sys.argv[1]))
data = load_bars("sample", ["IBM"], start=dt.date(2012, 1, 3), end=dt.date(2012, 6, 20))
state = VenueState(VenueConfig(data=data, start="2012-06-01", cash=100_000), store)
state.options.tifs = ("day", "gtc")  # a venue taking gtc: option orders resting for days
saved = store.load()
if saved is not None:
    state.restore(saved)
stop_at = int(os.environ.get("STOP_AT", "0"))
LEG = {"ratio_qty": 1, "type": "", "time_in_force": "day"}
ORDERS = [
    {"symbol": "IBM", "qty": 100, "side": "buy", "type": "market", "time_in_force": "day"},
    {"symbol": "IBM120608C00180000", "qty": 2, "side": "buy", "type": "market",
     "time_in_force": "day", "position_intent": "buy_to_open"},
    {"symbol": "IBM120608C00190000", "qty": 1, "side": "sell", "type": "market",
     "time_in_force": "day", "position_intent": "sell_to_open"},
    {"symbol": "IBM120608P00185000", "qty": 1, "side": "sell", "type": "market",
     "time_in_force": "day", "position_intent": "sell_to_open"},
    {"symbol": "IBM120608C00175000", "qty": 1, "side": "buy", "type": "limit",
     "limit_price": 0.01, "time_in_force": "gtc"},
    {"order_class": "mleg", "qty": 1, "type": "limit", "limit_price": -20.0,
     "time_in_force": "gtc", "legs": [
        {"symbol": "IBM120615P00190000", "ratio_qty": 1, "side": "sell"},
        {"symbol": "IBM120615P00185000", "ratio_qty": 1, "side": "buy"}]},
]


async def main() -> None:
    for index in range(state.step, len(state.data.steps)):
        for number, body in enumerate(ORDERS):  # the shares first, the options a step later
            cid = f"o-{number}"
            if index == (1 if number == 0 else 2) and cid not in state.engine.by_client_id:
                state.engine.submit({**body, "client_order_id": cid})
                state.flush_events()
        if stop_at and index == stop_at:
            while True:  # the crash point: the parent kills the process here
                time.sleep(1)
        await state.publish(index)
    state.finished = True
    state.save([])


asyncio.run(main())
"""

EXPIRY_STEP = 6  # 2012-06-11: the first step after Friday 2012-06-08's close settles


def run(script: Path, path: Path, stop_at: int | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STOP_AT": str(stop_at or 0)}
    return subprocess.Popen([sys.executable, str(script), str(path)], env=env)


def kill_at(script: Path, path: Path, stop_at: int) -> None:
    """Run the venue until its state file's cursor reaches `stop_at`, then SIGKILL it."""
    child = run(script, path, stop_at)
    deadline = time.monotonic() + 120
    while cursor(path) < stop_at:
        assert child.poll() is None and time.monotonic() < deadline, "the venue died early"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def outcome(saved: SavedVenue) -> dict[str, Any]:
    account = saved.account
    legs = {o["id"]: (o["symbol"], o["status"], o["ratio_qty"]) for o in saved.orders}
    events = [{k: v for k, v in e.items() if k != "group"} for e in account["option_events"]]
    return {
        "cash": account["cash"],
        "positions": account["positions"],
        "events": events,
        "orders": [
            (o["client_order_id"], o["status"], o["filled_qty"], [legs[i] for i in o["legs"]])
            for o in saved.orders
            if o["parent_id"] is None
        ],
        "fills": [(f["client_order_id"], f["time"], f["qty"], f["price"]) for f in saved.fills],
    }


def test_killed_across_an_expiry_the_venue_applies_each_option_event_once(
    tmp_path: Path,
) -> None:
    script = tmp_path / "venue_child.py"
    script.write_text(CHILD)
    plain = tmp_path / "plain.sqlite"
    assert run(script, plain, None).wait(timeout=120) == 0
    expected = VenueStore(plain).load()
    assert expected is not None

    path = tmp_path / FILE_NAME
    kill_at(script, path, EXPIRY_STEP)  # killed with the expiry's close not yet processed
    before = VenueStore(path).load()
    assert before is not None and before.account["option_events"] == []
    assert "IBM120608C00180000" in before.account["positions"]
    kill_at(script, path, EXPIRY_STEP + 1)  # killed just after the step that settled it
    after = VenueStore(path).load()
    assert after is not None and len(after.account["option_events"]) == 5
    assert run(script, path, None).wait(timeout=120) == 0
    restarted = VenueStore(path).load()
    assert restarted is not None
    assert outcome(restarted) == outcome(expected)

    events = outcome(restarted)["events"]
    assert [(e["type"], e["symbol"], e["qty"], e["net"]) for e in events] == [
        ("OPEXC", "IBM120608C00180000", -2.0, 0.0),
        ("OPTRD", "IBM", 200.0, -36_000.0),
        ("OPASN", "IBM120608C00190000", 1.0, 0.0),
        ("OPTRD", "IBM", -100.0, 19_000.0),
        ("OPEXP", "IBM120608P00185000", 1.0, 0.0),
    ]
    statuses = {row[0]: row[1] for row in outcome(restarted)["orders"]}
    assert statuses["o-4"] == "expired"  # the gtc order in the contract expired 2012-06-08
    # the combo (a limit beyond its spread) rested on through both restarts, and expired
    # with its legs' contracts on 2012-06-15
    assert {row[0]: row[1] for row in outcome(after)["orders"]}["o-5"] == "new"
    assert statuses["o-5"] == "expired"
    assert restarted.account["positions"]["IBM"][0] == 100 + 200 - 100
    premiums = sum(
        f["qty"] * f["price"] * (100 if f["symbol"] != "IBM" else 1)
        * (1 if f["side"] == "sell" else -1)
        for f in restarted.fills
    )  # fmt: skip
    assert restarted.account["cash"] == pytest.approx(100_000 + premiums - 36_000 + 19_000)

    # the activities through alpaca-py, from a venue continuing the final file
    data = load_bars("sample", ["IBM"], start=dt.date(2012, 1, 3), end=dt.date(2012, 6, 20))
    config = VenueConfig(data=data, start="2012-06-01", cash=100_000, keys=KEYS)
    with VenueServer(config, store=VenueStore(path)) as venue:
        assert venue.restored
        client = TradingClient(*KEYS, paper=True, url_override=venue.base_url)
        rows = client.get("/account/activities", {"activity_types": "OPEXC,OPASN,OPEXP,OPTRD"})
        assert isinstance(rows, list)
        assert sorted(r["activity_type"] for r in rows) == sorted(e["type"] for e in events)
        assert len({r["id"] for r in rows}) == 5
        order = client.get_order_by_id(_id(restarted, "o-5"))
        assert order.order_class.value == "mleg" and len(order.legs) == 2
        assert [leg.ratio_qty for leg in order.legs] == ["1", "1"]


def _id(saved: SavedVenue, cid: str) -> str:
    return next(o["id"] for o in saved.orders if o["client_order_id"] == cid)
