"""The order lifecycle of a paper run with no dead ends, for real (the local venue on loopback,
alpaca-py, parity's broker and store, lock-step so every result is deterministic):

* a day market order the venue expires at the close ends as Expired in Backtrader, so a strategy
  that waits for its pending order trades again, and `compare` names the order and its cost;
* the graceful stop's cancels reach the journal, `orders.csv` and `parity status`;
* venue rejections carry the venue's message to `notify_order`, the journal and `orders.csv`;
* a submission lost in a burst of errors longer than the retries is looked up by its client
  order id and sent again only when the venue does not have it;
* the commission minimum is charged once per order, not per partial fill.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_paper_orders import (
    assert_broker_matches_venue,
    events_of,
    fills_of,
    scripted,
    statuses,
)

from parity.feeds.sample import sample_path
from parity.journal.database import run_journal_target
from parity.journal.reader import JournalReader
from parity.reports.divergence import summary_text
from parity.runners.compare import CompareConfig, run_compare
from parity.runners.operate import run_status
from parity.runners.paper import PaperConfig, run_paper

pytestmark = [pytest.mark.timeout(120)]

GUARDED = '''
"""Acts on signals at given bar times, never while an order is pending (`has_pending` style)."""

import datetime
import json

import backtrader as bt


class Guarded(bt.Strategy):
    params = (("signals", "[]"), ("out", ""))

    def __init__(self):
        self.signals = {s["at"]: s for s in json.loads(self.p.signals)}
        self.pending = None
        self.events = []
        self.skipped = []

    def next(self):
        at = self.data.datetime.datetime(0).strftime("%Y-%m-%d %H:%M")
        signal = self.signals.get(at)
        if signal is None:
            return
        if self.pending is not None:
            self.skipped.append(at)
            return
        act = self.buy if signal["side"] == "buy" else self.sell
        if "limit" in signal:  # a limit order with a Backtrader validity (valid=)
            self.pending = act(
                size=signal["size"], exectype=bt.Order.Limit, price=signal["limit"],
                valid=datetime.timedelta(days=signal["valid_days"]),
            )
        else:
            self.pending = act(size=signal["size"])

    def notify_order(self, order):
        self.events.append(
            {
                "cid": order.info.get("client_order_id"),
                "status": order.getstatusname(),
                "reason": order.info.get("reason"),
            }
        )
        if not order.alive():
            self.pending = None

    def stop(self):
        if self.p.out:
            with open(self.p.out, "w") as handle:
                json.dump({"events": self.events, "skipped": self.skipped}, handle)
'''

# decided on 10-04 15:58 with 500 ms latency: the 15:59 bar comes before the order may fill,
# the next bar is the next session's open, and the day order expires at the close in between
SIGNALS = [
    {"at": "2013-10-04 10:00", "side": "buy", "size": 10},
    {"at": "2013-10-04 11:00", "side": "sell", "size": 10},
    {"at": "2013-10-04 15:58", "side": "buy", "size": 10},
    {"at": "2013-10-07 10:00", "side": "buy", "size": 10},
    {"at": "2013-10-07 11:00", "side": "sell", "size": 10},
]


def regular_hours(root: Path) -> Path:
    """IBM's bundled minute bars of 10-04 and 10-07, regular hours (09:30-15:59) only."""
    frame = pd.read_csv(sample_path("IBM", "minute"), parse_dates=["datetime"])
    times = frame["datetime"].dt.strftime("%H:%M")
    days = frame["datetime"].dt.date.astype(str)
    keep = (times >= "09:30") & (times < "16:00") & days.isin(["2013-10-04", "2013-10-07"])
    folder = root / "rth"
    folder.mkdir()
    frame[keep].to_csv(folder / "IBM.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
    return folder


def guarded_run(
    root: Path, signals: list[dict[str, Any]] = SIGNALS, latency_ms: int = 500
) -> tuple[dict[str, Any], Path]:
    strategy = root / "guarded.py"
    strategy.write_text(GUARDED)
    out = root / "guarded.json"
    config = PaperConfig(
        slippage="0",
        strategy=f"{strategy}:Guarded",
        params={"signals": json.dumps(signals), "out": str(out)},
        symbols=("IBM",),
        venue="local",
        data=str(regular_hours(root)),
        start=dt.date(2013, 10, 4),
        end=dt.date(2013, 10, 7),
        cash=100_000.0,
        latency_ms=latency_ms,
        runs_dir=root / "runs",
        daily_reports=False,
    )
    result = run_paper(config)
    return json.loads(out.read_text()), result.run_dir


def test_an_expired_market_order_ends_and_the_strategy_trades_again(tmp_path: Path) -> None:
    record, run_dir = guarded_run(tmp_path)
    expired = f"{run_dir.name}-000003"
    assert [e["status"] for e in record["events"] if e["cid"] == expired] == [
        "Submitted",
        "Accepted",
        "Expired",
    ]
    assert record["events"][-1]["status"] == "Completed"
    assert next(e["reason"] for e in record["events"] if e["status"] == "Expired") == (
        "venue: expired"
    )
    assert record["skipped"] == []  # no signal lost to an order that never ended
    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills["side"]) == ["buy", "sell", "buy", "sell"]  # 4 fills, as signalled
    assert list(fills["datetime"]) == [  # the 500 ms latency: each fills a bar later
        "2013-10-04 10:02:00",
        "2013-10-04 11:02:00",
        "2013-10-07 10:02:00",
        "2013-10-07 11:02:00",
    ]
    orders = pd.read_csv(run_dir / "orders.csv").set_index("client_order_id")
    assert orders.loc[expired, "status"] == "expired"
    assert orders.loc[expired, "reason"] == "venue: expired"
    assert list(orders["status"]).count("completed") == 4

    # compare names the expired order; its twin runs with the same 500 ms latency, so it too
    # expires that order at the close (it filled it at the 15:59 open, 183.98, when compare
    # ignored the latency) and every round trip matches
    result = run_compare(CompareConfig(paper_run=run_dir.name, runs_dir=tmp_path / "runs"))
    twin = pd.read_csv(run_dir / "compare" / "tape-twin" / "fills.csv")
    live = pd.read_csv(run_dir / "fills.csv")
    assert list(twin["datetime"]) == list(live["datetime"])
    assert list(twin["price"]) == list(live["price"])
    twin_orders = pd.read_csv(run_dir / "compare" / "tape-twin" / "orders.csv")
    assert list(twin_orders["status"]) == list(orders["status"])
    ledger = result.divergence["ledger"]
    assert ledger["counts"] == {
        "matched": 2,
        "matched_closed": 2,
        "matched_open": 0,
        "missed": 0,
        "extra": 0,
    }
    assert ledger["unfilled_orders"] == [
        {
            "client_order_id": expired,
            "symbol": "IBM",
            "side": "buy",
            "decision_bar": "2013-10-04T15:58:00",
            "status": "expired",
            "reason": "venue: expired",
            "qty": 10.0,
            "filled_qty": 0.0,
            "missed_twin_pnl": None,
        }
    ]
    assert result.divergence["waterfall"]["components"]["missed_trades"] == 0
    assert result.status == "PASS"
    unfilled = f"unfilled: {expired} buy 10 IBM decided 2013-10-04T15:58:00 ended expired"
    assert f"{unfilled} (venue: expired)" in summary_text(result.divergence)


