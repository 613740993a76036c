"""Operating a paper run, for real: the `--venue alpaca` code path pointed (through the APCA_*
environment variables) at a standalone local venue, key checks, the policy for positions the
account already holds, graceful stops by SIGTERM (with and without --flatten-on-exit) and dry runs.

The standalone venue is lock-step with a short `ack_timeout`: the `--venue alpaca` path never acks
(Alpaca has no such endpoint), so the venue moves on by itself every 0.1-0.2 s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pandas as pd
import pytest
import requests
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import MarketOrderRequest
from click.testing import CliRunner
from venue_support import PARITY, venue_urls
from websockets.sync.client import connect

from parity.cli import cli
from parity.errors import BrokerError
from parity.feeds.loader import LoadedData, load_bars
from parity.runners.paper import PaperConfig, run_paper
from parity.venue import VenueConfig, VenueServer

pytestmark = [pytest.mark.timeout(90)]

DAY = dt.date(2013, 10, 4)
KEYS = ("ops-key-id", "ops-secret")
AUTH = {"APCA-API-KEY-ID": KEYS[0], "APCA-API-SECRET-KEY": KEYS[1]}  # control paths too

SCRIPTED = '''
"""Orders at chosen bars; the position and cash of every bar, written at stop()."""

import json

import backtrader as bt


class Scripted(bt.Strategy):
    params = (("plan", "[]"), ("out", ""), ("stop_at", 0), ("seen", ""))

    def __init__(self):
        self.actions = {}
        for action in json.loads(self.p.plan):
            self.actions.setdefault(action["bar"], []).append(action)
        self.bars = []
        self.events = []

    def next(self):
        n = len(self)
        self.bars.append(
            {
                "bar": n,
                "dt": self.data.datetime.datetime(0).isoformat(),
                "position": self.getposition(self.data).size,
                "cash": self.broker.getcash(),
            }
        )
        for action in self.actions.get(n, []):
            getattr(self, action["op"])(size=action["size"])
        if self.p.seen and self.getposition(self.data).size:
            open(self.p.seen, "a").close()  # the strategy has seen its position on a bar
        if self.p.stop_at and n >= self.p.stop_at:
            self.env.runstop()

    def notify_order(self, order):
        self.events.append([order.info.get("client_order_id"), order.getstatusname()])

    def stop(self):
        record = {"bars": self.bars, "events": self.events}
        with open(self.p.out, "w") as handle:
            json.dump(record, handle)
'''


@pytest.fixture(scope="module")
def one_day() -> LoadedData:
    return load_bars("sample:minute", ("IBM",), start=DAY, end=DAY)


@pytest.fixture
def venue_factory(one_day: LoadedData) -> Iterator[Callable[..., VenueServer]]:
    started: list[VenueServer] = []

    def make(**overrides: Any) -> VenueServer:
        fields: dict[str, Any] = {"data": one_day, "keys": KEYS, "ack_timeout": 0.1, **overrides}
        venue = VenueServer(VenueConfig(**fields))
        venue.start()
        started.append(venue)
        return venue

    yield make
    for venue in started:
        venue.stop()


def alpaca_env(venue: VenueServer, keys: tuple[str, str] = KEYS) -> dict[str, str]:
    return {"APCA_API_KEY_ID": keys[0], "APCA_API_SECRET_KEY": keys[1], **venue_urls(venue)}


def use_venue(
    monkeypatch: pytest.MonkeyPatch, venue: VenueServer, keys: tuple[str, str] = KEYS
) -> None:
    for name in ("ALPACA_API_KEY", "ALPACA_SECRET_KEY", "APCA_DATA_FEED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in alpaca_env(venue, keys).items():
        monkeypatch.setenv(name, value)


def hold(venue: VenueServer, qty: float) -> None:
    """Give the venue's account a position: subscribe to bars (which starts the lock-step
    replay), market-buy with alpaca-py on the first bar, ack it so the next bar fills the order."""
    headers = {"Content-Type": "application/msgpack"}
    with connect(venue.data_stream_url, additional_headers=headers) as ws:
        assert msgpack.unpackb(ws.recv())[0]["msg"] == "connected"
        ws.send(msgpack.packb({"action": "auth", "key": KEYS[0], "secret": KEYS[1]}))
        assert msgpack.unpackb(ws.recv())[0]["msg"] == "authenticated"
        ws.send(msgpack.packb({"action": "subscribe", "bars": ["IBM"]}))
        assert msgpack.unpackb(ws.recv())[0]["T"] == "subscription"
        assert msgpack.unpackb(ws.recv())[0]["T"] == "b"  # the first bar: the replay runs
        client = TradingClient(*KEYS, paper=True, url_override=venue.base_url)
        request = MarketOrderRequest(symbol="IBM", qty=qty, side="buy", time_in_force="day")
        client.submit_order(request)
        step = requests.get(f"{venue.base_url}/parity/v1/status", headers=AUTH, timeout=5).json()
        ack = {"through": step["time"]}
        requests.post(f"{venue.base_url}/parity/v1/ack", json=ack, headers=AUTH, timeout=5)
        assert msgpack.unpackb(ws.recv())[0]["T"] == "b"  # the bar the order filled on
    assert venue.snapshot()["positions"]["IBM"]["qty"] == qty


def strategy_file(root: Path) -> str:
    path = root / "scripted.py"
    if not path.exists():
        path.write_text(SCRIPTED)
    return f"{path}:Scripted"


def paper_on_venue(root: Path, plan: list[dict[str, Any]], stop_at: int, **overrides: Any) -> Any:
    out = root / "record.json"
    config = PaperConfig(
        slippage="0",
        strategy=strategy_file(root),
        params={"plan": json.dumps(plan), "out": str(out), "stop_at": stop_at},
        symbols=("IBM",),
        venue="alpaca",
        runs_dir=root / "runs",
        **overrides,
    )
    result = run_paper(config)
    return result, json.loads(out.read_text())


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ---------------------------------------------------------------------------- --venue alpaca


def test_validate_only_through_the_alpaca_environment(
    venue_factory: Callable[..., VenueServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    venue = venue_factory()
    use_venue(monkeypatch, venue)
    result = CliRunner().invoke(
        cli, ["run", "paper", "--symbols", "IBM", "--validate-only", "--runs-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "validation passed" in result.stdout
    assert "account ACTIVE: cash 100,000.00" in result.stderr
    assert "clock 2013-10-04 08:28 New York" in result.stderr
    assert "symbol IBM: NYSE, tradable" in result.stderr
    assert not any(tmp_path.iterdir())
    assert venue.snapshot()["orders"] == []


def test_wrong_keys_give_one_line_and_a_non_zero_exit(
    venue_factory: Callable[..., VenueServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    venue = venue_factory()
    use_venue(monkeypatch, venue, keys=(KEYS[0], "not-the-secret"))
    result = CliRunner().invoke(cli, ["run", "paper", "--symbols", "IBM", "--validate-only"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and "refused the keys" in lines[0]
    assert "APCA_API_KEY_ID" in lines[0]


# ---------------------------------------------------------------------------- existing positions


def test_existing_position_refused_by_default(
    venue_factory: Callable[..., VenueServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    venue = venue_factory()
    hold(venue, 7)
    use_venue(monkeypatch, venue)
    with pytest.raises(BrokerError) as err:
        paper_on_venue(tmp_path, [], stop_at=3, existing="refuse")
    assert "7 IBM" in str(err.value) and "--existing" in str(err.value)
    assert venue.snapshot()["positions"]["IBM"]["qty"] == 7
    assert len(venue.snapshot()["orders"]) == 1  # only the order that made the position


def test_existing_position_adopted(
    venue_factory: Callable[..., VenueServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    venue = venue_factory()
    hold(venue, 7)
    use_venue(monkeypatch, venue)
    _, record = paper_on_venue(tmp_path, [], stop_at=3, existing="adopt")
    assert [b["position"] for b in record["bars"]] == [7, 7, 7]
    assert venue.snapshot()["positions"]["IBM"]["qty"] == 7


def test_existing_position_flattened_first(
    venue_factory: Callable[..., VenueServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    venue = venue_factory()
    hold(venue, 7)
    use_venue(monkeypatch, venue)
    _, record = paper_on_venue(tmp_path, [], stop_at=3, existing="flatten")
    assert [b["position"] for b in record["bars"]] == [0, 0, 0]
    snapshot = venue.snapshot()
    assert snapshot["positions"] == {}
    closing = snapshot["orders"][-1]
    assert (closing["side"], closing["qty"], closing["status"]) == ("sell", "7", "filled")


# ---------------------------------------------------------------------------- dry run


def test_dry_run_sends_no_order_but_records_the_decisions(
    venue_factory: Callable[..., VenueServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    venue = venue_factory()
    use_venue(monkeypatch, venue)
    plan = [{"bar": 2, "op": "buy", "size": 10}, {"bar": 4, "op": "sell", "size": 10}]
    result, record = paper_on_venue(tmp_path, plan, stop_at=6, dry_run=True, cash=50_000.0)
    assert venue.snapshot()["orders"] == []
    assert venue.snapshot()["fills"] == []
    orders = pd.read_csv(result.run_dir / "orders.csv")
    assert list(orders["side"]) == ["buy", "sell"]
    assert list(orders["status"]) == ["completed", "completed"]  # simulated fills
    assert [b["position"] for b in record["bars"]] == [0, 0, 10, 10, 0, 0]
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["dry_run"] is True and manifest["venue"] == "alpaca-paper"


# ---------------------------------------------------------------------------- graceful stop


def parity_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PARITY, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_for_line(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(prefix):
            return line
    proc.wait(10)
    raise AssertionError(f"no {prefix!r} line; stderr was:\n{''.join(seen)}")


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=40)
    return proc.returncode, out, err


def run_dir_of(stdout: str) -> Path:
    # "run ID (SIGTERM) written to DIR", then the next commands
    last = next(line for line in stdout.splitlines() if " written to " in line)
    assert "(SIGTERM)" in last, stdout
    return Path(last.rsplit(" written to ", 1)[1])


def test_sigterm_stops_a_timed_local_run_gracefully(tmp_path: Path) -> None:
    proc = parity_cli(
        "run",
        "paper",
        "sma_cross",
        "--venue",
        "local",
        "--slippage",
        "0",
        "--speed",
        "5",
        "--symbols",
        "IBM",
        "--from",
        "2013-10-04",
        "--to",
        "2013-10-04",
        "--session",
        "extended",  # pre-market: the first bar (08:28) is followed by a 52-minute gap
        "--runs-dir",
        str(tmp_path),
    )
    try:
        wait_for_line(proc, "run ")
        time.sleep(2.0)  # the first bar (08:28) arrives; the next is 52 minutes / 5 away
        proc.send_signal(signal.SIGTERM)
        code, out, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    run_dir = run_dir_of(out)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stopped_by"] == "SIGTERM" and manifest["speed"] == 5
    assert (run_dir / "equity.csv").is_file()
    tape = pd.read_csv(run_dir / "tape.csv")
    assert list(tape["datetime"]) == ["2013-10-04 08:28:00"]


def test_sigterm_with_flatten_on_exit_leaves_no_position(
    venue_factory: Callable[..., VenueServer], tmp_path: Path
) -> None:
    venue = venue_factory(ack_timeout=0.2)
    out = tmp_path / "record.json"
    seen = tmp_path / "seen"
    plan = json.dumps([{"bar": 2, "op": "buy", "size": 10}])
    proc = parity_cli(
        "run",
        "paper",
        strategy_file(tmp_path),
        "--venue",
        "alpaca",
        "--symbols",
        "IBM",
        "-p",
        f"plan={plan}",
        "-p",
        f"out={out}",
        "-p",
        f"seen={seen}",
        "--flatten-on-exit",
        "--runs-dir",
        str(tmp_path / "runs"),
        env=alpaca_env(venue),
    )
    try:
        wait_for_line(proc, "run ")
        # the strategy itself has seen the position on a bar (the venue holding it is not enough:
        # with a short ack timeout a SIGTERM could land before the strategy's next bar)
        wait_for(seen.exists, 30, "the strategy to see its position")
        proc.send_signal(signal.SIGTERM)
        code, stdout, err = finish(proc)
    finally:
        proc.kill()
    assert code == 0, err
    assert "flatten on exit" in err
    run_dir = run_dir_of(stdout)
    assert json.loads((run_dir / "manifest.json").read_text())["stopped_by"] == "SIGTERM"
    wait_for(lambda: venue.snapshot()["positions"] == {}, 10, "the closing sell to fill")
    orders = venue.snapshot()["orders"]
    assert [(o["side"], o["status"]) for o in orders] == [("buy", "filled"), ("sell", "filled")]
    record = json.loads(out.read_text())
    assert max(b["position"] for b in record["bars"]) == 10
    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills["side"]) == ["buy"]  # the flattening sell is not one of the strategy's
