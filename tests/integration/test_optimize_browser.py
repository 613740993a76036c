"""The optimisation and walk-forward HTML reports in real headless Chromium (Debian's
`chromium` + `chromedriver`, nothing downloaded): they load from disk without console errors or
requests, the charts are drawn (one dot per completed trial and parameter, a heatmap cell per
pair of values, an importance bar per parameter), and a screenshot shows them.
Skipped when chromium or chromedriver is missing, unless PARITY_REQUIRE_BROWSER_TESTS=1 (CI)."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from chrome_webdriver import Chrome, browser_binaries
from distributed import Client, LocalCluster

from parity.config import BacktestConfig
from parity.optimize.objective import parse_objective
from parity.optimize.space import parse_space
from parity.runners.optimize import Execution, OptimizeConfig, run_optimize
from parity.runners.walkforward import WalkForwardConfig, run_walkforward

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]
DOT_BLUE = (37, 99, 235)  # charts.CSS .dot / .bar


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    chromium, driver = browser_binaries()
    os.environ.setdefault("SE_OFFLINE", "true")
    browser = Chrome(chromium, driver, tmp_path_factory.mktemp("chrome")).start()
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as connected,
    ):
        yield connected


def _blue_pixels(png: bytes) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(
        1
        for p in image.getdata()
        if all(abs(a - b) <= 40 for a, b in zip(p, DOT_BLUE, strict=True))
    )


def test_optimize_report_renders(chrome: Chrome, client: Client, tmp_path: Path) -> None:
    backtest = BacktestConfig(
        strategy="sma_cross", start=dt.date(2011, 1, 1), end=dt.date(2012, 12, 31),
        runs_dir=tmp_path,
    )  # fmt: skip
    result = run_optimize(OptimizeConfig(
        backtest=backtest, space=parse_space(["fast=5:15:5", "slow=20,30,40"]),
        objective=parse_objective("sharpe"), execution=Execution(client=client), study="shown",
    ))  # fmt: skip
    completed = int((result.table["state"] == "complete").sum())
    assert completed == 9
    chrome.console()
    chrome.get((result.run_dir / "report.html").as_uri())
    counts = chrome.wait_for(
        "const s = document.querySelectorAll('svg.chart');"
        "return s.length ? [s.length, document.querySelectorAll('svg.chart circle.dot').length,"
        " document.querySelectorAll('svg.chart rect[fill^=\"rgb\"]').length,"
        " document.querySelectorAll('svg.chart rect.bar').length] : null;",
        what="the charts",
    )
    # two scatters + one heatmap + importance; 9 dots per scatter; 3x3 cells; 2 bars
    assert counts == [4, 18, 9, 2]
    text = chrome.execute("return document.body.innerText")
    assert "deflated Sharpe ratio" in text and "probability of backtest overfitting" in text
    png = chrome.screenshot_png()
    (tmp_path / "optimize-report.png").write_bytes(png)
    assert len(png) > 20_000 and _blue_pixels(png) > 200
    assert [e for e in chrome.console() if e.get("level") == "SEVERE"] == []


def test_walkforward_report_renders(chrome: Chrome, client: Client, tmp_path: Path) -> None:
    backtest = BacktestConfig(
        strategy="sma_cross", start=dt.date(2010, 1, 1), end=dt.date(2011, 12, 31),
        runs_dir=tmp_path,
    )  # fmt: skip
    optimize = OptimizeConfig(
        backtest=backtest, space=parse_space(["fast=5,10", "slow=30"]),
        objective=parse_objective("sharpe"), execution=Execution(client=client),
    )  # fmt: skip
    result = run_walkforward(WalkForwardConfig(
        optimize=optimize, train=pd.DateOffset(years=1), test=pd.DateOffset(months=6),
        step=pd.DateOffset(months=6), name="wf-shown",
    ))  # fmt: skip
    chrome.console()
    chrome.get((result.run_dir / "report.html").as_uri())
    points = chrome.wait_for(
        "const p = document.querySelector('svg polyline');"
        "return p ? p.getAttribute('points').trim().split(/\\s+/).length : null;",
        what="the equity curve",
    )
    assert points == len(result.equity)
    rows = chrome.execute("return document.querySelectorAll('table')[1].rows.length")
    assert rows == 1 + len(result.windows)
    png = chrome.screenshot_png()
    (tmp_path / "walkforward-report.png").write_bytes(png)
    assert len(png) > 20_000
    assert [e for e in chrome.console() if e.get("level") == "SEVERE"] == []