def test_an_expired_limit_order_ends_and_the_strategy_trades_again(tmp_path: Path) -> None:
    signals = [
        # never touched; valid for one day in Backtrader's terms: sent gtc, parity cancels it at
        # the venue on the first bar past its validity (Monday's first) and it ends Expired
        {"at": "2013-10-04 15:00", "side": "buy", "size": 10, "limit": 150.0, "valid_days": 1},
        {"at": "2013-10-07 10:00", "side": "buy", "size": 10},
        {"at": "2013-10-07 11:00", "side": "sell", "size": 10},
    ]
    record, run_dir = guarded_run(tmp_path, signals, latency_ms=0)
    first = f"{run_dir.name}-000001"
    assert [e["status"] for e in record["events"] if e["cid"] == first] == [
        "Submitted",
        "Accepted",
        "Expired",
    ]
    assert record["skipped"] == []
    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills["datetime"]) == ["2013-10-07 10:01:00", "2013-10-07 11:01:00"]
    orders = pd.read_csv(run_dir / "orders.csv")
    assert list(orders["status"]) == ["expired", "completed", "completed"]
    assert list(orders["type"]) == ["limit", "market", "market"]


def test_the_graceful_stops_cancels_are_journaled(tmp_path: Path) -> None:
    # a buy limit far below the market stays open until the run ends after bar 10
    plan = [{"bar": 5, "op": "buy", "size": 10, "type": "limit", "price": 150.0, "tag": "far"}]
    record, run_dir = scripted(tmp_path, plan, stop_at=10)
    cid = events_of(record, "far")[0]["cid"]
    assert [o["status"] for o in record["venue"]["orders"]] == ["new"]  # open at stop()
    orders = pd.read_csv(run_dir / "orders.csv")
    assert list(orders["status"]) == ["canceled"]
    assert orders.loc[0, "reason"] == "venue: canceled"
    status = run_status(run_dir, run_dir.name)
    assert status.open_orders == []
    events = venue_events(run_dir)
    venue = events[events["client_order_id"] == cid]
    assert list(venue["status"])[-1] == "canceled"
    assert list(venue["reason"])[-1] == "venue: canceled"


