"""The options alert rules on constructed rows (the integration test drives them from a real
rehearsal's journal): the spread threshold at its edges, the model's rounded quote as the
assumption, a combo's legs kept quiet, and the config's options thresholds from flags and the
YAML file with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.alerts.config import AlertConfig, alert_config
from parity.alerts.option_rules import assumed_half
from parity.alerts.rules import Rules
from parity.errors import ConfigError


@pytest.mark.parametrize(
    ("mid", "half"),
    [(2.0, 0.06), (0.395, 0.015), (0.205, 0.015), (0.2, 0.01), (0.01, 0.01), (10.0, 0.3)],
)
def test_the_assumed_half_spread_is_the_models_rounded_quote(mid: float, half: float) -> None:
    """As `ModelChain` quotes: mid -/+ max(0.01, 3% of mid), rounded outward to the cent."""
    assert assumed_half(mid, 0.03) == pytest.approx(half, abs=1e-12)


def leg(rules: Rules, cid: str = "r-000001-L1", symbol: str = "SPY240119P00470000") -> None:
    rules.on_intent(cid, symbol, "sell", 2.0, 100.0, "r-000001", 1)


@pytest.mark.parametrize(
    ("paid", "band", "fires"),
    [(0.0899, 50.0, False), (0.0901, 50.0, True), (0.0901, 51.0, False), (0.12, 100.0, False),
     (0.1201, 100.0, True)],
)  # fmt: skip
def test_the_spread_rule_fires_beyond_the_band_only(paid: float, band: float, fires: bool) -> None:
    rules = Rules(AlertConfig(spread_band_pct=band))
    leg(rules)
    raised = rules.on_fill("r-000001-L1", 2.0, 2.0, 2.0 - paid, 2.0, 2 * 100 * paid)
    assert [a.rule for a in raised] == (["option_spread"] if fires else [])


def test_a_fill_without_a_mid_or_of_an_unknown_order_is_not_judged() -> None:
    rules = Rules(AlertConfig())
    leg(rules)
    assert rules.on_fill("r-000001-L1", 2.0, 2.0, 1.0, None, 50.0) == []
    assert rules.on_fill("r-000001-L1", 2.0, 2.0, 1.0, 0.0, 50.0) == []
    assert rules.on_fill("other", 2.0, 2.0, 1.0, 2.0, 50.0) == []  # an equity's, say


def test_a_rejected_combo_alerts_once_and_its_legs_not_a_single_leg_as_any_order() -> None:
    rules = Rules(AlertConfig())
    rules.on_intent("r-000001", "SPY", "sell", 1.0, 100.0, None, None)
    leg(rules)
    rules.on_intent("r-000001-L2", "SPY240119P00460000", "buy", 1.0, 100.0, "r-000001", 2)
    rules.on_intent("r-000002", "SPY240119P00460000", "buy", 1.0, 100.0, None, None)
    assert rules.on_order_event("r-000001-L1", "rejected", "venue: no", "SPY240119P00470000") == []
    combo = rules.on_order_event("r-000001", "rejected", "venue: no", "SPY")
    assert [(a.rule, a.severity) for a in combo] == [("combo_rejected", "critical")]
    assert combo[0].message == (
        "combo r-000001 (-2 SPY240119P00470000, +1 SPY240119P00460000) was rejected: venue: no"
    )
    assert rules.on_order_event("r-000001", "rejected", "venue: no", "SPY") == []
    single = rules.on_order_event("r-000002", "rejected", "venue: no", "SPY240119P00460000")
    assert [(a.rule, a.severity) for a in single] == [("order_rejected", "warning")]


@pytest.mark.parametrize(
    ("kind", "severity"),
    [("assignment", "warning"), ("exercise", "info"), ("expiry", "info"),
     ("cash_settlement", "info")],
)  # fmt: skip
def test_option_events_alert_at_their_severity(kind: str, severity: str) -> None:
    rules = Rules(AlertConfig())
    payload = {"symbol": "SPY240119P00470000", "qty": 1, "cash": -47000.0, "shares": 100,
               "underlying_price": 465.2, "session": "2024-01-19"}  # fmt: skip
    (alert,) = rules.on_event(f"option_{kind}", payload, None)  # type: ignore[arg-type]
    assert (alert.rule, alert.severity) == (f"option_{kind}", severity)
    what = kind.replace("_", " ")
    assert alert.message == (
        f"{what} of SPY240119P00470000 on 2024-01-19: position -1 closed, +100 shares at the "
        "strike, cash -47,000.00 (underlying 465.2)"
    )


def test_the_options_thresholds_from_flags_and_file(tmp_path: Path) -> None:
    # unset: the run's own option model decides (`with_option_model`), else the model's 3%
    assert (AlertConfig().option_half_spread, AlertConfig().spread_band_pct) == (None, 50.0)
    run = AlertConfig().with_option_model(0.05, 0.001)
    assert (run.option_half_spread, run.option_tick) == (0.05, 0.001)
    file = tmp_path / "alerts.yaml"
    file.write_text("half_spread: 5%\nspread_band: 150%\n")
    c = alert_config(env={}, file=file)
    assert (c.option_half_spread, c.spread_band_pct) == (0.05, 150.0)
    c = alert_config(env={}, file=file, spread_band="25")
    assert c.spread_band_pct == 25.0
    assert {"option_half_spread": 0.05, "spread_band_pct": 25.0}.items() <= c.describe().items()
    assert AlertConfig.from_record(c.describe()) == c.with_urls(())
    # set explicitly, the flag or file wins over the run's model
    assert c.with_option_model(0.03, 0.01).option_half_spread == 0.05


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"spread_band": "0"}, "alerts spread_band '0' (--alert-spread-band) must be a percent"),
        ({"spread_band": "wide"}, "alerts spread_band 'wide' (--alert-spread-band)"),
        ({"half_spread": "0%"}, "alerts half_spread '0%' (--alert-half-spread) must be a percent"),
        ({"half_spread": "300%"}, "alerts half_spread '300%' (--alert-half-spread)"),
    ],
)
def test_bad_options_thresholds_are_one_line_errors(kwargs, expected) -> None:
    with pytest.raises(ConfigError) as err:
        alert_config(env={}, **kwargs)
    assert expected in str(err.value) and "\n" not in str(err.value)
