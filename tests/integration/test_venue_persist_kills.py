"""A venue saving to its state file is killed with SIGKILL at seeded random moments (mid-save
included: it saves about every millisecond) and restarted from the file each time. Every state a
kill leaves is whole (cash, positions and orders are those of its fills; the cursor is on its
bars), and the venue that went through the kills ends exactly as one never killed."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.venue.persist import FILE_NAME, SavedVenue, VenueStore

pytestmark = pytest.mark.timeout(300)

CHILD = """
import asyncio, sys
from pathlib import Path

from parity.costs import CostModel
from parity.feeds.loader import load_bars
from parity.venue.config import VenueConfig
from parity.venue.persist import VenueStore
from parity.venue.state import VenueState

store = VenueStore(Path(sys.argv[1]))
config = VenueConfig(
    data=load_bars("sample:minute", ["IBM"]),
    costs=CostModel(commission_per_share=0.005, commission_min=1.0, slippage_pct=0.0005),
    volume_share=0.02,  # orders fill in pieces over several bars
)
state = VenueState(config, store)
saved = store.load()
if saved is not None:
    state.restore(saved)


async def main() -> None:
    for index in range(state.step, len(state.data.steps)):
        cid = f"o-{index}"
        if index % 25 == 0 and cid not in state.engine.by_client_id:
            side = "buy" if (index // 25) % 2 == 0 else "sell"
            held = state.engine.positions.get("IBM")
            if side == "buy" or (held is not None and held.qty >= 300):
                state.engine.cancel_all()
                state.flush_events()
                state.engine.submit({"symbol": "IBM", "qty": 300, "side": side,
                                     "type": "market", "time_in_force": "gtc",
                                     "client_order_id": cid})
                state.flush_events()
        await state.publish(index)
    state.finished = True
    state.save([])


asyncio.run(main())
"""


def run_child(script: Path, state: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("a") as err:  # the child keeps its own copy
        return subprocess.Popen([sys.executable, str(script), str(state)], stderr=err)


def cursor(path: Path) -> int:
    """The replay step the state file holds (0 before the first save)."""
    if not path.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT body FROM account WHERE id = 1").fetchone()
    except sqlite3.Error:
        return 0
    return int(json.loads(row[0])["step"]) if row else 0


def check_whole(saved: SavedVenue) -> None:
    """Cash, positions and every order's filled quantity are those of the saved fills."""
    fills, account = saved.fills, saved.account
    cash = 100_000.0 + sum(
        f["qty"] * f["price"] * (1 if f["side"] == "sell" else -1) - f["commission"] for f in fills
    )
    assert account["cash"] == pytest.approx(cash, abs=1e-6)
    held = sum(f["qty"] * (1 if f["side"] == "buy" else -1) for f in fills)
    assert account["positions"].get("IBM", [0.0])[0] == pytest.approx(held)
    for order in saved.orders:
        mine = sum(f["qty"] for f in fills if f["order_id"] == order["id"])
        assert order["filled_qty"] == pytest.approx(mine), order["client_order_id"]


def outcome(saved: SavedVenue) -> dict[str, object]:
    return {
        "fills": [(f["client_order_id"], f["time"], f["qty"], f["price"]) for f in saved.fills],
        "orders": [(o["client_order_id"], o["status"], o["filled_qty"]) for o in saved.orders],
        "cash": saved.account["cash"],
        "positions": saved.account["positions"],
        "cursor": (saved.account["step"], saved.account["current"], saved.account["finished"]),
    }


def test_killed_mid_save_the_venue_restarts_whole_and_ends_as_if_never_killed(
    tmp_path: Path,
) -> None:
    script = tmp_path / "venue_child.py"
    script.write_text(CHILD)
    log = tmp_path / "child.log"
    plain = tmp_path / "plain.sqlite"
    assert run_child(script, plain, log).wait(timeout=240) == 0, log.read_text()[-2000:]
    expected = VenueStore(plain).load()
    assert expected is not None and len(expected.fills) > 100

    path = tmp_path / FILE_NAME
    rng = random.Random(7)
    # ten seeded replay steps at least 100 apart, so that the kills happen however fast the
    # machine replays (a wall-clock schedule let a fast venue finish before the tenth kill)
    total = int(expected.account["step"])
    targets = sorted(100 * k + rng.randrange(50) for k in rng.sample(range(1, total // 100), 10))
    cursors: list[int] = []
    child = run_child(script, path, log)
    for target in targets:
        last = cursors[-1] if cursors else 0
        while child.poll() is None and cursor(path) < max(target, last + 1):
            time.sleep(0.001)  # wait until the (restarted) venue has replayed to the target
        assert child.poll() is None, f"the venue finished before the kill at step {target}"
        time.sleep(rng.uniform(0.0, 0.003))  # then kill anywhere: in a save, between saves
        child.send_signal(signal.SIGKILL)
        child.wait()
        saved = VenueStore(path).load()
        assert saved is not None
        check_whole(saved)
        cursors.append(saved.account["step"])
        child = run_child(script, path, log)
    assert child.wait(timeout=240) == 0, log.read_text()[-2000:]
    assert len(cursors) == 10 and cursors == sorted(set(cursors)), cursors
    final = VenueStore(path).load()
    assert final is not None
    check_whole(final)
    assert outcome(final) == outcome(expected)
