"""Option regulatory fees as Alpaca reports them: `FEE` account activities with an
`activity_sub_type` (`ORF`, `OCC`, `TAF`), not part of the commission. The local venue with
`OptionCosts.regulatory_fees` on charges each leg's fill its fees as such rows; the paper run
books each row once, into cash and the fees of the leg's fill. A lock-step rehearsal of
`put_credit_spread` (two-leg combos: every leg bought and sold, so every fee applies) with the
same fees on both sides ends with the backtest's cash to the cent, every fill's fees equal."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alpaca.trading.client import TradingClient

from parity.config import BacktestConfig
from parity.feeds.loader import load_bars
from parity.options.costs import OptionCosts
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe
from parity.venue import VenueConfig, VenueServer
from parity.venue.persist import VenueStore

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(600)]

WINDOW = {"start": dt.date(2012, 1, 3), "end": dt.date(2012, 4, 27)}  # ends flat
FEES = OptionCosts(commission_per_contract=0.0, slippage=0.0, regulatory_fees=True)
COMMON: dict[str, Any] = {"strategy": "put_credit_spread", "symbols": ("IBM",),
                          "data": "sample:daily", "commission": "0", "slippage": "0",
                          "cash": 100_000.0, **WINDOW}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import parity.venues.local.session as local

    root = tmp_path_factory.mktemp("fees")
    backtest = run_backtest(
        BacktestConfig(**COMMON, runs_dir=root / "bt"),
        options={"costs": {"commission_per_contract": 0.0, "slippage": 0.0,
                           "regulatory_fees": True}},
    ).run_dir  # fmt: skip
    # the venue's option costs (no run flag sets them yet): its fills charge these fees
    with pytest.MonkeyPatch.context() as patch:
        plain = local.venue_config
        patch.setattr(
            local, "venue_config", lambda c: dataclasses.replace(plain(c), option_costs=FEES)
        )
        paper = run_paper(
            PaperConfig(
                **COMMON, venue="local", timeframe=parse_timeframe("1Day"), runs_dir=root / "paper"
            )
        ).run_dir
    return backtest, paper


def test_cash_with_regulatory_fees_equals_the_backtest_to_the_cent(
    runs: tuple[Path, Path],
) -> None:
    backtest, paper = runs
    fills_bt = pd.read_csv(backtest / "options_fills.csv")
    fills_paper = pd.read_csv(paper / "options_fills.csv")
    trades = fills_bt[fills_bt["kind"] == "trade"]
    assert len(trades) >= 20 and (trades["fees"] > 0).all()
    assert (trades.loc[trades["qty"] < 0, "fees"] > trades.loc[trades["qty"] < 0, "qty"].abs()
            * (FEES.orf_per_contract + FEES.occ_per_contract) - 1e-9).all()  # fmt: skip
    for column in ("fees", "commission", "cash", "qty", "price"):
        pd.testing.assert_series_equal(fills_paper[column], fills_bt[column], check_exact=False,
                                       rtol=1e-9, atol=1e-9)  # fmt: skip
    equity_bt = pd.read_csv(backtest / "equity.csv")
    equity_paper = pd.read_csv(paper / "equity.csv")
    # every bar's value to the cent; cash at the end (an assignment's shares sold at the next
    # open move a day's cash apart, as in the rehearsal without fees)
    assert (equity_paper["value"] - equity_bt["value"]).abs().max() < 0.005
    assert abs(equity_paper["cash"].iloc[-1] - equity_bt["cash"].iloc[-1]) < 0.005
    assert float(trades["fees"].sum()) > 1.0


def test_the_venue_reports_each_fee_as_a_fee_activity_booked_once(
    runs: tuple[Path, Path],
) -> None:
    """The venue's FEE rows (read back from its saved state, through alpaca-py's paging) name
    ORF, OCC and TAF; their total is the fees the paper run booked, once."""
    _backtest, paper = runs
    fills = pd.read_csv(paper / "options_fills.csv")
    booked = float(fills.loc[fills["kind"] == "trade", "fees"].sum())
    # a venue continuing the paper run's final state file, its activities read over HTTP
    data = load_bars("sample:daily", ["IBM"], start=WINDOW["start"], end=WINDOW["end"])
    keys = ("fee-key", "fee-secret")
    config = VenueConfig(data=data, keys=keys, option_costs=FEES)
    with VenueServer(config, store=VenueStore(paper / "venue.sqlite")) as venue:
        assert venue.restored
        client = TradingClient(*keys, paper=True, url_override=venue.base_url)
        rows: list[dict[str, Any]] = []
        query: dict[str, Any] = {"direction": "asc", "page_size": 100}
        while True:
            page = client.get("/account/activities/FEE", query)
            assert isinstance(page, list)
            rows += page
            if len(page) < 100:
                break
            query["page_token"] = page[-1]["id"]
    names = {row.get("activity_sub_type") for row in rows}
    assert names == {"ORF", "OCC", "TAF"}
    charged = -sum(float(row["net_amount"]) for row in rows)
    assert charged == pytest.approx(booked, abs=1e-6)
