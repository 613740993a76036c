"""The local venue's own option terms (issue 17 item 4): `parity venue serve --option-*` and
`parity run paper --venue-option-*` reach the venue's configuration; bad values are one-line
errors naming the flag."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.errors import ConfigError
from parity.options.costs import OptionCosts
from parity.runners.paper import PaperConfig
from parity.timeframe import parse_timeframe
from parity.venue.config import VenueOptionTerms
from parity.venue.marketdata import MarketData
from parity.venue.options import VenueOptions
from parity.venues.local.config import venue_config


def test_terms_parse_their_text_forms() -> None:
    terms = VenueOptionTerms.parse(
        spread="5%", tick="0.05", slippage="50bps", commission="0.65/contract",
        regulatory_fees=True,
    )  # fmt: skip
    assert terms.chain() is not None and terms.chain().half_spread == 0.05  # type: ignore[union-attr]
    assert terms.chain().tick == 0.05  # type: ignore[union-attr]
    assert terms.costs() == OptionCosts(
        commission_per_contract=0.65, slippage=0.005, regulatory_fees=True
    )
    spread_only = VenueOptionTerms.parse(spread="0.05")
    assert spread_only.costs() is None  # Alpaca paper's fills, only the quotes are wider
    assert VenueOptionTerms().chain() is None


def test_a_paper_runs_local_venue_gets_them(tmp_path: Path) -> None:
    config = PaperConfig(
        strategy="protective_put", symbols=("IBM",), venue="local", data="sample:daily",
        timeframe=parse_timeframe("1Day"), start=dt.date(2012, 1, 3), end=dt.date(2012, 2, 15),
        runs_dir=tmp_path, venue_options={"half_spread": 0.05, "commission_per_contract": 0.65},
    )  # fmt: skip
    venue = venue_config(config)
    assert venue.option_chain is not None and venue.option_chain.half_spread == 0.05
    assert venue.option_costs == OptionCosts(commission_per_contract=0.65, slippage=0.0)
    assert config.to_dict()["venue_options"] == config.venue_options  # journaled
    # the venue quotes with its own spread: mid -/+ 5% of the mid, outward to the tick
    frames = MarketData(venue.data, None).frames
    options = VenueOptions(frames, venue.data.calendar, params=venue.option_chain)
    quotes = [q for q in options.listed(dt.datetime(2012, 2, 14, 12)) if q.mid > 2]
    assert quotes
    for quote in quotes:
        half = (quote.ask - quote.bid) / 2
        assert 0.05 * quote.mid - 0.01 <= half <= 0.05 * quote.mid + 0.01


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"half_spread": -0.1}, "option model half_spread and max_dte must be >= 0"),
        ({"tick": 0.0}, "option model tick=0.0 must be positive"),
        ({"slippage": 1.5}, "option slippage 1.5 is a fraction of premium"),
        ({"spread": 0.05}, "venue option terms: unknown spread; valid: half_spread, tick"),
    ],
)
def test_bad_terms_in_a_paper_config_are_one_line_errors(
    values: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        PaperConfig(strategy="protective_put", symbols=("IBM",), venue_options=values)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["venue", "serve", "--option-spread", "abc"], "--option-spread 'abc' is not a number"),
        (["venue", "serve", "--option-spread", "150%"], "is a fraction of the mid (< 1)"),
        (["venue", "serve", "--option-tick", "0"], "--option-tick '0' must be a positive"),
        (
            ["venue", "serve", "--option-slippage", "2c"],
            "--option-slippage '2c' is not understood; e.g. --option-slippage 0.5%",
        ),
        (
            ["venue", "serve", "--option-commission", "x"],
            "--option-commission 'x' is not understood; e.g. --option-commission 0.65/contract",
        ),
        (
            [
                "run",
                "paper",
                "protective_put",
                "--symbols",
                "IBM",
                "--venue",
                "local",
                "--venue-option-spread",
                "-1",
            ],
            "--venue-option-spread '-1' must be a non-negative number",
        ),
        (
            [
                "run",
                "paper",
                "protective_put",
                "--symbols",
                "IBM",
                "--venue",
                "local",
                "--venue-option-commission",
                "lots",
            ],
            "--venue-option-commission 'lots' is not understood",
        ),
        (
            [
                "run",
                "paper",
                "protective_put",
                "--symbols",
                "IBM",
                "--venue",
                "local",
                "--iv-mult",
                "0.9,1.1",
            ],
            "--iv-mult takes one value for a paper run",
        ),
    ],
)
def test_bad_flags_are_one_line_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, [*args, *(["--runs-dir", str(tmp_path)] if args[0] == "run" else [])]
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not any(tmp_path.iterdir())


def test_expect_takes_an_options_runs_figures() -> None:
    from parity.runners.compare import parse_expect

    assert parse_expect("daily_pnl=341.77,win_rate=65%") == {"daily_pnl": 341.77, "win_rate": 0.65}
    with pytest.raises(ConfigError, match=r"^--expect: unknown metric 'pnl'; valid: .*daily_pnl"):
        parse_expect("pnl=1")
