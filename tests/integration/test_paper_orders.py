"""Order handling of the paper path, for real: a scripted Backtrader strategy, parity's broker and
store, alpaca-py, and the local venue on loopback (lock-step, so every result is deterministic).

Each run replays the first bars of one session of the bundled IBM minute data (2013-10-04) and
stops itself after a few dozen bars. Bar numbers are `len(strategy)` (1-based); bar 1 is 08:28.
The expected fill prices are checked by hand against those bars and Backtrader's rules (with zero
costs: a market order fills at the next bar's open; a limit or stop touched inside a bar fills at
its price; a gap through it fills at the open).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from parity.runners.paper import PaperConfig, run_paper
from parity.venue.config import FaultPlan

pytestmark = [pytest.mark.timeout(60)]

DAY = dt.date(2013, 10, 4)

SCRIPTED = '''
"""Orders at chosen bars; every notification, and broker and venue state, written at stop()."""

import json

import backtrader as bt
import requests

EXEC = {
    "market": bt.Order.Market,
    "limit": bt.Order.Limit,
    "stop": bt.Order.Stop,
    "stop_limit": bt.Order.StopLimit,
}


class Scripted(bt.Strategy):
    params = (("plan", "[]"), ("out", ""), ("stop_at", 0))

    def __init__(self):
        self.actions = {}
        for action in json.loads(self.p.plan):
            self.actions.setdefault(action["bar"], []).append(action)
        self.by_tag = {}
        self.tags = {}
        self.events = []
        self.bars = []

    def venue_url(self):
        store = getattr(self.broker, "store", None)
        return store.endpoints.trading_url if store is not None else None

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
            self.act(action)
        if self.p.stop_at and n >= self.p.stop_at:
            self.env.runstop()

    def act(self, action):
        op, tag = action["op"], action.get("tag", "")
        if op == "faults":  # queue venue faults now: they hit the next REST requests
            requests.post(self.venue_url() + "/parity/v1/faults", json=action["body"], timeout=5)
            return
        if op == "cancel":
            self.cancel(self.by_tag[tag])
            return
        if op == "replace":  # another client (an operator) replaces the order at the venue
            cid = self.by_tag[tag].info["client_order_id"]
            venue_id = next(v for v, c in self.broker._cid_of_venue_id.items() if c == cid)
            keys = {"APCA-API-KEY-ID": "parity-local", "APCA-API-SECRET-KEY": "parity-local"}
            response = requests.patch(
                self.venue_url() + "/v2/orders/" + venue_id, json=action["body"], headers=keys,
                timeout=5,
            )
            response.raise_for_status()
            return
        exectype = EXEC[action.get("type", "market")]
        if op == "bracket":
            orders = self.buy_bracket(
                size=action["size"],
                exectype=exectype,
                stopprice=action["stopprice"],
                limitprice=action["limitprice"],
            )
            names = ["parent", "stop", "limit"]
        else:
            kwargs = {k: action[k] for k in ("price", "plimit") if k in action}
            orders = [getattr(self, op)(size=action["size"], exectype=exectype, **kwargs)]
            names = [""]
        for name, order in zip(names, orders):
            full = tag + "." + name if name else tag
            self.by_tag[full] = order
            self.tags[order.ref] = full

    def notify_order(self, order):
        self.events.append(
            {
                "tag": self.tags.get(order.ref, "?"),
                "cid": order.info.get("client_order_id"),
                "status": order.getstatusname(),
                "reason": order.info.get("reason"),
                "bar": len(self),
                "fills": [[b.size, b.price] for b in order.executed.iterpending()],
            }
        )

    def stop(self):
        url = self.venue_url()
        venue = requests.get(url + "/parity/v1/snapshot", timeout=5).json() if url else None
        position = self.getposition(self.data)
        result = {
            "events": self.events,
            "bars": self.bars,
            "position": position.size,
            "cash": self.broker.getcash(),
            "venue": venue,
        }
        with open(self.p.out, "w") as handle:
            json.dump(result, handle)
'''


def strategy_file(root: Path) -> str:
    path = root / "scripted.py"
    if not path.exists():
        path.write_text(SCRIPTED)
    return f"{path}:Scripted"


def scripted(
    root: Path, plan: list[dict[str, Any]], *, stop_at: int, name: str = "run", **overrides: Any
) -> tuple[dict[str, Any], Path]:
    """Run the scripted strategy on the local venue; (what it recorded, the run directory)."""
    out = root / f"{name}.json"
    config = PaperConfig(
        slippage="0",
        strategy=strategy_file(root),
        params={"plan": json.dumps(plan), "out": str(out), "stop_at": stop_at},
        symbols=("IBM",),
        venue="local",
        data="sample:minute",
        start=DAY,
        end=DAY,
        cash=100_000.0,
        runs_dir=root / "runs",
        **{"session": "extended", **overrides},  # bar 1 is the pre-market 08:28 bar
    )
    result = run_paper(config)
    return json.loads(out.read_text()), result.run_dir


def bracket(bar: int, tag: str, *, stop: float, take: float) -> dict[str, Any]:
    """A market buy of 10 with a stop-loss and a take-profit leg (`buy_bracket`)."""
    plan = {"bar": bar, "op": "bracket", "tag": tag, "size": 10}
    return {**plan, "stopprice": stop, "limitprice": take}


def events_of(record: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    return [e for e in record["events"] if e["tag"] == tag]


def statuses(record: dict[str, Any], tag: str) -> list[str]:
    return [e["status"] for e in events_of(record, tag)]


def fills_of(record: dict[str, Any], tag: str) -> list[list[float]]:
    return [fill for e in events_of(record, tag) for fill in e["fills"]]


def assert_broker_matches_venue(record: dict[str, Any]) -> None:
    venue = record["venue"]
    held = venue["positions"].get("IBM", {}).get("qty", 0.0)
    assert record["position"] == pytest.approx(held)
    assert record["cash"] == pytest.approx(venue["account"]["cash"], abs=1e-6)


def test_market_limit_stop_and_stop_limit_fill_at_the_fill_models_prices(tmp_path: Path) -> None:
    plan = [
        # bar 5 (09:31) decides; bar 6 (09:32) opens at 184.05
        {"bar": 5, "op": "buy", "size": 10, "tag": "market"},
        # bar 8 (09:34); bars 9-11 stay above 183.70; bar 12 (09:38, open 183.92, low 183.58)
        # touches it: fills at the limit
        {"bar": 8, "op": "buy", "size": 10, "type": "limit", "price": 183.70, "tag": "limit"},
        # bar 12; bars 13-16 stay above 183.70 (lows 183.73, 183.73, 183.80, 183.72); bar 17
        # (09:43, open 183.74, low 183.65) touches it: fills at the stop
        {"bar": 12, "op": "sell", "size": 5, "type": "stop", "price": 183.70, "tag": "stop"},
        # bar 40 (10:06); highs 184.24, 184.29 below the stop; bar 43 (10:09, open 184.28, high
        # 184.45, close 184.45) triggers inside the bar, limit >= stop: fills at the stop
        {
            "bar": 40,
            "op": "buy",
            "size": 10,
            "type": "stop_limit",
            "price": 184.30,
            "plimit": 184.35,
            "tag": "stop_limit",
        },
    ]
    record, run_dir = scripted(tmp_path, plan, stop_at=45)
    expected = {
        "market": ([10.0, 184.05], 6),
        "limit": ([10.0, 183.70], 12),
        "stop": ([-5.0, 183.70], 17),
        "stop_limit": ([10.0, 184.30], 43),
    }
    for tag, (fill, bar) in expected.items():
        assert statuses(record, tag) == ["Submitted", "Accepted", "Completed"], tag
        assert fills_of(record, tag) == [pytest.approx(fill)], tag
        assert events_of(record, tag)[-1]["bar"] == bar, tag  # seen on the bar it filled
    cids = {tag: events_of(record, tag)[0]["cid"] for tag in expected}
    assert len(set(cids.values())) == 4
    assert all(cid.startswith(run_dir.name + "-") for cid in cids.values())

    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills["client_order_id"]) == [cids[t] for t in expected]
    assert list(fills["price"]) == pytest.approx([184.05, 183.70, 183.70, 184.30])
    assert list(fills["datetime"]) == [
        "2013-10-04 09:32:00",
        "2013-10-04 09:38:00",
        "2013-10-04 09:43:00",
        "2013-10-04 10:09:00",
    ]
    orders = pd.read_csv(run_dir / "orders.csv")
    assert list(orders["type"]) == ["market", "limit", "stop", "stop_limit"]
    assert set(orders["status"]) == {"completed"}
    venue_fills = record["venue"]["fills"]
    assert [(f["client_order_id"], f["price"]) for f in venue_fills] == list(
        zip(fills["client_order_id"], fills["price"], strict=True)
    )
    assert_broker_matches_venue(record)
    assert record["position"] == 25


def test_partial_fills_are_notified_and_reconcile_with_the_venue(tmp_path: Path) -> None:
    # volume_share 0.01: bar 6 (volume 28146) fills 281, bar 7 (7403) fills 74, bar 8 the last 145
    plan = [{"bar": 5, "op": "buy", "size": 500, "tag": "big"}]
    record, run_dir = scripted(tmp_path, plan, stop_at=10, volume_share=0.01)
    assert statuses(record, "big") == ["Submitted", "Accepted", "Partial", "Partial", "Completed"]
    assert fills_of(record, "big") == [
        pytest.approx([281.0, 184.05]),
        pytest.approx([74.0, 183.65]),
        pytest.approx([145.0, 183.97]),
    ]
    assert record["position"] == 500
    assert_broker_matches_venue(record)
    fills = pd.read_csv(run_dir / "fills.csv")
    assert len(fills) == 3 and fills["client_order_id"].nunique() == 1
    assert list(fills["qty"]) == [281, 74, 145]
    orders = pd.read_csv(run_dir / "orders.csv")
    assert orders.loc[0, "status"] == "completed" and orders.loc[0, "filled_qty"] == 500


def test_bracket_legs_report_their_final_states(tmp_path: Path) -> None:
    plan = [
        # parent fills at bar 6's open 184.05; bar 8 (high 184.10) takes profit, the stop is
        # cancelled
        bracket(5, "a", stop=183.6, take=184.1),
        # parent fills at bar 11's open 184.01; bar 12 (low 183.58) stops out at 183.70, the
        # take-profit is cancelled
        bracket(10, "b", stop=183.7, take=184.5),
    ]
    record, run_dir = scripted(tmp_path, plan, stop_at=15)
    done = ["Submitted", "Accepted", "Completed"]
    cancelled = ["Submitted", "Accepted", "Canceled"]
    assert statuses(record, "a.parent") == done
    assert statuses(record, "a.limit") == done
    assert statuses(record, "a.stop") == cancelled
    assert statuses(record, "b.parent") == done
    assert statuses(record, "b.stop") == done  # the stop-loss fill is notified
    assert statuses(record, "b.limit") == cancelled
    assert fills_of(record, "a.parent") == [pytest.approx([10.0, 184.05])]
    assert fills_of(record, "a.limit") == [pytest.approx([-10.0, 184.10])]
    assert fills_of(record, "b.parent") == [pytest.approx([10.0, 184.01])]
    assert fills_of(record, "b.stop") == [pytest.approx([-10.0, 183.70])]
    assert events_of(record, "a.limit")[-1]["bar"] == 8
    assert events_of(record, "b.stop")[-1]["bar"] == 12
    assert record["position"] == 0
    assert_broker_matches_venue(record)
    trades = pd.read_csv(run_dir / "trades.csv")
    assert len(trades) == 2
    assert list(trades["exit_price"]) == pytest.approx([184.10, 183.70])


def test_a_bracket_parent_fill_that_was_missed_is_applied_before_its_leg(tmp_path: Path) -> None:
    """The parent's fill event is lost (trading stream dropped after bar 10) and its REST sync
    fails (five 503s); on bar 12 the stop leg's fill shows up: the broker must apply the parent's
    buy first, not record a short sale followed by a buy."""
    plan = [
        bracket(10, "b", stop=183.7, take=184.5),
        {"bar": 10, "op": "faults", "body": {"rest_errors": [[503, 5]]}},
    ]
    faults = FaultPlan(disconnect_trading_after=(10,))
    record, run_dir = scripted(tmp_path, plan, stop_at=14, faults=faults)
    completed = [e["tag"] for e in record["events"] if e["status"] == "Completed"]
    assert completed == ["b.parent", "b.stop"]
    assert statuses(record, "b.limit") == ["Submitted", "Accepted", "Canceled"]
    assert [b["position"] for b in record["bars"][9:]] == [0, 0, 0, 0, 0]  # never short
    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills["side"]) == ["buy", "sell"]
    trades = pd.read_csv(run_dir / "trades.csv")
    assert list(trades["side"]) == ["long"]
    assert trades.loc[0, "entry_price"] == pytest.approx(184.01)
    assert trades.loc[0, "exit_price"] == pytest.approx(183.70)
    assert_broker_matches_venue(record)


def test_rejections_reach_the_strategy_with_the_venues_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a known run id makes the client order ids known in advance: rehearsal-000001, ...
    monkeypatch.setattr("parity.runners.paper.new_run_id", lambda _name: "rehearsal")
    plan = [
        {"bar": 3, "op": "sell", "size": 10, "tag": "no_position"},  # rehearsal-000001
        {"bar": 4, "op": "buy", "size": 100_000, "tag": "too_big"},  # 000002: ~18.4M > 100k
        {"bar": 5, "op": "buy", "size": 10, "tag": "venue_reject"},  # 000003: FaultPlan
        {"bar": 6, "op": "buy", "size": 10, "tag": "fine"},  # 000004: trading goes on
    ]
    faults = FaultPlan(reject_orders=("rehearsal-000003",))
    record, run_dir = scripted(tmp_path, plan, stop_at=9, faults=faults)
    for tag in ("no_position", "too_big", "venue_reject"):
        assert statuses(record, tag) == ["Submitted", "Rejected"], tag
    reason = {tag: events_of(record, tag)[-1]["reason"] for tag in ("no_position", "too_big")}
    assert "insufficient qty" in reason["no_position"]
    assert "insufficient buying power" in reason["too_big"]
    assert "rejected" in events_of(record, "venue_reject")[-1]["reason"]
    assert events_of(record, "venue_reject")[-1]["cid"] == "rehearsal-000003"
    assert statuses(record, "fine") == ["Submitted", "Accepted", "Completed"]
    orders = pd.read_csv(run_dir / "orders.csv").set_index("client_order_id")
    assert list(orders["status"]) == ["rejected", "rejected", "rejected", "completed"]
    assert "insufficient buying power" in orders.loc["rehearsal-000002", "reason"]
    venue_orders = {o["client_order_id"]: o["status"] for o in record["venue"]["orders"]}
    assert venue_orders == {"rehearsal-000003": "rejected", "rehearsal-000004": "filled"}
    assert record["position"] == 10
    assert_broker_matches_venue(record)


ROUND_TRIP = [
    {"bar": 5, "op": "buy", "size": 10, "tag": "entry"},
    {"bar": 9, "op": "sell", "size": 10, "type": "limit", "price": 184.0, "tag": "exit"},
]


def test_rate_limits_and_server_errors_are_retried_without_changing_trades(
    tmp_path: Path,
) -> None:
    clean, clean_dir = scripted(tmp_path, ROUND_TRIP, stop_at=14, name="clean")
    burst = {"rest_errors": [[429, 2], [503, 2]]}
    # the same burst at start-up (account check) and right before the entry order is sent
    plan = [{"bar": 5, "op": "faults", "body": burst}, *ROUND_TRIP]
    faulty, faulty_dir = scripted(
        tmp_path,
        plan,
        stop_at=14,
        name="faulty",
        faults=FaultPlan(rest_errors=((429, 2), (503, 2))),
    )
    for tag in ("entry", "exit"):
        assert statuses(faulty, tag) == ["Submitted", "Accepted", "Completed"], tag
        assert fills_of(faulty, tag) == fills_of(clean, tag), tag
    assert faulty["venue"]["faults"]["rest_errors"] == []  # every injected error was served
    columns = ["datetime", "side", "qty", "price"]
    pd.testing.assert_frame_equal(
        pd.read_csv(faulty_dir / "fills.csv")[columns],
        pd.read_csv(clean_dir / "fills.csv")[columns],
    )
    assert len(faulty["venue"]["orders"]) == 2  # no duplicate order from a retried submit
    assert_broker_matches_venue(faulty)


def test_a_cancelled_far_limit_order_is_notified_canceled(tmp_path: Path) -> None:
    plan = [
        {"bar": 5, "op": "buy", "size": 10, "type": "limit", "price": 150.0, "tag": "far"},
        {"bar": 8, "op": "cancel", "tag": "far"},
    ]
    record, run_dir = scripted(tmp_path, plan, stop_at=11)
    assert statuses(record, "far") == ["Submitted", "Accepted", "Canceled"]
    assert fills_of(record, "far") == []
    assert [o["status"] for o in record["venue"]["orders"]] == ["canceled"]
    assert pd.read_csv(run_dir / "orders.csv").loc[0, "status"] == "canceled"
    assert record["position"] == 0
    assert_broker_matches_venue(record)


def test_a_replaced_bracket_leg_keeps_reporting_to_its_order(tmp_path: Path) -> None:
    """The stop-loss leg is replaced at the venue by another client (183.70 -> 183.60) after the
    parent filled: the replacement's fill is the leg's fill, notified to the strategy (the old
    library lost bracket stop fills, and replaced legs entirely)."""
    plan = [
        bracket(10, "b", stop=183.7, take=184.5),
        # the parent fills at bar 11's open; bar 12 (low 183.58) reaches the new stop 183.60
        {"bar": 11, "op": "replace", "tag": "b.stop", "body": {"stop_price": 183.6}},
    ]
    record, _ = scripted(tmp_path, plan, stop_at=15)
    assert statuses(record, "b.parent") == ["Submitted", "Accepted", "Completed"]
    assert statuses(record, "b.stop") == ["Submitted", "Accepted", "Completed"]
    assert statuses(record, "b.limit") == ["Submitted", "Accepted", "Canceled"]
    assert fills_of(record, "b.stop") == [pytest.approx([-10.0, 183.60])]
    assert record["position"] == 0
    assert_broker_matches_venue(record)
    # the fill came from the replacement order at the new stop, not from the original leg
    sells = [f for f in record["venue"]["fills"] if f["side"] == "sell"]
    assert [f["price"] for f in sells] == [pytest.approx(183.60)]
