"""Risk limits from flags and run files: every option, round trip, and one-line errors."""

from __future__ import annotations

import datetime as dt

import pytest

from parity.config import read_run_file
from parity.errors import ConfigError
from parity.risk.limits import RiskLimits


def test_every_option_parses():
    limits = RiskLimits.from_mapping(
        {
            "max_position_shares": "100",
            "max_position_notional": "25000",
            "max_gross_exposure": "150%,200000",
            "max_open_positions": "5",
            "max_orders_per_day": "20",
            "daily_loss_limit": "2%,5000",
            "max_drawdown": "15%",
            "trading_hours": "09:35-15:55",
            "flatten_on_kill": "true",
        }
    )
    assert limits == RiskLimits(
        max_position_shares=100,
        max_position_notional=25000,
        max_gross_exposure=1.5,
        max_gross_notional=200000,
        max_open_positions=5,
        max_orders_per_day=20,
        daily_loss_pct=0.02,
        daily_loss_amount=5000,
        max_drawdown=0.15,
        trading_start=dt.time(9, 35),
        trading_end=dt.time(15, 55),
        flatten_on_kill=True,
    )
    assert limits.active
    assert RiskLimits.from_mapping(limits.describe()) == limits  # the manifest form round-trips


@pytest.mark.parametrize(
    ("option", "text", "fields"),
    [
        ("max_gross_exposure", "1.5x", {"max_gross_exposure": 1.5}),
        ("max_gross_exposure", "250000", {"max_gross_notional": 250000}),
        ("daily_loss_limit", "5000", {"daily_loss_amount": 5000}),
        ("daily_loss_limit", "2%", {"daily_loss_pct": 0.02}),
        ("max_drawdown", "0.2", {"max_drawdown": 0.2}),
    ],
)
def test_percent_or_amount_forms(option, text, fields):
    assert RiskLimits.from_mapping({option: text}) == RiskLimits(**fields)


@pytest.mark.parametrize(
    ("option", "text", "example"),
    [
        ("max-position-shares", "lots", "--max-position-shares 100"),
        ("max-position-shares", "-5", "--max-position-shares 100"),
        ("max-open-positions", "2.5", "--max-open-positions 5"),
        ("max-orders-per-day", "0", "--max-orders-per-day 20"),
        ("daily-loss-limit", "2", "--daily-loss-limit 2%"),
        ("daily-loss-limit", "120%", "--daily-loss-limit 2%"),
        ("max-drawdown", "150", "--max-drawdown 15%"),
        ("max-gross-exposure", "abc%", "--max-gross-exposure 150%"),
        ("trading-hours", "9-10", "--trading-hours 09:35-15:55"),
        ("trading-hours", "15:55-09:35", "--trading-hours 09:35-15:55"),
        ("flatten-on-kill", "maybe", "--flatten-on-kill true"),
    ],
)
def test_bad_flag_is_one_line_naming_the_flag_and_an_example(option, text, example):
    with pytest.raises(ConfigError) as info:
        RiskLimits.from_mapping({option: text})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"--{option} {text!r} is invalid")
    assert example in message


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown risk limit 'max_leverage'.*max_drawdown"):
        RiskLimits.from_mapping({"max_leverage": 2})


def test_flags_win_over_the_run_file_key_by_key(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("risk:\n  max_orders_per_day: 3\n  max_drawdown: 0.1\n")
    file_limits = read_run_file(path)["risk"]
    merged = file_limits.merged({"max_drawdown": "20%"})
    assert merged == RiskLimits(max_orders_per_day=3, max_drawdown=0.2)


def test_bad_run_file_value_names_the_key(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("risk:\n  trading_hours: morning\n")
    with pytest.raises(ConfigError, match=r"run file: risk.trading_hours 'morning'.*09:35-15:55"):
        read_run_file(path)


def test_trading_hours_window_is_inclusive():
    limits = RiskLimits.from_mapping({"trading_hours": "09:35-15:55"})
    day = dt.date(2013, 10, 4)
    assert limits.within_hours(dt.datetime.combine(day, dt.time(9, 35)))
    assert limits.within_hours(dt.datetime.combine(day, dt.time(15, 55)))
    assert not limits.within_hours(dt.datetime.combine(day, dt.time(9, 34)))
    assert not limits.within_hours(dt.datetime.combine(day, dt.time(15, 56)))
    assert RiskLimits().within_hours(dt.datetime.combine(day, dt.time(3, 0)))
    assert not RiskLimits().active
