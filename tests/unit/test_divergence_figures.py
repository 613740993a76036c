"""Every divergence figure on a small hand-built fixture, against a hand computation.

Fixture: a twin with two long IBM round trips (both 100 shares: 100 -> 110 and 50 -> 55) and a
live run that made the first one worse (90 of 100 shares filled, at 101 instead of 100 and two
minutes late, out at 109 instead of 110, $1 commission per fill), missed the second, and made an
extra one (10 shares, 20 -> 21). By hand (direction d = +1):

* trade 1: live gross 90 * (109 - 101) = 720, twin gross 100 * (110 - 100) = 1000;
  fill price = 90 * ((109 - 110) - (101 - 100)) = -180, quantity = (90 - 100) * 10 = -100,
  fees = -2; entry gap = +100 bps, exit gap = (110 - 109) / 110 * 1e4 = +90.909 bps;
* missed: -500 (the twin's 100 * 5), extra: +10;
* P&L: live 720 - 2 + 10 = 728, twin 1000 + 500 = 1500, total gap -772 = the sum of the above.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from parity.analyzers.attribution import waterfall
from parity.analyzers.curves import correlation, curve_agreement, tracking_error
from parity.analyzers.divergence import (
    DivergenceMonitor,
    RunData,
    compute_divergence,
    first_divergence,
)
from parity.analyzers.matching import decision_trades, match_trades, missing_fills

CASH = 10_000.0
T = pd.Timestamp


def _orders(rows: list[tuple]) -> pd.DataFrame:
    cols = ["order_id", "symbol", "side", "qty", "submitted_at", "status", "filled_qty"]
    return pd.DataFrame(rows, columns=cols)


def _fills(rows: list[tuple]) -> pd.DataFrame:
    cols = ["datetime", "bar", "symbol", "side", "qty", "price", "commission", "order_id"]
    return pd.DataFrame(rows, columns=cols)


def _equity(values: list[tuple[str, float]]) -> pd.DataFrame:
    index = pd.DatetimeIndex([T(t) for t, _ in values], name="datetime")
    return pd.DataFrame({"value": [v for _, v in values], "cash": CASH}, index=index)


TWIN_ORDERS = _orders(
    [
        (1, "IBM", "buy", 100, "2024-01-02 10:00", "completed", 100),
        (2, "IBM", "sell", 100, "2024-01-02 11:00", "completed", 100),
        (3, "IBM", "buy", 100, "2024-01-03 10:00", "completed", 100),
        (4, "IBM", "sell", 100, "2024-01-03 11:00", "completed", 100),
    ]
)
TWIN_FILLS = _fills(
    [
        ("2024-01-02 10:01", 1, "IBM", "buy", 100, 100.0, 0.0, 1),
        ("2024-01-02 11:01", 2, "IBM", "sell", 100, 110.0, 0.0, 2),
        ("2024-01-03 10:01", 3, "IBM", "buy", 100, 50.0, 0.0, 3),
        ("2024-01-03 11:01", 4, "IBM", "sell", 100, 55.0, 0.0, 4),
    ]
)
LIVE_ORDERS = _orders(
    [
        (1, "IBM", "buy", 100, "2024-01-02 10:00", "partial", 90),
        (2, "IBM", "sell", 90, "2024-01-02 11:00", "completed", 90),
        (3, "IBM", "buy", 10, "2024-01-04 10:00", "completed", 10),
        (4, "IBM", "sell", 10, "2024-01-04 11:00", "completed", 10),
    ]
)
LIVE_FILLS = _fills(
    [
        ("2024-01-02 10:03", 1, "IBM", "buy", 90, 101.0, 1.0, 1),
        ("2024-01-02 11:01", 2, "IBM", "sell", 90, 109.0, 1.0, 2),
        ("2024-01-04 10:01", 3, "IBM", "buy", 10, 20.0, 0.0, 3),
        ("2024-01-04 11:01", 4, "IBM", "sell", 10, 21.0, 0.0, 4),
    ]
)
LIVE_EQUITY = _equity(
    [
        ("2024-01-02 10:00", 10_000.0),
        ("2024-01-02 16:00", 10_718.0),
        ("2024-01-03 16:00", 10_718.0),
        ("2024-01-04 10:00", 10_718.0),
        ("2024-01-04 16:00", 10_728.0),
    ]
)
TWIN_EQUITY = _equity(
    [
        ("2024-01-02 10:00", 10_000.0),
        ("2024-01-02 16:00", 11_000.0),
        ("2024-01-03 16:00", 11_500.0),
        ("2024-01-04 16:00", 11_500.0),
    ]
)


def live_run() -> RunData:
    return RunData("live", LIVE_EQUITY, LIVE_ORDERS, LIVE_FILLS, CASH).with_metrics()


def twin_run() -> RunData:
    return RunData("twin", TWIN_EQUITY, TWIN_ORDERS, TWIN_FILLS, CASH).with_metrics()


def ledger():
    live = decision_trades(LIVE_FILLS, LIVE_ORDERS)
    twin = decision_trades(TWIN_FILLS, TWIN_ORDERS)
    return match_trades(live, twin, bar_seconds=60)


def test_matched_missed_extra_classification():
    rows = ledger()
    assert [(r.status, r.decision_bar) for r in rows] == [
        ("matched", "2024-01-02T10:00:00"),
        ("missed", "2024-01-03T10:00:00"),
        ("extra", "2024-01-04T10:00:00"),
    ]


def test_matched_trade_gaps_by_hand():
    row = ledger()[0]
    assert row.entry_gap_bps == pytest.approx(100.0)
    assert row.exit_gap_bps == pytest.approx(1 / 110 * 1e4)  # 90.909 bps, worse for the trader
    assert row.latency_s == 120.0  # filled 10:03, the decision bar ended 10:01
    assert row.twin_latency_s == 0.0
    assert row.qty_shortfall == 10.0 and row.unfilled_qty == 10.0
    assert row.fee_diff == 2.0
    assert row.price_pnl == pytest.approx(-180.0)
    assert row.qty_pnl == pytest.approx(-100.0)


def test_waterfall_sums_exactly_by_hand():
    wf = waterfall(live_pnl=728.0, reference_pnl=1500.0, ledger=ledger())
    c = wf["components"]
    assert wf["total"] == -772.0
    assert c["missed_trades"] == -500.0 and c["extra_trades"] == 10.0
    assert c["fill_price"] == pytest.approx(-180.0) and c["partial_fills"] == pytest.approx(-100.0)
    assert c["fees"] == -2.0 and c["data"] == 0.0
    assert c["residual"] == pytest.approx(0.0, abs=1e-9)
    assert math.fsum(c.values()) == pytest.approx(wf["total"], abs=1e-9)


def test_waterfall_data_component_and_residual():
    wf = waterfall(live_pnl=728.0, reference_pnl=1500.0, ledger=ledger(), tape_pnl=1400.0)
    c = wf["components"]
    assert c["data"] == -100.0  # tape twin 1400 vs history twin 1500
    assert wf["execution_total"] == 728.0 - 1400.0
    assert c["residual"] == pytest.approx(100.0)  # the ledger explains -772, execution is -672
    assert math.fsum(c.values()) == pytest.approx(wf["total"], abs=1e-9)


def test_correlation_and_tracking_error_by_hand():
    a = [0.01, -0.02, 0.03, 0.0]
    b = [0.02, -0.01, 0.02, 0.01]
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    var_a = sum((x - ma) ** 2 for x in a)
    var_b = sum((y - mb) ** 2 for y in b)
    assert correlation(np.array(a), np.array(b)) == pytest.approx(cov / math.sqrt(var_a * var_b))
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    expected = statistics.stdev(diffs) * math.sqrt(252)
    assert tracking_error(np.array(a), np.array(b), 252) == pytest.approx(expected)
    assert correlation(np.zeros(3), np.zeros(3)) == 1.0  # two flat curves agree
    assert correlation(np.zeros(3), np.array(a[:3])) is None


def test_curve_agreement_on_the_fixture():
    curves = curve_agreement(
        LIVE_EQUITY["value"], TWIN_EQUITY["value"], live_cash=CASH, reference_cash=CASH
    )
    live_daily = [10_718 / 10_000 - 1, 0.0, 10_728 / 10_718 - 1]
    twin_daily = [0.1, 11_500 / 11_000 - 1, 0.0]
    d = curves["daily"]
    assert d["n"] == 3
    diffs = [x - y for x, y in zip(live_daily, twin_daily, strict=True)]
    assert d["tracking_error"] == pytest.approx(statistics.stdev(diffs) * math.sqrt(252))
    assert d["correlation"] == pytest.approx(float(np.corrcoef(live_daily, twin_daily)[0, 1]))
    assert curves["final_equity"]["gap"] == -772.0
    assert curves["per_bar"]["n"] == 5  # union of both runs' bar labels


def test_first_divergence_names_the_bar_and_both_sides():
    bars = {
        "history": {
            "IBM": pd.DataFrame({"open": [1.0], "close": [2.0]}, index=[T("2024-01-03 10:00")])
        }
    }
    first = first_divergence(LIVE_ORDERS, TWIN_ORDERS, a_name="live", b_name="twin", bars=bars)
    assert first is not None
    assert first["datetime"] == "2024-01-03T10:00:00"
    assert first["live"] == [] and first["twin"] == ["buy"]
    assert first["bars"]["history"] == {"open": 1.0, "close": 2.0}
    assert first_divergence(TWIN_ORDERS, TWIN_ORDERS, a_name="a", b_name="b") is None


def test_missing_fills_are_named():
    assert missing_fills(LIVE_ORDERS, LIVE_FILLS) == []
    problems = missing_fills(LIVE_ORDERS, LIVE_FILLS[LIVE_FILLS["order_id"] != 2])
    assert problems == ["order 2 reported filled (90) but has no fill row"]
    short = LIVE_FILLS.assign(qty=[80, 90, 10, 10])
    assert missing_fills(LIVE_ORDERS, short) == [
        "order 1: fills.csv qty 80 != orders filled_qty 90"
    ]


def test_compute_divergence_on_the_fixture():
    div = compute_divergence(live_run(), twin_run(), bar_seconds=60, resamples=200)
    assert div["ledger"]["counts"] == {
        "matched": 1,
        "missed": 1,
        "extra": 1,
        "matched_closed": 1,
        "matched_open": 0,
    }
    assert div["waterfall"]["total"] == pytest.approx(-772.0)
    assert div["waterfall"]["components"]["residual"] == pytest.approx(0.0, abs=1e-9)
    assert div["metrics"]["trades"]["live"] == 2 and div["metrics"]["trades"]["abs_diff"] == 0
    assert div["first_divergence"]["execution"]["datetime"] == "2024-01-03T10:00:00"
    assert div["verdict"]["status"] in ("WARN", "FAIL")


def test_monitor_emits_and_flags_a_crossed_threshold():
    events: list[dict] = []
    monitor = DivergenceMonitor(starting_cash=CASH, emit=events.append, resamples=100)
    twin = (TWIN_EQUITY, TWIN_ORDERS, TWIN_FILLS)
    same = monitor.on_session_end("2024-01-02", live=twin, twin=twin)
    assert same.status == "PASS" and not same.crossed
    report = monitor.on_session_end(
        "2024-01-04", live=(LIVE_EQUITY, LIVE_ORDERS, LIVE_FILLS), twin=twin
    )
    assert report.crossed and report.status != "PASS"
    assert report.figures["ledger"]["counts"]["extra"] == 1
    kinds = [e["event"] for e in events]
    assert kinds == ["divergence", "divergence", "divergence_threshold_crossed"]
    assert events[-1]["session"] == "2024-01-04" and events[-1]["reasons"]


def test_monitor_clips_the_twin_to_the_live_run_so_far():
    monitor = DivergenceMonitor(starting_cash=CASH, resamples=100)
    cut = LIVE_EQUITY.index <= T("2024-01-02 16:00")
    early_orders = LIVE_ORDERS[LIVE_ORDERS["order_id"] <= 2]
    early_fills = LIVE_FILLS[LIVE_FILLS["order_id"] <= 2]
    report = monitor.on_session_end(
        "2024-01-02",
        live=(LIVE_EQUITY[cut], early_orders, early_fills),
        twin=(TWIN_EQUITY, TWIN_ORDERS, TWIN_FILLS),
    )
    assert report.figures["ledger"]["counts"] == {
        "matched": 1,
        "missed": 0,
        "extra": 0,
        "matched_closed": 1,
        "matched_open": 0,
    }


def test_wall_clock_latency_when_recorded():
    orders = LIVE_ORDERS.assign(sent_at="2026-01-02T15:00:00Z")
    fills = LIVE_FILLS.assign(reported_at="2026-01-02T15:00:00.250Z")
    live = decision_trades(fills, orders)
    twin = decision_trades(TWIN_FILLS, TWIN_ORDERS)
    row = match_trades(live, twin, bar_seconds=60)[0]
    assert row.wall_latency_s == pytest.approx(0.25)
    assert ledger()[0].wall_latency_s is None  # not recorded: unknown, not zero


def test_report_text_and_self_contained_html():
    from parity.reports.divergence import summary_text
    from parity.reports.divergence_html import render_html

    div = compute_divergence(live_run(), twin_run(), bar_seconds=60, resamples=200)
    text = summary_text(div)
    assert text.splitlines()[0] == f"verdict: {div['verdict']['status']}"
    assert "-$772.00" in text and "1 matched, 1 missed, 1 extra" in text
    curves = {"live": LIVE_EQUITY["value"], "reference": TWIN_EQUITY["value"]}
    page = render_html(div, curves, currency="USD", details=text)
    assert page.count("<svg") == 1 and 'data-name="missed_trades"' in page  # the waterfall
    assert "id='equity-chart'" in page and "id='drawdown-chart'" in page
    data = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "NaN" not in data and "uPlot" in page  # the figures the charts draw are finite
    # missed and extra trades come before the matched ones
    assert page.index('id="ledger-odd"') < page.index('id="ledger-matched"') > 0
    offline = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert 'src="http' not in offline and 'href="http' not in offline


def test_latency_counts_from_the_first_bar_an_order_could_fill_at():
    """A Friday decision on daily bars fills at Monday's open: zero latency, not two days; an
    order that waited one bar more than it had to shows that bar."""
    from parity.analyzers.matching import could_fill

    days = pd.DatetimeIndex(["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"])
    friday, monday = T("2024-01-05"), T("2024-01-08")
    assert could_fill(friday, 86_400, days, monday) == monday
    assert could_fill(friday, 86_400, None, monday) == T("2024-01-06")  # no bars: the bar's end
    minutes = pd.DatetimeIndex([T("2024-01-02 10:00"), T("2024-01-02 10:16")])
    # a fill inside the gap (a live venue): measured from the decision bar's end
    assert could_fill(T("2024-01-02 10:00"), 60, minutes, T("2024-01-02 10:01:02")) == T(
        "2024-01-02 10:01"
    )
    assert could_fill(T("2024-01-02 10:00"), 60, minutes, T("2024-01-02 10:17")) == T(
        "2024-01-02 10:16"
    )
