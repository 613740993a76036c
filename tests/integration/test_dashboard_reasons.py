"""The dashboard shows why each trade was taken and closed: a plan rehearsed on the local venue
(the constructed series where every outcome happens once) opened in headless Chromium, its
closed-trades table holds each trade's entry and exit reason and tag, as trades.csv does.

Skipped when chromium or chromedriver is missing, unless PARITY_REQUIRE_BROWSER_TESTS=1 (CI)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from chrome_webdriver import Chrome, browser_binaries
from plan_series import ENTRY_REASONS, paper_plan_run

from parity.dashboard import Catalog, DashboardServer

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Chrome:
    chromium, driver = browser_binaries()
    os.environ.setdefault("SE_OFFLINE", "true")
    browser = Chrome(chromium, driver, tmp_path_factory.mktemp("chrome")).start()
    yield browser
    browser.quit()


def test_the_trades_table_shows_entry_and_exit_reasons(chrome: Chrome, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = paper_plan_run(tmp_path, "plan-dash", "stop-first")
    expected = pd.read_csv(run.run_dir / "trades.csv", keep_default_na=False)
    assert expected["exit_reason"].tolist() == ["target", "stop", "expiry", "stop", "target",
                                                "stop"]  # fmt: skip
    with DashboardServer(Catalog(runs)) as server:
        with urllib.request.urlopen(
            f"{server.url}api/runs/plan-dash/summary", timeout=10
        ) as answer:
            data = json.loads(answer.read())
        assert data["trades_total"] == 6
        newest = data["trades"][0]  # newest first
        assert (newest["entry_reason"], newest["exit_reason"], newest["tag"]) == (
            ENTRY_REASONS["oco-ambiguous-row"], "stop", "oco-ambiguous-row"
        )  # fmt: skip
        chrome.console()
        chrome.get(f"{server.url}runs/plan-dash")
        rows = chrome.wait_for(
            "const r = document.querySelectorAll('#trades tbody tr[data-row]');"
            "return r.length === 6 ? [...r].map(x => [...x.cells].map(c => c.innerText)) : null;",
            what="the closed-trades table",
        )
        header = chrome.execute(
            "return [...document.querySelectorAll('#trades thead th')].map(c => c.innerText)"
        )
        at = {name.lower(): i for i, name in enumerate(header)}
        shown = [(r[at["entry reason"]], r[at["exit reason"]], r[at["tag"]]) for r in rows]
        wanted = list(zip(expected["entry_reason"], expected["exit_reason"], expected["tag"],
                          strict=True))[::-1]  # fmt: skip
        assert shown == wanted
        assert rows[0][at["ambiguous"]] == "stop-first"  # the oco pair's ambiguous bar
        total = chrome.execute("return document.getElementById('trades-total').innerText")
        assert total == "6"
        assert [e for e in chrome.console() if e.get("level") == "SEVERE"] == []
        chrome.execute("document.getElementById('trades').scrollIntoView()")
        png = chrome.screenshot_png()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000  # a rendered page, not blank
        (tmp_path / "dashboard-trades.png").write_bytes(png)  # kept with the test's files