def test_rejections_carry_the_venues_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parity.venue.config import FaultPlan

    monkeypatch.setattr("parity.runners.paper.new_run_id", lambda _name: "rejects")
    plan = [
        {"bar": 4, "op": "buy", "size": 100_000, "tag": "too_big"},  # 403 at once
        {"bar": 5, "op": "buy", "size": 10, "tag": "venue_reject"},  # rejected after taking it
    ]
    faults = FaultPlan(reject_orders=("rejects-000002",))
    record, run_dir = scripted(tmp_path, plan, stop_at=8, faults=faults)
    message = "venue: rejected: rejected by the venue's fault plan (reject_orders)"
    assert statuses(record, "venue_reject") == ["Submitted", "Rejected"]
    assert events_of(record, "venue_reject")[-1]["reason"] == message
    orders = pd.read_csv(run_dir / "orders.csv").set_index("client_order_id")
    assert orders.loc["rejects-000002", "reason"] == message
    assert "insufficient buying power" in orders.loc["rejects-000001", "reason"]
    events = venue_events(run_dir)
    reasons = dict(zip(events["client_order_id"], events["reason"], strict=True))
    assert reasons["rejects-000002"] == message
    assert "insufficient buying power" in reasons["rejects-000001"]


def venue_events(run_dir: Path) -> pd.DataFrame:
    """The order events the broker journaled from the venue's updates."""
    reader = JournalReader.open(run_journal_target(run_dir))
    try:
        events = reader.order_events(run_dir.name)
    finally:
        reader.close()
    return events[events["source"] == "venue"]


ENTRY = [{"bar": 5, "op": "buy", "size": 10, "tag": "entry"}]


def faults_then_entry(*bodies: dict[str, Any]) -> list[dict[str, Any]]:
    return [*({"bar": 5, "op": "faults", "body": b} for b in bodies), *ENTRY]


@pytest.mark.parametrize(
    ("bodies", "fill_bar"),
    [
        # five 503s: the submission and its four retries fail; the look-up finds nothing at the
        # venue, so the order is sent again (and fills on the bar it would have)
        pytest.param([{"rest_errors": [[503, 5]]}], 6, id="never-reached-the-venue"),
        # the venue takes the order but its answer is lost, then four more 503s: the look-up
        # finds it, and it is not sent twice
        pytest.param(
            [{"lost_responses": [[503, 1]]}, {"rest_errors": [[503, 4]]}],
            6,
            id="taken-but-answer-lost",
        ),
        # ten 503s: the look-up fails too; the order stays submitted, is looked up on the next
        # bar, found missing and sent then
        pytest.param([{"rest_errors": [[503, 10]]}], 7, id="lookup-failed-too"),
    ],
)
def test_a_burst_longer_than_the_retries_loses_no_order_and_sends_none_twice(
    tmp_path: Path, bodies: list[dict[str, Any]], fill_bar: int
) -> None:
    record, run_dir = scripted(tmp_path, faults_then_entry(*bodies), stop_at=10)
    assert statuses(record, "entry") == ["Submitted", "Accepted", "Completed"]
    assert events_of(record, "entry")[-1]["bar"] == fill_bar
    venue_orders = record["venue"]["orders"]
    assert [(o["client_order_id"], o["status"]) for o in venue_orders] == [
        (events_of(record, "entry")[0]["cid"], "filled")
    ]
    assert record["venue"]["faults"]["rest_errors"] == []
    assert record["venue"]["faults"]["lost_responses"] == []
    assert record["position"] == 10
    assert_broker_matches_venue(record)
    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills["qty"]) == [10]


