"""What the reports print, piece by piece: metric labels and win/loss counts, money in the run's
currency, QuantStats' percent axis labels, round ticks, and the waterfall's scale."""

from __future__ import annotations

import re

import pytest

from parity.analyzers.metrics import METRIC_KEYS
from parity.reports.chart import nice_ticks, tick_decimals
from parity.reports.labels import METRIC_LABELS, metric_label
from parity.reports.tearsheet_fixes import pct_axis
from parity.reports.text import metrics_table
from parity.reports.waterfall import svg_waterfall


def test_every_metric_has_a_human_label_and_the_win_rate_its_counts():
    assert set(METRIC_LABELS) == set(METRIC_KEYS)
    assert metric_label("win_rate") == "Win rate" and metric_label("new_thing") == "New thing"
    table = metrics_table(
        {"win_rate": 25 / 54, "trades": 54, "profit_factor": 1.48, "expectancy": -12.5},
        "INR",
    )
    lines = {re.split(r"\s{2,}", line.strip())[0]: line for line in table.splitlines()}
    assert lines["Win rate"].endswith("46.30% (25 W / 29 L)")
    assert lines["Profit factor"].endswith("1.48")
    assert lines["Expectancy per trade"].endswith("-₹12.50")
    assert "win_rate" not in table and "profit_factor" not in table
    # the values end in one column whatever the labels
    ends = {len(line) for name, line in lines.items() if name != "Win rate"}
    assert len(ends) == 1


@pytest.mark.parametrize(
    ("ticks", "shown"),
    [
        (
            [0.01, 0.0075, 0.005, 0.0025, 0.0, -0.0025],
            ["1%", "0.75%", "0.5%", "0.25%", "0%", "-0.25%"],
        ),
        ([-0.0, 0.1, 0.2], ["0%", "10%", "20%"]),
        ([12.5], ["1,250%"]),
    ],
)
def test_percent_axis_labels_never_repeat(ticks, shown):
    assert [pct_axis(t) for t in ticks] == shown


def test_round_ticks_cover_the_range_and_read_apart():
    ticks = nice_ticks(-0.71, 131.69)
    assert ticks[0] <= -0.71 and ticks[-1] >= 131.69 and ticks[1] - ticks[0] == 50
    small = nice_ticks(99_149.23, 100_036.0)
    assert len({f"{t:,.{tick_decimals(small)}f}" for t in small}) == len(small)
    assert tick_decimals([0.0, 0.25, 0.5]) == 2 and tick_decimals([0, 100]) == 0


def bar_heights(svg: str) -> dict[str, float]:
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'data-name="(\w+)"[^>]*?height="([\d.]+)"', svg)
    }


def test_the_waterfall_is_scaled_to_its_largest_bar():
    svg = svg_waterfall(
        {"fill_price": -40.0, "fees": 120.0, "residual": -0.00000001, "data": 0.3},
        80.3,
        currency="USD",
    )
    heights = bar_heights(svg)
    assert "residual" not in heights  # under half a cent: no bar, however the scale goes
    assert heights["fees"] == pytest.approx(3 * heights["fill_price"], rel=0.01)
    assert heights["data"] == pytest.approx(max(0.3 / 120 * heights["fees"], 1.0), abs=0.2)
    assert ">$0.00<" in svg and "-$0.00" not in svg  # the residual reads as nothing
    nothing = svg_waterfall({"fees": -0.0, "residual": 5e-11}, 5e-11, currency="INR")
    assert "<rect" not in nothing and "₹0.00" in nothing
