"""Option regulatory fees as Alpaca charges them (`fee_report="daily"`): after each session's
close, one FEE activity per fee type with the day's total rounded up to the cent, naming no
order. A lock-step rehearsal of `put_credit_spread` with those fees on the local venue books
each daily row once, into cash, as a `fee` row of its day in `options_fills.csv`; its final
cash is the backtest's (the same fees, charged exactly per fill) less the rounding, to the
cent. The rounding is computed here from the run's own fills, independently of the venue."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alpaca.trading.client import TradingClient

from parity.config import BacktestConfig
from parity.errors import ConfigError
from parity.feeds.loader import load_bars
from parity.options.costs import OptionCosts
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe
from parity.venue import VenueConfig, VenueServer
from parity.venue.config import VenueOptionTerms
from parity.venue.persist import VenueStore

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(600)]

WINDOW = {"start": dt.date(2012, 1, 3), "end": dt.date(2012, 4, 27)}  # ends flat
FEES = OptionCosts(commission_per_contract=0.0, slippage=0.0, regulatory_fees=True)
COMMON: dict[str, Any] = {"strategy": "put_credit_spread", "symbols": ("IBM",),
                          "data": "sample:daily", "commission": "0", "slippage": "0",
                          "cash": 100_000.0, **WINDOW}  # fmt: skip
# the published rates (alpaca-options-protocol.md 7.6), typed out: ORF and OCC per contract,
# TAF per contract sold
RATES = {"ORF": Decimal("0.02685"), "OCC": Decimal("0.02"), "TAF": Decimal("0.00279")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("daily_fees")
    backtest = run_backtest(
        BacktestConfig(**COMMON, runs_dir=root / "bt"),
        options={"costs": {"commission_per_contract": 0.0, "slippage": 0.0,
                           "regulatory_fees": True}},
    ).run_dir  # fmt: skip
    paper = run_paper(
        PaperConfig(
            **COMMON,
            venue="local",
            timeframe=parse_timeframe("1Day"),
            runs_dir=root / "paper",
            venue_options={
                "commission_per_contract": 0.0,
                "slippage": 0.0,
                "regulatory_fees": True,
                "fee_report": "daily",
            },
        )
    ).run_dir
    return backtest, paper


def _rounding(fills: pd.DataFrame) -> tuple[Decimal, dict[tuple[str, str], Decimal]]:
    """Per day and fee type: the exact fees of the day's leg fills, and the sum over days and
    types of (the total rounded up to the cent - the total)."""
    trades = fills[fills["kind"] == "trade"]
    exact: dict[tuple[str, str], Decimal] = {}
    for row in trades.itertuples():
        day, n = str(row.datetime)[:10], abs(int(row.qty))
        for name, rate in RATES.items():
            if name == "TAF" and int(row.qty) > 0:
                continue
            exact[(day, name)] = exact.get((day, name), Decimal(0)) + n * rate
    rounding = sum(
        (v.quantize(Decimal("0.01"), rounding=ROUND_CEILING) - v for v in exact.values()),
        Decimal(0),
    )
    return rounding, exact


def test_final_cash_is_the_backtests_less_the_daily_rounding_to_the_cent(
    runs: tuple[Path, Path],
) -> None:
    backtest, paper = runs
    fills_bt = pd.read_csv(backtest / "options_fills.csv")
    fills_paper = pd.read_csv(paper / "options_fills.csv")
    trades_paper = fills_paper[fills_paper["kind"] == "trade"]
    trades_bt = fills_bt[fills_bt["kind"] == "trade"]
    assert len(trades_paper) >= 20
    # the same trades at the same prices; no fee names an order: the legs carry none
    for column in ("qty", "price"):
        pd.testing.assert_series_equal(
            trades_paper[column].reset_index(drop=True), trades_bt[column].reset_index(drop=True)
        )
    assert (trades_paper["fees"] == 0).all() and (trades_bt["fees"] > 0).all()
    rounding, exact = _rounding(fills_paper)
    assert rounding > Decimal("0.05")  # the test has something to measure
    # a fee row per day and type traded, each the day's total rounded up to the cent
    fee_rows = fills_paper[fills_paper["kind"] == "fee"]
    charged = {
        (str(r.datetime)[:10], str(r.symbol)): Decimal(str(r.fees)) for r in fee_rows.itertuples()
    }
    assert len(charged) == len(fee_rows)  # once each
    assert charged == {
        key: v.quantize(Decimal("0.01"), rounding=ROUND_CEILING) for key, v in exact.items()
    }
    assert abs(float(sum(exact.values())) - float(trades_bt["fees"].sum())) < 1e-6
    cash_bt = pd.read_csv(backtest / "equity.csv")["cash"].iloc[-1]
    cash_paper = pd.read_csv(paper / "equity.csv")["cash"].iloc[-1]
    assert abs(cash_paper - (cash_bt - float(rounding))) < 0.005


def test_each_daily_row_of_the_venue_is_booked_exactly_once(runs: tuple[Path, Path]) -> None:
    """The venue's FEE rows (read back from its saved state through alpaca-py) name no order,
    have unique ids and dates; the run booked each one once, and no other."""
    _backtest, paper = runs
    data = load_bars("sample:daily", ["IBM"], start=WINDOW["start"], end=WINDOW["end"])
    keys = ("fee-key", "fee-secret")
    config = VenueConfig(data=data, keys=keys, option_costs=FEES, option_fee_report="daily")
    with VenueServer(config, store=VenueStore(paper / "venue.sqlite")) as venue:
        assert venue.restored
        client = TradingClient(*keys, paper=True, url_override=venue.base_url)
        rows = client.get("/account/activities/FEE", {"direction": "asc", "page_size": 100})
    assert isinstance(rows, list) and 0 < len(rows) < 100
    assert all("order_id" not in r and "order" not in r["description"] for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({(r["date"], r["activity_sub_type"]) for r in rows}) == len(rows)
    fills = pd.read_csv(paper / "options_fills.csv")
    booked = fills[fills["kind"] == "fee"]
    assert sorted((str(d)[:10], s, round(f, 2)) for d, s, f in
                  zip(booked["datetime"], booked["symbol"], booked["fees"], strict=True)) == sorted(
        (r["date"], r["activity_sub_type"], -float(r["net_amount"])) for r in rows
    )  # fmt: skip


def test_a_bad_fee_report_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match=r"--venue-option-fee-report 'weekly'.*per_fill or daily"):
        VenueOptionTerms.parse(fee_report="weekly", flag="--venue-option")
    with pytest.raises(ConfigError, match="option_fee_report 'hourly'"):
        VenueConfig(
            data=load_bars("sample:daily", ["IBM"], start=WINDOW["start"], end=WINDOW["end"]),
            option_fee_report="hourly",
        )


def test_the_fee_report_flags_reach_the_venue_and_refuse_a_bad_value() -> None:
    from parity.cli.venue_options import venue_option_terms

    terms = venue_option_terms(
        {"venue_option_reg_fees": True, "venue_option_fee_report": "daily"}, "venue-option"
    )
    assert terms.fee_report == "daily" and terms.costs() == FEES
    assert terms.describe() == {"regulatory_fees": True, "fee_report": "daily"}
    with pytest.raises(ConfigError, match=r"^--option-fee-report 'eod' is not a fee report"):
        venue_option_terms({"option_fee_report": "eod"}, "option")
