"""The options alerts from a real options rehearsal on the local venue (`option_runs.
combo_paper_run`: alpaca-py's clients over loopback, the venue's fault plan rejecting the first
combo): the run's own alert thread journals a critical alert for the rejected combo naming its
legs and the venue's message (and nothing for its legs), a warning per assignment and an info
per expiry, each once; no spread alert, as the venue quotes the backtest's own model. The spread
rule is then driven by the same journal rows plus one constructed leg fill that paid a wider
spread: it fires once beyond the band and not below it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from option_runs import REJECTED, RUN_ID, VENUE_MESSAGE, combo_paper_run

from parity.alerts.config import AlertConfig
from parity.alerts.dispatch import AlertDispatcher
from parity.alerts.engine import AlertEngine
from parity.alerts.rules import Alert, Rules
from parity.journal.reader import JournalReader
from parity.journal.writer import Journal

pytestmark = [pytest.mark.timeout(300), pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return combo_paper_run(tmp_path_factory.mktemp("option-alerts"))


def journaled_alerts(run_dir: Path) -> pd.DataFrame:
    reader = JournalReader.open(run_dir / "journal.sqlite")
    try:
        events = reader.events(RUN_ID, "alert")
    finally:
        reader.close()
    payload = pd.DataFrame(list(events["payload"]))
    return payload.assign(level=list(events["level"]))


def test_a_rejected_combo_alerts_once_naming_its_legs_and_the_venues_message(
    run_dir: Path,
) -> None:
    orders = pd.read_csv(run_dir / "options_orders.csv")
    first = orders.iloc[0]
    assert (first["status"], first["reason"]) == ("rejected", VENUE_MESSAGE)
    assert first["legs"] == "-1xIBM120202P00192000 +1xIBM120202P00187000"
    alerts = journaled_alerts(run_dir)
    combo = alerts[alerts["rule"] == "combo_rejected"]
    assert len(combo) == 1
    row = combo.iloc[0]
    assert row["level"] == "critical"
    assert row["title"] == "combo rejected (IBM, 2 legs)"
    assert row["message"] == (
        f"combo {REJECTED} (-2 IBM120202P00192000, +2 IBM120202P00187000) was rejected: "
        f"{VENUE_MESSAGE}"
    )
    # its legs' rejections (journaled too) raise nothing of their own
    assert "order_rejected" not in set(alerts["rule"])


def test_each_assignment_warns_once_and_each_expiry_is_info(run_dir: Path) -> None:
    fills = pd.read_csv(run_dir / "options_fills.csv")
    alerts = journaled_alerts(run_dir)
    assigned = fills[fills["kind"] == "assignment"]
    assert len(assigned) == 1
    warned = alerts[alerts["rule"] == "option_assignment"]
    assert len(warned) == 1 and warned.iloc[0]["level"] == "warning"
    a = assigned.iloc[0]
    assert warned.iloc[0]["message"] == (
        f"assignment of {a['symbol']} on {a['expiry']}: position {-a['qty']:+g} closed, "
        f"{a['shares']:+g} shares at the strike, cash {a['cash']:+,.2f} (underlying "
        f"{a['underlying_price']})"
    )
    assert warned.iloc[0]["message"].startswith(
        "assignment of IBM120229P00197000 on 2012-02-29: position -2 closed, +200 shares"
    )
    expired = fills[fills["kind"] == "expiry"]
    infos = alerts[alerts["rule"] == "option_expiry"]
    assert len(expired) > 10 and len(infos) == len(expired)
    assert set(infos["level"]) == {"info"}
    assert sorted(infos["symbol"]) == sorted(expired["symbol"])


def test_no_spread_alert_on_quotes_the_backtests_model_made(run_dir: Path) -> None:
    alerts = journaled_alerts(run_dir)
    assert "option_spread" not in set(alerts["rule"])
    reader = JournalReader.open(run_dir / "journal.sqlite")
    try:
        paid = reader.option_fill_costs(RUN_ID)
    finally:
        reader.close()
    legs = pd.read_csv(run_dir / "options_fills.csv").query("kind == 'trade'")
    assert len(paid) == len(legs) == 20  # every leg's fill, with its mid and spread paid
    assert paid["mid"].tolist() == pytest.approx(legs["mid"].tolist(), abs=1e-9)
    assert paid["spread_cost"].tolist() == pytest.approx(legs["spread_cost"].tolist(), abs=1e-9)


def spread_alerts(journal_path: Path, config: AlertConfig) -> list[Alert]:
    reader = JournalReader.open(journal_path)
    try:
        engine = AlertEngine(reader, RUN_ID, Rules(config), AlertDispatcher(config))
        return [a for a in engine.poll() if a.rule == "option_spread"]
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("half_spread_paid", "band", "fires"),
    [(0.05, None, True), (0.044, None, False), (0.05, "70%", False), (0.05, "60%", True)],
)
def test_a_leg_that_paid_a_wider_spread_alerts_beyond_the_band(
    run_dir: Path, tmp_path: Path, half_spread_paid: float, band: str | None, fires: bool
) -> None:
    """The run's journal plus one constructed leg: sold 2 contracts at a mid of 2.00 paying
    `half_spread_paid` of it (the model quotes 3%: 0.06 a share either side of 2.00)."""
    path = tmp_path / "journal.sqlite"
    shutil.copy(run_dir / "journal.sqlite", path)
    journal = Journal.open(path, create=False)
    journal.resume_run(RUN_ID)
    at = dt.datetime(2012, 3, 2, 9, 30)
    cid, symbol = f"{RUN_ID}-000900-L1", "IBM120302P00196000"
    journal.intent(cid, seq=900, symbol=symbol, side="sell", qty=2, type="leg",
                   decided_at=at, leg=1, parent=f"{RUN_ID}-000900", asset_class="option",
                   multiplier=100.0)  # fmt: skip
    paid = half_spread_paid * 2.0
    journal.fill(cid, order_seq=900, symbol=symbol, side="sell", cum_qty=2, qty=2,
                 price=2.0 - paid, commission=0.0, at=at, mid=2.0,
                 spread_cost=round(2 * 100 * paid, 6), slippage_cost=0.0)  # fmt: skip
    journal.close()
    config = AlertConfig() if band is None else AlertConfig(spread_band_pct=float(band[:-1]))
    raised = spread_alerts(path, config)
    if not fires:
        assert raised == []
        return
    assert len(raised) == 1
    alert = raised[0]
    measured = f"{half_spread_paid:.2%}"
    beyond = f"{half_spread_paid / 0.03 * 100 - 100:+.0f}%"
    assert (alert.severity, alert.symbol) == ("warning", symbol)
    assert alert.title == f"spread beyond its assumption: {symbol}"
    assert alert.message == (
        f"{symbol} sell 2 at {2.0 - paid:g}: half spread paid {paid:.4f} = {measured} of mid 2, "
        f"assumed 3.00% ({beyond}, band {config.spread_band_pct:g}%)"
    )
    assert alert.value == pytest.approx(half_spread_paid * 100)
    assert alert.threshold == pytest.approx(3.0 * (1 + config.spread_band_pct / 100))
