"""The dashboard in real headless Chromium (Debian's `chromium` + `chromedriver`, nothing
downloaded): pages load without console errors and without requests leaving the machine, the
charts render (a screenshot is taken and its chart area checked), and a live paper run's new
fills appear without the page reloading.

Skipped when chromium or chromedriver is missing, unless PARITY_REQUIRE_BROWSER_TESTS=1 (CI)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from chrome_webdriver import Chrome, browser_binaries
from dashboard_runs import SyntheticRun, write_compare_outputs, write_risk_state
from venue_support import PARITY

import parity
from parity.dashboard import Catalog, DashboardServer
from parity.runners.dashboard import dashboard_server

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

EQUITY_BLUE = (31, 78, 121)  # the run's curve (run.js)
TWIN_ORANGE = (224, 123, 0)  # the twin's curve


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Chrome:
    chromium, driver = browser_binaries()
    os.environ.setdefault("SE_OFFLINE", "true")  # should any driver manager ever look
    browser = Chrome(chromium, driver, tmp_path_factory.mktemp("chrome")).start()
    yield browser
    browser.quit()


def severe(entries: list[dict[str, Any]]) -> list[str]:
    return [e.get("message", "") for e in entries if e.get("level") == "SEVERE"]


def foreign_requests(chrome: Chrome) -> list[str]:
    return chrome.execute(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith(location.origin + '/'));"
    )


def color_pixels(image: Any, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    return sum(
        1
        for pixel in image.getdata()
        if all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], rgb, strict=True))
    )


def test_pages_load_without_errors_and_charts_render(chrome: Chrome, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    root = tmp_path / "runs"
    paper = SyntheticRun(root, "20240304-093000-paper-aaaaaa")
    paper.add_bars(240)
    paper.add_fill("buy")
    paper.add_events()
    paper.finish()
    write_compare_outputs(paper.run_dir, 240)
    write_risk_state(paper.run_dir)
    backtest = SyntheticRun(root, "20240304-093100-bt-bbbbbb", mode="backtest")
    backtest.add_bars(50)
    backtest.finish()

    with DashboardServer(Catalog(root)) as server:
        chrome.console()  # start from an empty log
        chrome.get(server.url)
        rows = chrome.wait_for(
            "const r = document.querySelectorAll('#runs tbody tr[data-row]');"
            "return r.length >= 2 ? [...r].map(x => x.innerText) : null;",
            what="the runs table",
        )
        assert any("20240304-093000-paper-aaaaaa" in r and "finished" in r for r in rows), rows
        href = chrome.execute("return document.querySelector('a.run-link').getAttribute('href')")
        assert href.startswith("/runs/20240304-09")
        assert severe(chrome.console()) == []
        assert foreign_requests(chrome) == []

        chrome.get(f"{server.url}runs/{paper.run_id}")
        chrome.wait_for("return window.__dashboard && window.__dashboard.polls >= 1", what="data")
        size = chrome.wait_for(
            "const c = document.querySelector('#equity-chart canvas');"
            "const d = document.querySelector('#drawdown-chart canvas');"
            "if (!c || !d) return null; const a = c.getBoundingClientRect(),"
            " b = d.getBoundingClientRect(); return [a.width, a.height, b.width, b.height];",
            what="the chart canvases",
        )
        assert size[0] > 600 and size[1] > 200 and size[2] > 600 and size[3] > 100, size
        points = chrome.execute(
            "const s = window.__dashboard; return [s.t.length, "
            "s.twin.filter(v => v !== null).length, s.drawdown.length];"
        )
        assert points == [240, 240, 240]
        text = chrome.execute("return document.body.innerText")
        for needle in ("Drawdown beyond 1%", "FAIL", "max drawdown 15% breached",
                       "parity compare: tape twin", "disconnected", "risk.rejected"):  # fmt: skip
            assert needle in text, needle
        assert chrome.execute("return document.body.getAttribute('data-polling')") == "0"

        chrome.execute("window.scrollTo(0, 0)")
        png = chrome.screenshot_png()
        shot = tmp_path / "run-page.png"
        shot.write_bytes(png)
        image = Image.open(io.BytesIO(png)).convert("RGB")
        assert image.width == 1280 and image.height >= 600, image.size
        assert len(png) > 20_000, len(png)
        box = chrome.execute(
            "const r = document.querySelector('#equity-chart canvas').getBoundingClientRect();"
            "return [r.left, r.top, r.right, r.bottom, window.devicePixelRatio];"
        )
        ratio = box[4]
        chart = image.crop(tuple(int(v * ratio) for v in box[:4]))
        assert max(ImageStat.Stat(chart).stddev) > 10  # not a blank area
        assert color_pixels(chart, EQUITY_BLUE) > 300  # the run's curve is drawn
        assert color_pixels(chart, TWIN_ORANGE) > 150  # so is the twin's
        assert severe(chrome.console()) == []
        assert foreign_requests(chrome) == []

        chrome.get(f"{server.url}runs/{backtest.run_id}")
        chrome.wait_for("return window.__dashboard && window.__dashboard.polls >= 1", what="data")
        note = chrome.execute("return document.getElementById('twin-note').innerText")
        assert "backtest run has no twin" in note
        assert severe(chrome.console()) == []


def _runs(url: str) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(url + "api/runs", timeout=10) as response:
        return {r["run_id"]: r for r in json.loads(response.read())["runs"]}


def test_a_live_runs_new_fills_appear_without_reload(chrome: Chrome, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    run_id = "20131007-live-sma_cross-abcdef"
    env = {**os.environ, "PYTHONPATH": str(Path(parity.__file__).parents[1])}
    command = [
        *PARITY, "run", "paper", "sma_cross",
        "--venue", "local", "--slippage", "0", "--data", "sample:minute", "--symbols", "IBM",
        "--from", "2013-10-07", "--to", "2013-10-07", "--speed", "3000", "--session", "extended",
        "-p", "fast=5", "-p", "slow=20", "--run-id", run_id, "--runs-dir", str(root),
    ]  # fmt: skip
    log = (tmp_path / "paper.log").open("w")
    server = dashboard_server(root, port=0)
    server.start()
    try:
        with subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env) as proc:
            try:
                deadline = time.monotonic() + 30
                while _runs(server.url).get(run_id, {}).get("status") != "running":
                    assert proc.poll() is None, (tmp_path / "paper.log").read_text()
                    assert time.monotonic() < deadline, "the paper run never showed as running"
                    time.sleep(0.2)
                chrome.console()
                chrome.get(f"{server.url}runs/{run_id}")
                chrome.wait_for("return window.__dashboard && window.__dashboard.polls >= 1",
                                what="the first summary")  # fmt: skip
                loaded = chrome.execute("return window.__loaded")
                before = chrome.execute(
                    "return [Number(document.getElementById('fills-total').innerText),"
                    " window.__dashboard.t.length, window.__dashboard.polls];"
                )
                assert before[0] < 20, "the run filled too much before the page opened"
                after = chrome.wait_for(
                    "const n = Number(document.getElementById('fills-total').innerText);"
                    "const rows = document.querySelectorAll('#fills tbody tr[data-row]').length;"
                    "return n >= arguments[0] + 2 && rows >= 2 ? "
                    "[n, rows, window.__dashboard.t.length, window.__dashboard.polls] : null;",
                    before[0],
                    timeout=45,
                    what="new fills in the fills table",
                )
                assert after[2] > before[1]  # the equity curve grew in place too
                assert after[3] > before[2] + 1  # by polling
                assert chrome.execute("return window.__loaded") == loaded  # never reloaded
                assert chrome.execute(
                    "return performance.getEntriesByType('navigation').length"
                ) == 1  # fmt: skip
                text = chrome.execute("return document.getElementById('status').innerText")
                assert text == "running"
                state = chrome.wait_for(
                    "const n = document.getElementById('twin-note');"
                    "return n.getAttribute('data-state') === 'ready' ? n.innerText : null;",
                    timeout=30,
                    what="the twin computed from the live tape",
                )
                assert "backtest on the tape received so far" in state
                assert severe(chrome.console()) == []
                assert foreign_requests(chrome) == []
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(10)
    finally:
        log.close()
        server.stop()