def test_the_commission_minimum_is_charged_once_per_order_across_partial_fills(
    tmp_path: Path,
) -> None:
    # volume share 0.1 %: bar 6 (volume 28146) fills 28, bar 7 (7403) 7, ... of 100 shares
    plan = [{"bar": 5, "op": "buy", "size": 100, "tag": "big"}]
    record, run_dir = scripted(
        tmp_path, plan, stop_at=40, volume_share=0.001, commission="0.005/share,min=1"
    )
    pieces = fills_of(record, "big")
    assert len(pieces) >= 5 and sum(p[0] for p in pieces) == 100
    fills = pd.read_csv(run_dir / "fills.csv")
    # 100 x 0.005 = 0.50 < the 1.00 minimum: 1.00 on the first fill, nothing after
    assert list(fills["commission"]) == pytest.approx([1.0] + [0.0] * (len(fills) - 1))
    venue_fills = record["venue"]["fills"]
    assert [f["commission"] for f in venue_fills] == pytest.approx(list(fills["commission"]))
    assert pd.read_csv(run_dir / "orders.csv").loc[0, "commission"] == pytest.approx(1.0)
    notional = sum(q * p for q, p in pieces)
    assert record["cash"] == pytest.approx(100_000.0 - notional - 1.0, abs=1e-6)
    assert_broker_matches_venue(record)


def test_an_order_unanswered_when_the_run_ends_is_settled_not_left_submitted(
    tmp_path: Path,
) -> None:
    # ten 503s on the last bar: neither the submission nor its look-up is answered; the
    # graceful stop looks it up once more, finds the venue never had it, and says so
    plan = [{"bar": 9, "op": "faults", "body": {"rest_errors": [[503, 10]]}}]
    plan.append({"bar": 9, "op": "buy", "size": 10, "tag": "late"})
    record, run_dir = scripted(tmp_path, plan, stop_at=9)
    assert record["venue"]["orders"] == []
    orders = pd.read_csv(run_dir / "orders.csv")
    assert list(orders["status"]) == ["rejected"]
    assert orders.loc[0, "reason"] == "the run ended before the venue took it"
    assert venue_events(run_dir)["reason"].tolist() == ["the run ended before the venue took it"]


def guarded_backtest(root: Path, *, preload: bool, latency_ms: int = 500) -> tuple[Any, Path]:
    """The `guarded_run` strategy and signals in `parity run backtest` on the same bars."""
    from parity.config import BacktestConfig
    from parity.runners.backtest import run_backtest

    strategy = root / "guarded.py"
    strategy.write_text(GUARDED)
    out = root / f"backtest-{preload}.json"
    config = BacktestConfig(
        strategy=f"{strategy}:Guarded",
        params={"signals": json.dumps(SIGNALS), "out": str(out)},
        symbols=("IBM",),
        data=str(regular_hours(root / f"bt-{preload}")),
        start=dt.date(2013, 10, 4),
        end=dt.date(2013, 10, 7),
        cash=100_000.0,
        commission="0",
        slippage="0",
        latency_ms=latency_ms,
        preload=preload,
        runs_dir=root / f"bt-runs-{preload}",
    )
    result = run_backtest(config)
    return json.loads(out.read_text()), result.run_dir


@pytest.mark.parametrize("preload", [True, False])
def test_a_day_order_left_no_bar_by_its_latency_expires_in_the_backtest_too(
    tmp_path: Path, preload: bool
) -> None:
    """Decided on 10-04 15:58 with 500 ms latency, the market day order cannot fill on the 15:59
    bar: the venue (as Alpaca) expires it at the close, and so does the backtest, instead of
    filling it at Monday's open. Fills, orders and equity agree to the cent."""
    (tmp_path / f"bt-{preload}").mkdir()
    want, backtest_dir = guarded_backtest(tmp_path, preload=preload)
    got, paper_dir = guarded_run(tmp_path)
    statuses_of = [e["status"] for e in want["events"]]
    assert statuses_of.count("Expired") == 1
    assert [e["status"] for e in got["events"]] == statuses_of
    assert got["skipped"] == want["skipped"] == []

    def fills(run_dir: Path) -> list[tuple[Any, ...]]:
        frame = pd.read_csv(run_dir / "fills.csv")
        columns = ("datetime", "side", "qty", "price")
        return list(zip(*(frame[c] for c in columns), strict=True))

    assert fills(backtest_dir) == fills(paper_dir)
    assert [t for t, *_ in fills(backtest_dir)] == [
        "2013-10-04 10:02:00",
        "2013-10-04 11:02:00",
        "2013-10-07 10:02:00",
        "2013-10-07 11:02:00",
    ]

    def orders(run_dir: Path) -> list[tuple[Any, ...]]:
        frame = pd.read_csv(run_dir / "orders.csv")
        return list(zip(frame["side"], frame["type"], frame["qty"], frame["status"], strict=True))

    assert orders(backtest_dir) == orders(paper_dir)
    assert [o[-1] for o in orders(backtest_dir)].count("expired") == 1

    def final_equity(run_dir: Path) -> float:
        return round(float(pd.read_csv(run_dir / "equity.csv")["value"].iloc[-1]), 2)

    assert final_equity(backtest_dir) == final_equity(paper_dir)
