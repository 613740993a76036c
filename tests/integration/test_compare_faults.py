"""Divergence that `parity compare` must find and attribute: venue slippage (execution) and a
data-vendor gap (data), each on a one-session local-venue rehearsal of sample:minute IBM."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from parity.feeds.sample import sample_path
from parity.runners.compare import CompareConfig, run_compare
from parity.runners.paper import PaperConfig, run_paper

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(120)]

DAY = dt.date(2013, 10, 4)
PARAMS = {"fast": "5", "slow": "20"}
SLIP_BPS = 2.0  # small enough that many fills are not capped by the bar's range
SLIP = SLIP_BPS / 1e4


def paper(runs: Path, **overrides) -> Path:
    fields = {
        "strategy": "sma_cross",
        "params": PARAMS,
        "symbols": ("IBM",),
        "venue": "local",
        "data": "sample:minute",
        "cash": 100_000.0,
        "start": DAY,
        "end": DAY,
        "runs_dir": runs,
        "slippage": "0",
        **overrides,
    }
    return run_paper(PaperConfig(**fields)).run_dir


def test_venue_slippage_lands_in_fill_price(tmp_path):
    """With X = 2 bps slippage at the venue and a frictionless twin (`twin_costs="zero"`), every
    fill is X bps worse, capped at the fill bar's high (buys) / low (sells) exactly as the venue
    and Backtrader cap slippage, and the waterfall puts it into fill price."""
    run_dir = paper(tmp_path, slippage=f"{SLIP_BPS}bps")
    div = run_compare(
        CompareConfig(paper_run=run_dir.name, runs_dir=tmp_path, twin_costs="zero")
    ).divergence
    wf = div["waterfall"]["components"]
    assert wf["data"] == 0.0 and wf["missed_trades"] == 0.0 and wf["extra_trades"] == 0.0
    rows = div["ledger"]["rows"]
    assert rows and all(r["status"] == "matched" for r in rows)
    tape = pd.read_csv(run_dir / "tape.csv", parse_dates=["datetime"]).set_index("datetime")
    fills = pd.read_csv(run_dir / "fills.csv", parse_dates=["datetime"])
    uncapped, expected_price_pnl = 0, 0.0
    for fill in fills.itertuples(index=False):
        bar = tape.loc[fill.datetime]
        if fill.side == "buy":
            slipped = min(bar["open"] * (1 + SLIP), bar["high"])
        else:
            slipped = max(bar["open"] * (1 - SLIP), bar["low"])
        assert fill.price == pytest.approx(slipped, abs=0.005)  # the venue prices in cents
        worse_bps = abs(slipped - bar["open"]) / bar["open"] * 1e4
        uncapped += worse_bps == pytest.approx(SLIP_BPS)
        expected_price_pnl -= abs(fill.price - bar["open"]) * fill.qty
    for row in rows:
        entry_bar = tape.loc[pd.Timestamp(row["decision_bar"]) :].iloc[1]
        bound = min(bar_bps(entry_bar), SLIP_BPS)
        assert row["entry_gap_bps"] == pytest.approx(bound, abs=0.3)
        assert -0.3 <= row["exit_gap_bps"] <= SLIP_BPS + 0.3
    assert uncapped >= len(fills) // 4  # these show exactly X bps
    assert wf["fill_price"] == pytest.approx(expected_price_pnl, rel=1e-9)
    assert wf["fill_price"] < 0
    total = div["waterfall"]["total"]
    assert abs(wf["partial_fills"]) < 0.05 * abs(total)  # a share of sizing drift at most
    assert abs(wf["residual"]) < 1e-6


def bar_bps(bar: pd.Series) -> float:
    """How far above the open a buy can slip on this bar, in bps."""
    return (bar["high"] - bar["open"]) / bar["open"] * 1e4


def test_vendor_gap_shows_as_data_divergence_at_the_first_dropped_bar(tmp_path):
    """The paper run replays a file with two of the twin's decision bars removed (a data vendor
    gap: nothing to refill from); history is the complete sample."""
    bars = pd.read_csv(sample_path("IBM", "minute"), parse_dates=["datetime"])
    day = bars[bars["datetime"].dt.date == DAY]
    dropped = [pd.Timestamp("2013-10-04 09:51"), pd.Timestamp("2013-10-04 10:25")]
    gapped = tmp_path / "IBM.csv"
    day[~day["datetime"].isin(dropped)].to_csv(gapped, index=False)
    run_dir = paper(tmp_path / "runs", data=str(gapped))
    div = run_compare(
        CompareConfig(paper_run=run_dir.name, runs_dir=tmp_path / "runs", history="sample:minute")
    ).divergence
    first = div["first_divergence"]["data"]
    assert first["datetime"] == dropped[0].isoformat()
    assert first["tape"] == [] and first["history"] == ["buy"]
    assert first["bars"]["tape"] is None
    history_bar = day.set_index("datetime").loc[dropped[0]]
    assert first["bars"]["history"]["open"] == history_bar["open"]
    assert div["first_divergence"]["execution"] is None  # the venue executed the tape faithfully
    wf = div["waterfall"]
    assert wf["components"]["data"] != 0.0
    assert wf["components"]["data"] == pytest.approx(wf["total"], abs=1e-6)
    assert div["data_ledger"]["counts"]["missed"] >= 1
