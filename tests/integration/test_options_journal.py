"""Option orders, fills and events are the run's own: a `put_credit_spread` backtest journals
each combo with its legs, each leg's fill, and every expiry, exercise and assignment, and the
journal's rows equal the options desk's book to the cent; `orders.csv`/`fills.csv`/`trades.csv`
are those rows, the daily report and `parity runs show` show them, with preload on and off
alike."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.config import BacktestConfig
from parity.engine.simulate import Recording, simulate
from parity.feeds.loader import load_bars
from parity.feeds.synthetic import session_bars
from parity.instruments.calendars import calendar_named
from parity.journal.reader import JournalReader
from parity.reports.daily import daily_report
from parity.reports.render import to_text
from parity.runners.backtest import run_backtest
from parity.runners.daily import open_inputs
from parity.timeframe import DAILY

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

EVENT_KINDS = ("expiry", "exercise", "assignment", "cash_settlement")


@pytest.fixture(scope="module")
def spy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's seeded SPY-like underlying, June to September 2023 (its put spreads expire,
    some are assigned, some exercised)."""
    frame = session_bars(
        calendar_named("XNYS"), dt.date(2023, 6, 1), dt.date(2023, 9, 29), DAILY,
        seed=3, price=470.0, volatility=0.008,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("spy") / "SPY.csv"
    frame.to_csv(path, index_label="date")
    return path


def _backtest(spy_csv: Path, runs: Path, *, preload: bool = True) -> Path:
    config = BacktestConfig(
        strategy="put_credit_spread", data=str(spy_csv), symbols=("SPY",), runs_dir=runs,
        preload=preload,
    )  # fmt: skip
    return run_backtest(config, run_id="pcs").run_dir


def _cash(fills: pd.DataFrame, multipliers: dict[str, float]) -> pd.Series:
    sign = fills["side"].map({"buy": 1.0, "sell": -1.0})
    mult = fills["symbol"].map(lambda s: multipliers.get(s, 1.0))
    return -sign * fills["qty"] * fills["price"] * mult - fills["commission"]


@pytest.fixture(scope="module")
def run_dir(spy_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _backtest(spy_csv, tmp_path_factory.mktemp("runs"))


def test_the_journal_holds_every_leg_with_its_combo_and_equals_the_book_to_the_cent(
    run_dir: Path,
) -> None:
    reader = JournalReader.open(run_dir / "journal.sqlite")
    try:
        orders, fills = reader.orders("pcs"), reader.fills("pcs")
        intents, events = reader.intents("pcs"), reader.events("pcs")
        multipliers = reader.multipliers("pcs")
        positions = reader.positions("pcs")
    finally:
        reader.close()
    book = pd.read_csv(run_dir / "options_fills.csv")
    book_orders = pd.read_csv(run_dir / "options_orders.csv")
    assert set(book["kind"]) >= {"trade", "expiry", "assignment", "exercise"}

    # the artifacts are the journal's exports
    on_disk = pd.read_csv(run_dir / "fills.csv")
    assert on_disk["client_order_id"].tolist() == fills["client_order_id"].tolist()
    assert on_disk["kind"].tolist() == fills["kind"].tolist()
    assert pd.read_csv(run_dir / "orders.csv")["parent"].fillna("").tolist() == (
        orders["parent"].fillna("").tolist()
    )

    # each combo: one order on the underlying, signed like Alpaca's mleg (+ debit, - credit),
    # and one order per leg naming it as parent, with the leg's number and contracts
    legs = orders[orders["type"] == "leg"]
    combos = orders[orders["client_order_id"].isin(set(legs["parent"]))]
    submitted = book_orders[book_orders["legs"].str.count("x") == 2]
    assert len(combos) == len(submitted) and len(legs) == 2 * len(submitted)
    for combo, want in zip(combos.itertuples(), submitted.itertuples(), strict=True):
        mine = legs[legs["parent"] == combo.client_order_id]
        assert combo.symbol == "SPY" and mine["leg"].tolist() == [1, 2]
        assert (
            " ".join(
                f"{'+' if s == 'buy' else '-'}{q // want.qty}x{sym}"
                for s, q, sym in zip(mine["side"], mine["qty"], mine["symbol"], strict=True)
            )
            == want.legs
        )
        status = {"filled": "completed"}.get(want.status, want.status)
        assert (combo.status, combo.qty, combo.filled_qty) == (status, want.qty, want.filled)
        if want.status == "filled":
            assert combo.avg_fill_price == pytest.approx(want.net, abs=1e-9)
            assert set(mine["status"]) == {"completed"}
    leg_rows = intents[intents["leg"].notna()]
    assert set(leg_rows["asset_class"]) == {"option"} and set(leg_rows["multiplier"]) == {100.0}

    # every fill of the book, leg by leg, in its order, to the cent
    options = fills[fills["symbol"] != "SPY"].reset_index(drop=True)
    assert len(options) == len(book)
    assert options["kind"].tolist() == book["kind"].tolist()
    assert options["symbol"].tolist() == book["symbol"].tolist()
    signed = options["qty"].where(options["side"] == "buy", -options["qty"])
    assert signed.tolist() == book["qty"].tolist()
    trades = book["kind"] == "trade"
    assert options.loc[trades, "price"].round(6).tolist() == book.loc[trades, "price"].tolist()
    assert (
        options["commission"].round(6).tolist()
        == (book["commission"] + book["fees"]).round(6).tolist()
    )
    assert (options.loc[~trades & (book["kind"] != "cash_settlement"), "price"] == 0).all()
    # the shares of each exercise and assignment are fills on the underlying at the strike
    physical = book[book["shares"] != 0]
    shares = fills[fills["symbol"] == "SPY"]
    delivered = shares[shares["kind"] != "trade"]
    assert delivered["kind"].tolist() == physical["kind"].tolist()
    assert delivered["price"].tolist() == physical["strike"].tolist()
    assert delivered["qty"].where(delivered["side"] == "buy", -delivered["qty"]).tolist() == (
        physical["shares"].tolist()
    )
    # cash: the journal's option fills and deliveries move exactly the book's cash
    journaled = _cash(pd.concat([options, delivered]), multipliers).sum()
    assert round(journaled, 2) == round(book["cash"].sum(), 2)
    # positions from the journal: every contract back to flat, the shares the broker holds
    assert all(q == 0 for s, q in positions.items() if s != "SPY")

    # each event is an event too, with what it moved
    for kind in EVENT_KINDS:
        rows = events[events["kind"] == f"option_{kind}"]
        assert len(rows) == int((book["kind"] == kind).sum()), kind
    assigned = events[events["kind"] == "option_assignment"].iloc[0]
    first = physical[physical["kind"] == "assignment"].iloc[0]
    assert assigned["level"] == "warning"
    assert (assigned["payload"]["symbol"], assigned["payload"]["cash"]) == (
        first["symbol"],
        first["cash"],
    )

    # trades.csv: the option round trips sum to the book's option cash of the closed contracts
    round_trips = pd.read_csv(run_dir / "trades.csv")
    option_trips = round_trips[round_trips["symbol"] != "SPY"]
    own = book["cash"].where(book["shares"] == 0, 0.0)  # a delivery's cash is the shares'
    assert round(option_trips["pnl_net"].sum(), 2) == round(own.sum(), 2)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["trades"] == len(round_trips)


def test_the_daily_report_and_runs_show_include_the_options(run_dir: Path) -> None:
    book = pd.read_csv(run_dir / "options_fills.csv", parse_dates=["datetime"])
    assigned = book[book["kind"] == "assignment"].iloc[0]
    day = assigned["datetime"].date()
    report = daily_report(open_inputs(run_dir), day)
    section = report.options
    kinds = [e["kind"] for e in section["events"]]
    today = book[(book["datetime"].dt.date == day) & (book["kind"] != "trade")]
    assert kinds == today["kind"].tolist()
    event = section["events"][kinds.index("assignment")]
    assert (event["symbol"], event["shares"], event["cash"]) == (
        assigned["symbol"],
        assigned["shares"],
        assigned["cash"],
    )
    assert section["greeks"]["as_of"].startswith(day.isoformat())
    fills = report.trades["fills"]
    assert [f["kind"] for f in fills if f["symbol"] == assigned["symbol"]][-1] == "assignment"
    text = to_text(report)
    assert f"assignment {assigned['symbol']} qty +2, shares +200" in text
    # every amount of the section carries the run's currency
    cash = assigned["cash"]
    assert f"cash {'+' if cash >= 0 else '-'}${abs(cash):,.2f}" in text
    assert f"contracts worth ${section['greeks']['option_value']:,.2f}" in text
    # the day a combo was submitted lists it with its legs and how it filled
    orders = pd.read_csv(run_dir / "options_orders.csv", parse_dates=["submitted_at"])
    first = orders.iloc[0]
    report = daily_report(open_inputs(run_dir), first["submitted_at"].date())
    (listed,) = report.options["orders"]
    assert listed["legs"] == " ".join(
        f"{leg[0]}{int(leg[1:].split('x')[0]) * first['qty']} {leg.split('x')[1]}"
        for leg in first["legs"].split()
    )
    assert listed["status"] == "completed" and listed["avg_fill_price"] == first["net"]

    # the period's option costs: the cost breakdown of the fills made that day
    fills_on = book[(book["datetime"].dt.date == day) & (book["kind"] == "trade")]
    costs = daily_report(open_inputs(run_dir), day).options["costs"]
    for name in ("spread_cost", "slippage_cost", "commission", "fees"):
        assert costs[name] == pytest.approx(fills_on[name].sum(), abs=1e-6), name
    assert costs["contracts"] == fills_on["qty"].abs().sum() > 0
    whole = daily_report(open_inputs(run_dir), book["datetime"].max().date())
    metrics = json.loads((run_dir / "metrics.json").read_text())["options"]["costs"]
    assert whole.options["costs"]["spread_cost"] == pytest.approx(  # a day's, not the run's
        book.loc[(book["datetime"].dt.date == book["datetime"].max().date()), "spread_cost"].sum()
    )
    assert metrics["spread_cost"] == round(book["spread_cost"].sum(), 2)

    shown = CliRunner().invoke(cli, ["runs", "show", str(run_dir)])
    assert shown.exit_code == 0, shown.output
    metrics = json.loads((run_dir / "metrics.json").read_text())["options"]
    events = metrics["events"]
    assert (
        f"option events: exercise {events['exercise']}, assignment {events['assignment']}, "
        f"expiry {events['expiry']}, cash_settlement 0" in shown.output
    )
    assert f"options: {metrics['trades']} trades closed" in shown.output


def test_preload_on_and_off_journal_the_same_option_rows(spy_csv: Path, tmp_path: Path) -> None:
    frames = []
    for preload in (True, False):
        run = _backtest(spy_csv, tmp_path / str(preload), preload=preload)
        reader = JournalReader.open(run / "journal.sqlite")
        try:
            events = reader.events("pcs")
            frames.append(
                (
                    reader.orders("pcs"),
                    reader.fills("pcs"),
                    events[events["kind"].str.startswith("option")][["kind", "payload"]],
                )
            )
        finally:
            reader.close()
    for on, off in zip(*frames, strict=True):
        pd.testing.assert_frame_equal(on.reset_index(drop=True), off.reset_index(drop=True))
    assert len(frames[0][1]) > 100


def test_simulate_frames_are_the_journal_exports_with_options(spy_csv: Path, run_dir: Path) -> None:
    loaded = load_bars(str(spy_csv), ["SPY"], session="regular")
    memory = simulate(loaded, "put_credit_spread", {}, recording=Recording(id_prefix="pcs"))
    reader = JournalReader.open(run_dir / "journal.sqlite")
    try:
        pd.testing.assert_frame_equal(memory.orders, reader.orders("pcs"))
        pd.testing.assert_frame_equal(memory.fills, reader.fills("pcs"))
    finally:
        reader.close()
