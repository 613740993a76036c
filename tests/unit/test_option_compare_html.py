"""`reports/option_compare_html.py` on a constructed compare: each combo followed by its own legs,
the combos the paper run missed last (no legs), money never `-$0.00`, and a zero gap drawing
no waterfall bar. The page of a real compare is checked in Chromium
(`tests/integration/test_option_compare_browser.py`)."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pandas as pd

from parity.analyzers.option_attribution import COMPONENTS, LEDGER_COLUMNS
from parity.reports.option_compare_html import ledger_rows, render_html

CASH = 100_000.0


def ledger() -> pd.DataFrame:
    leg = {"level": "leg", "status": "matched", "datetime": "2012-02-03T09:30:00",
           "contracts": 1, "model_contracts": 1, "price": 1.55, "model_price": 1.52,
           "tape_mid": 1.47, "model_mid": 1.47, "tape_touch": 1.55, "model_touch": 1.52,
           "commission": 0.0, "model_commission": 0.0, "quotes": 0.0, "spread": -3.0,
           "slippage": 0.0, "fees": 0.0}  # fmt: skip
    rows: list[dict[str, Any]] = [
        {**leg, "group": 1, "model_group": 1, "symbol": "A"},
        {"level": "combo", "group": 1, "model_group": 1, "status": "matched", "legs": "+1xA",
         "opened": "2012-02-03T09:30:00", "contracts": 1, "model_contracts": 1, "pnl": -10.0,
         "model_pnl": -7.0, "quotes": 0.0, "spread": -3.0, "slippage": 0.0, "fees": 0.0,
         "missed_partial": 0.0, "exit_timing": -1e-9},
        {**leg, "group": 2, "model_group": None, "symbol": "B", "status": "unmatched",
         "model_contracts": None, "model_price": None, "model_mid": None, "model_touch": None,
         "model_commission": None, "quotes": None, "spread": None, "fees": None},
        {"level": "combo", "group": 2, "model_group": None, "status": "extra", "legs": "+1xB",
         "opened": "2012-03-01T09:30:00", "contracts": 1, "pnl": 4.0, "missed_partial": 4.0},
        {"level": "combo", "group": None, "model_group": 7, "status": "missed", "legs": "+1xC",
         "opened": "2012-04-02T09:30:00", "contracts": 0, "model_contracts": 1,
         "model_pnl": 2.5, "missed_partial": -2.5},
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    return pd.read_csv(StringIO(frame.to_csv(index=False)))  # as compare writes, page reads


def figures(components: dict[str, float], gap: float) -> dict[str, Any]:
    return {
        "live_run": "r1",
        "compared_with": "its twins",
        "currency": "USD",
        "pnl": {"paper": -10.0, "tape_twin": -10.0, "model_twin": -10.0 - gap},
        "gap": gap,
        "components": components,
        "data_divergence": 0.0,
        "execution_divergence": -0.0,
        "combos": {"matched": 1, "partial": 0, "missed": 1, "extra": 1},
        "assumptions": [
            {
                "item": "spread",
                "assumed": 0.03,
                "measured": 0.05,
                "p10": 0.05,
                "p50": 0.05,
                "p90": 0.05,
                "n": 1,
                "deviation": 2 / 3,
                "verdict": "concerning",
            },
        ],
        "bands": {"excellent": 0.25, "acceptable": 0.5},
        "verdict": {"status": "FAIL", "exit_code": 2, "concerning": ["spread"]},
    }


def equity() -> dict[str, pd.Series]:
    index = pd.to_datetime(["2012-02-03", "2012-02-06"])
    return {k: pd.Series([CASH, CASH - 10], index=index) for k in ("live", "tape", "reference")}


def test_each_combo_is_followed_by_its_legs_and_missed_combos_come_last() -> None:
    rows = ledger_rows(ledger())
    assert [(r["level"], r["status"], r.get("symbol") or r.get("legs")) for r in rows] == [
        ("combo", "matched", "+1xA"),
        ("leg", "matched", "A"),
        ("combo", "extra", "+1xB"),
        ("leg", "unmatched", "B"),
        ("combo", "missed", "+1xC"),
    ]


def test_the_page_shows_the_ledger_the_waterfall_and_no_negative_zero() -> None:
    components = dict.fromkeys(COMPONENTS, 0.0)
    components.update(spread=-3.0, missed_partial=1.5, exit_timing=-1e-9)
    page = render_html(figures(components, -1.5), ledger(), equity(), details="printed")
    assert "-$0.00" not in page
    table = page.split("id='options-ledger'", 1)[1].split("</table>", 1)[0]
    classes = re.findall(r'<tr class="([a-z]+ [a-z]+)" data-group="(\d*)"', table)
    assert classes == [("combo matched", "1"), ("leg matched", "1"), ("combo extra", "2"),
                       ("leg unmatched", "2"), ("combo missed", "")]  # fmt: skip
    bars = re.findall(r'data-name="(\w+)" data-value="([-\d.e]+)"', page)
    assert bars == [("spread", "-3"), ("missed_partial", "1.5"), ("total", "-1.5")]
    assert "missed / partial" in page and 'class="verdict verdict-concerning"' in page
    assert "excellent within ±25%, acceptable within ±50%" in page


def test_a_zero_gap_draws_no_bar() -> None:
    page = render_html(figures(dict.fromkeys(COMPONENTS, 0.0), 0.0), ledger(), equity(), details="")
    assert "<rect" not in page and "no P&amp;L gap to attribute" in page
