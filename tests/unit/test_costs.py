import pytest

from parity.costs import CostModel, cost_model, parse_commission, parse_slippage
from parity.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", {"commission_per_share": 0.0, "commission_pct": 0.0, "commission_min": 0.0}),
        (
            "0.005/share",
            {"commission_per_share": 0.005, "commission_pct": 0.0, "commission_min": 0.0},
        ),
        ("0.1%", {"commission_per_share": 0.0, "commission_pct": 0.001, "commission_min": 0.0}),
        ("10bps", {"commission_per_share": 0.0, "commission_pct": 0.001, "commission_min": 0.0}),
        (
            "0.005/share, min=1",
            {"commission_per_share": 0.005, "commission_pct": 0.0, "commission_min": 1.0},
        ),
        (
            "$0.01/share,min=$2.5",
            {"commission_per_share": 0.01, "commission_pct": 0.0, "commission_min": 2.5},
        ),
    ],
)
def test_parse_commission(text, expected):
    assert parse_commission(text) == pytest.approx(
        {"commission_max": 0.0, "commission_sell_pct": 0.0, **expected}
    )


@pytest.mark.parametrize(
    ("text", "pct", "fixed"),
    [
        ("0", 0.0, 0.0),
        ("5bps", 0.0005, 0.0),
        ("0.05%", 0.0005, 0.0),
        ("0.0", 0.0, 0.0),
        ("0.02/share", 0.0, 0.02),
        ("$0.02/share", 0.0, 0.02),
    ],
)
def test_parse_slippage(text, pct, fixed):
    out = parse_slippage(text)
    assert out["slippage_pct"] == pytest.approx(pct)
    assert out["slippage_fixed"] == pytest.approx(fixed)


@pytest.mark.parametrize(
    "text", ["abc", "5/lot", "1.2.3%", "min=x", "3", "max=0", "max=x", "sell=0.1", "sell=1/share"]
)
def test_bad_commission_is_one_line_error(text):
    with pytest.raises(ConfigError) as info:
        parse_commission(text)
    assert "commission" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["fast", "bps", "-"])
def test_bad_slippage(text):
    with pytest.raises(ConfigError, match="slippage"):
        parse_slippage(text)


@pytest.mark.parametrize("text", ["5", "0.01", "$1"])
def test_slippage_without_a_unit_is_an_error_listing_the_forms(text):
    # `--slippage 5` silently meant $5 a share (-39.5 % instead of +129 % on the sample)
    with pytest.raises(ConfigError) as info:
        parse_slippage(text)
    message = str(info.value)
    assert message.startswith(f"slippage {text!r} has no unit")
    for form in ("0", "5bps", "0.05%", "0.01/share"):
        assert form in message
    assert "\n" not in message


@pytest.mark.parametrize("text", ["5", "0.5", "5,min=1"])
def test_commission_without_a_unit_is_an_error_listing_the_forms(text):
    with pytest.raises(ConfigError) as info:
        parse_commission(text)
    message = str(info.value)
    assert message.startswith(f"commission {text!r} has no unit")
    for form in ("0", "0.005/share", "0.1%", "10bps", "min=1"):
        assert form in message


def test_negative_costs_rejected():
    with pytest.raises(ConfigError, match="non-negative"):
        CostModel(commission_per_share=-0.01)


def test_commission_arithmetic_with_minimum():
    costs = cost_model("0.005/share,min=1", "0")
    assert costs.commission(100, 50.0) == pytest.approx(1.0)  # 0.50 raised to the minimum
    assert costs.commission(1000, 50.0) == pytest.approx(5.0)
    assert costs.commission(0, 50.0) == 0.0
    assert cost_model("0.1%", "0").commission(10, 200.0) == pytest.approx(2.0)


def test_frictionless():
    assert cost_model("0", "0").frictionless
    assert not cost_model("0", "5bps").frictionless


def test_an_indian_brokers_spec_parses_to_a_capped_rate_and_a_sell_tax() -> None:
    assert parse_commission("0.03%, max=20, sell=0.1%") == pytest.approx(
        {
            "commission_per_share": 0.0,
            "commission_pct": 0.0003,
            "commission_min": 0.0,
            "commission_max": 20.0,
            "commission_sell_pct": 0.001,
        }
    )
    assert parse_commission("max=₹20,0.03%,sell=10bps")["commission_sell_pct"] == 0.001


def test_a_cap_below_the_minimum_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"max=1 is below min=2; raise max or lower min"):
        cost_model("0.01/share,min=2,max=1", "0")


def test_hand_computed_indian_costs() -> None:
    """0.03 % capped at ₹20 an order, plus 0.1 % of a sell's notional."""
    costs = cost_model("0.03%,max=20,sell=0.1%", "0")
    # 40 x 2,500 = ₹1,00,000: 0.03 % is ₹30, capped at ₹20
    assert costs.commission(40, 2500.0) == pytest.approx(20.0)
    # selling them: ₹20 brokerage + ₹100 tax (0.1 % of ₹1,00,000)
    assert costs.commission(40, 2500.0, sell=True) == pytest.approx(120.0)
    # 10 x 2,500 = ₹25,000: 0.03 % is ₹7.50 (under the cap); a sell adds ₹25
    assert costs.commission(10, 2500.0) == pytest.approx(7.5)
    assert costs.commission(10, 2500.0, sell=True) == pytest.approx(32.5)
    # the cap is per order across partial fills: 30 then 10 shares pay ₹20 in all
    first = costs.commission(30, 2500.0)
    second = costs.commission(10, 2500.0, prior_qty=30, prior_notional=75_000.0)
    assert (first, second) == pytest.approx((20.0, 0.0))
