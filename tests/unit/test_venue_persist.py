"""The venue's state file: every change is saved in the step that makes it, and a venue restored
from the file is the venue that stopped: orders (legs, replacements, triggered stops, partial
fills, day orders), fills, cash, positions, prices, clock, replay cursor and faults. Real SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from parity.costs import CostModel
from parity.errors import ConfigError, JournalError
from parity.feeds.bars import BarSeries
from parity.feeds.loader import LoadedData
from parity.timeframe import MINUTE
from parity.venue.config import FaultPlan, VenueConfig
from parity.venue.persist import FILE_NAME, VenueStore
from parity.venue.state import VenueState

DAY1 = datetime(2024, 1, 8, 9, 30)
DAY2 = datetime(2024, 1, 9, 9, 30)
# open, high, low, close, volume: ten bars on day 1, five on day 2
BARS = [
    (100.0, 101.0, 99.0, 100.5, 1000),
    (100.5, 102.0, 100.0, 101.5, 1000),
    (101.5, 103.0, 99.2, 102.0, 1000),
    (102.0, 102.5, 98.0, 99.0, 1000),
    (97.0, 98.0, 96.0, 97.5, 1000),
    (97.5, 99.0, 97.0, 98.5, 1000),
    (98.5, 104.0, 98.0, 103.5, 1000),
    (103.5, 104.0, 103.0, 103.8, 1000),
    (103.8, 104.5, 99.4, 104.0, 1000),
    (104.0, 104.2, 103.6, 104.1, 1000),
    (104.0, 105.0, 103.0, 104.5, 1000),
    (104.5, 106.0, 104.0, 105.5, 1000),
    (105.5, 106.5, 95.0, 96.0, 1000),
    (96.0, 97.0, 94.0, 95.0, 1000),
    (95.0, 96.0, 94.5, 95.5, 1000),
]
TIMES = [DAY1 + timedelta(minutes=i) for i in range(10)] + [
    DAY2 + timedelta(minutes=i) for i in range(5)
]


def data() -> LoadedData:
    index = pd.DatetimeIndex(TIMES, name="datetime").as_unit("ns")
    frame = pd.DataFrame(BARS, index=index, columns=["open", "high", "low", "close", "volume"])
    series = BarSeries(symbol="XYZ", frame=frame.astype("float64"), timeframe=MINUTE, origin="t")
    return LoadedData(series=(series,), warnings=(), source="test")


def config(**overrides: Any) -> VenueConfig:
    fields: dict[str, Any] = {
        "data": data(),
        "costs": CostModel(commission_per_share=0.01, commission_min=1.0, slippage_pct=0.001),
        "volume_share": 0.5,
        "cash": 100_000.0,
        "ack_timeout": 0.01,
        "faults": FaultPlan(
            reject_orders=("rj-1", "rj-later"),
            rest_errors=((503, 2),),
            drop_bars=("2024-01-09T09:33:00",),
            disconnect_data_after=(14,),
        ),
        **overrides,
    }
    return VenueConfig(**fields)


def submit(state: VenueState, **body: Any) -> str:
    order = state.engine.submit({"symbol": "XYZ", "time_in_force": "gtc", **body})
    state.flush_events()  # what every REST handler does after a change
    return order.id


def publish(state: VenueState, index: int) -> None:
    asyncio.run(state.publish(index))


def trade_until_step_four(state: VenueState) -> None:
    """Every kind of order the venue keeps, in every state, by the end of step 4."""
    publish(state, 0)
    submit(state, client_order_id="m-1", qty=10, side="buy", type="market")
    submit(state, client_order_id="big", qty=800, side="buy", type="limit", limit_price=98.5)
    day = submit(
        state,
        client_order_id="l-day",
        qty=5,
        side="buy",
        type="limit",
        limit_price=90,
        time_in_force="day",
    )
    submit(
        state,
        client_order_id="b-1",
        qty=5,
        side="buy",
        type="market",
        order_class="bracket",
        take_profit={"limit_price": 120},
        stop_loss={"stop_price": 80},
    )
    submit(state, client_order_id="rj-1", qty=1, side="buy", type="market")
    publish(state, 1)
    submit(
        state,
        client_order_id="sl-1",
        qty=3,
        side="sell",
        type="stop_limit",
        stop_price=99.5,
        limit_price=104,
    )
    state.engine.replace(day, {"qty": 6, "limit_price": 91, "client_order_id": "l-day-2"})
    state.flush_events()
    publish(state, 2)
    publish(state, 3)


def internals(state: VenueState) -> dict[str, Any]:
    """Everything the snapshot does not show: the fields matching and expiry depend on."""
    engine = state.engine
    return {
        "orders": [
            (
                o.id,
                o.client_order_id,
                o.fillable_from,
                o.session_date,
                o.triggered,
                o.parent_id,
                [leg.id for leg in o.legs],
                o.replaces,
                o.replaced_by,
                o.status,
                o.filled_qty,
                o.filled_notional,
            )
            for o in engine.orders.values()
        ],
        "by_client_id": {c: o.id for c, o in engine.by_client_id.items()},
        "legs_are_orders": all(
            leg is engine.orders[leg.id] for o in engine.orders.values() for leg in o.legs
        ),
        "last_price": engine.last_price,
        "last_equity": engine.last_equity,
        "equity_date": engine.equity_date,
        "initial_cash": engine.initial_cash,
        "now": (engine.now, state.now),
        "cursor": (state.step, state.current, state.finished),
        "faults": state.faults.describe(),
        "reject_ids": sorted(engine.reject_ids),
    }


def comparable(state: VenueState) -> Any:
    """The snapshot with the venue's random ids (orders, bracket legs' client ids) replaced by
    their registration order, so that two venues that did the same can be compared."""
    names: dict[str, str] = {}
    for number, order in enumerate(state.engine.orders.values()):
        names[order.id] = f"order-{number}"
        names.setdefault(order.client_order_id, f"client-{number}")

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    return rename(state.snapshot())


def restored(path: Path, **overrides: Any) -> VenueState:
    store = VenueStore(path)
    saved = store.load()
    assert saved is not None
    state = VenueState(config(**overrides), store)
    state.restore(saved)
    return state


def test_restored_venue_equals_the_venue_that_stopped(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    before = VenueState(config(), VenueStore(path))
    trade_until_step_four(before)
    snap = before.snapshot()
    # the scenario reached every state worth keeping
    statuses = {o["client_order_id"]: o["status"] for o in snap["orders"]}
    assert statuses["m-1"] == "filled" and statuses["rj-1"] == "rejected"
    assert statuses["big"] == "partially_filled" and statuses["l-day"] == "replaced"
    assert statuses["l-day-2"] == "new" and statuses["b-1"] == "filled"
    assert [o.triggered for o in before.engine.orders.values() if o.client_order_id == "sl-1"] == [
        True
    ]
    assert snap["positions"]["XYZ"]["qty"] == 515 and len(snap["fills"]) == 3

    # the store is never closed: what is on disk is what a SIGKILL leaves
    after = restored(path, faults=FaultPlan())  # a resumed run has no fault plan of its own
    assert after.snapshot() == snap
    assert internals(after) == internals(before)
    assert after.snapshot()["account"]["cash"] == pytest.approx(
        100_000 - sum(f["qty"] * f["price"] + f["commission"] for f in snap["fills"]), abs=1e-9
    )


def test_restored_venue_goes_on_from_its_cursor_as_if_never_stopped(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    kept = VenueState(config(), VenueStore(tmp_path / "uninterrupted.sqlite"))
    trade_until_step_four(kept)
    for index in range(4, len(TIMES)):
        publish(kept, index)
    kept.finished = True

    stopped = VenueState(config(), VenueStore(path))
    trade_until_step_four(stopped)
    again = restored(path)
    assert (again.step, again.current) == (4, TIMES[3])
    again.subscriber.set()
    again.acked.set()  # the client acknowledges the step in flight on its return
    asyncio.run(again.replay())  # publishes steps 5.. only: no bar is matched twice
    assert comparable(again) == comparable(kept)
    statuses = {o["client_order_id"]: o["status"] for o in again.snapshot()["orders"]}
    assert statuses["l-day-2"] == "expired"  # the day order of day 1 expired at day 2's open
    assert statuses["sl-1"] == "filled" and statuses["big"] == "filled"
    # and what it did after the restart is on disk too, the finished replay included
    final = restored(path)
    assert comparable(final) == comparable(kept) and final.finished


def test_the_file_appears_with_the_first_change_and_holds_one_row_per_fill(tmp_path: Path) -> None:
    path = tmp_path / "run" / FILE_NAME
    state = VenueState(config(), VenueStore(path))
    assert not path.exists()  # nothing changed yet: a restart starts afresh
    assert VenueStore(path).load() is None
    trade_until_step_four(state)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM fills").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (len(state.engine.orders),)
    assert not path.with_name(FILE_NAME + ".new").exists()


def test_a_new_run_refuses_a_directory_holding_a_venue(tmp_path: Path) -> None:
    state = VenueState(config(), VenueStore(tmp_path / FILE_NAME))
    trade_until_step_four(state)
    with pytest.raises(ConfigError, match="--resume"):
        VenueStore.for_run(tmp_path, resume=False)
    assert VenueStore.for_run(tmp_path, resume=True).load() is not None


def test_other_bars_or_a_broken_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    trade_until_step_four(VenueState(config(), VenueStore(path)))
    shorter = dataclasses.replace(data())
    frame = shorter.series[0].frame.iloc[:-1]
    series = dataclasses.replace(shorter.series[0], frame=frame)
    other = VenueState(config(data=dataclasses.replace(shorter, series=(series,))))
    with pytest.raises(ConfigError, match="other bars"):
        other.restore(VenueStore(path).load())  # type: ignore[arg-type]
    broken = tmp_path / "broken" / FILE_NAME
    broken.parent.mkdir()
    broken.write_bytes(b"not a database at all" * 100)
    with pytest.raises(JournalError, match="unreadable"):
        VenueStore(broken).load()
    assert broken.read_bytes() == b"not a database at all" * 100  # left untouched


def test_a_paper_configuration_records_its_replay_start() -> None:
    """A resumed local run rebuilds the venue on the same steps (else its state is refused)."""
    from parity.runners.paper_config import PaperConfig

    config = PaperConfig(venue="local", symbols=("IBM",), replay_start="2013-10-04T11:00:00")
    assert PaperConfig.from_dict(config.to_dict()).replay_start == "2013-10-04T11:00:00"
