"""The HTML reports as a person sees them, in real headless Chromium (Debian's `chromium` +
`chromedriver`, nothing downloaded): `divergence.html` (a paper run against its twin, and two
backtests as a what-if), the tearsheet and the weekly report. Each is opened from disk, a
full-page screenshot is saved (in the test's tmp dir, and in $PARITY_SCREENSHOTS when set), and
what is visible is checked: axis labels drawn, no NaN, no missing glyph, numbers equal to
`runs show`. Skipped when chromium or chromedriver is missing, unless
PARITY_REQUIRE_BROWSER_TESTS=1 (CI)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chrome_webdriver import Chrome, browser_binaries
from PIL import Image, ImageStat

from parity.config import BacktestConfig
from parity.runners.backtest import run_backtest
from parity.runners.compare import CompareConfig, run_compare
from parity.runners.paper import PaperConfig, run_paper

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
WINDOW = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 7)}
COMMON: dict[str, Any] = {
    "strategy": "sma_cross",
    "params": {"fast": "5", "slow": "20"},
    "symbols": ("IBM",),
    "session": "extended",
    "data": "sample:minute",
}
PAPER_BLUE = (31, 78, 121)  # divergence_html.COLOURS["live"]
DATE_TICK = re.compile(r"^\d\d-\d\d \d\d:\d\d$")  # an intraday x tick: 10-04 11:07


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    chromium, driver = browser_binaries()
    browser = Chrome(chromium, driver, tmp_path_factory.mktemp("chrome")).start()
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A paper rehearsal of two minute sessions (5 bps slippage) and two backtests of the same
    window that differ only in commission."""
    root = tmp_path_factory.mktemp("reports")
    paper = run_paper(PaperConfig(venue="local", cash=100_000.0, runs_dir=root, **COMMON, **WINDOW))
    free = run_backtest(BacktestConfig(commission="0", runs_dir=root, **COMMON, **WINDOW))
    costly = run_backtest(
        BacktestConfig(commission="0.005/share", runs_dir=root, **COMMON, **WINDOW)
    )
    return {"root": root, "paper": paper.run_id, "free": free.run_id, "costly": costly.run_id}


def open_page(chrome: Chrome, path: Path) -> None:
    chrome.console()
    chrome.get(path.as_uri())
    chrome.wait_for("return document.readyState === 'complete'", what="the page")


def screenshot(chrome: Chrome, name: str, tmp_path: Path) -> Image.Image:
    """A full-page screenshot, saved; returned as an image."""
    height = chrome.execute("return document.documentElement.scrollHeight")
    chrome.resize(1280, min(int(height) + 40, 6000))
    chrome.execute("window.scrollTo(0, 0)")
    png = chrome.screenshot_png()
    chrome.resize(1280, 900)
    (tmp_path / f"{name}.png").write_bytes(png)
    if os.environ.get("PARITY_SCREENSHOTS"):
        target = Path(os.environ["PARITY_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{name}.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == 1280 and max(ImageStat.Stat(image).stddev) > 10  # not blank
    return image


def colour_pixels(image: Image.Image, rgb: tuple[int, int, int], tol: int = 30) -> int:
    return sum(
        1 for p in image.getdata() if all(abs(a - b) <= tol for a, b in zip(p, rgb, strict=True))
    )


def severe(chrome: Chrome) -> list[dict[str, Any]]:
    return [e for e in chrome.console() if e.get("level") == "SEVERE"]


def no_remote_requests(chrome: Chrome) -> None:
    urls = chrome.execute(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => !u.startsWith('file:') && !u.startsWith('data:'))"
    )
    assert urls == []


def chart_ticks(chrome: Chrome, chart: str) -> tuple[list[str], list[str]]:
    return tuple(  # type: ignore[return-value]
        chrome.execute(f"return window.__report.ticks('{chart}', {axis})") for axis in (0, 1)
    )


def test_divergence_page_shows_dated_axes_a_flat_waterfall_and_a_paged_ledger(
    chrome: Chrome, runs: dict[str, Any], tmp_path: Path
) -> None:
    result = run_compare(CompareConfig(paper_run=runs["paper"], runs_dir=runs["root"]))
    div = result.divergence
    open_page(chrome, result.html_path)
    chrome.wait_for("return window.__report && window.__report.ready", what="the charts")
    text = chrome.execute("return document.body.innerText")
    assert "NaN" not in text and "undefined" not in text
    # the verdict and its reasons come first, above every chart
    tops = chrome.execute(
        "return ['verdict', 'metrics', 'equity-chart', 'waterfall-none', 'ledger']"
        ".map(id => document.getElementById(id).getBoundingClientRect().top)"
    )
    assert tops == sorted(tops), tops
    verdict = chrome.execute("return document.getElementById('verdict').innerText")
    assert div["verdict"]["status"] in verdict
    assert all(c["text"] in verdict for c in div["verdict"]["checks"])
    for chart in ("equity-chart", "drawdown-chart"):
        x, y = chart_ticks(chrome, chart)
        assert len(x) >= 4 and all(DATE_TICK.match(t) for t in x if t), x
        assert {t[:5] for t in x if t} == {"10-04", "10-07"}  # the two sessions, no weekend
        assert len(y) >= 3 and len(set(y)) == len(y), y  # no repeated y label
    _, money = chart_ticks(chrome, "equity-chart")
    assert all(t.startswith(("$", "-$")) for t in money), money
    _, dd = chart_ticks(chrome, "drawdown-chart")
    assert all(t.endswith("%") for t in dd), dd
    legend = chrome.execute(
        "return [...document.querySelectorAll('#equity-chart .u-legend .u-label')]"
        ".map(n => n.innerText)"
    )
    assert legend == ["bar", "tape twin", "history twin / reference", "paper"]
    # the legends sit under the plots, not over the lines
    below = chrome.execute(
        "const c = document.querySelector('#equity-chart .u-over').getBoundingClientRect();"
        "const l = document.querySelector('#equity-chart .u-legend').getBoundingClientRect();"
        "return l.top >= c.bottom;"
    )
    assert below
    # hover: the legend shows the values under the cursor
    hovered = chrome.execute(
        "const u = window.__report.charts['equity-chart']; u.setCursor({left: 200, top: 50});"
        "return [...document.querySelectorAll('#equity-chart .u-legend .u-value')]"
        ".map(n => n.innerText);"
    )
    assert re.match(r"^2013-10-0[47] \d\d:\d\d$", hovered[0]), hovered
    assert all(v.startswith("$") for v in hovered[1:]), hovered
    # a frictionless-enough rehearsal: every component is under a cent, so no bar is drawn
    components = [*div["waterfall"]["components"].values(), div["waterfall"]["total"]]
    if all(abs(v) < 0.005 for v in components):
        assert chrome.execute("return document.querySelectorAll('#waterfall rect').length") == 0
        assert "no P&L gap to attribute" in text
    # the ledger: missed and extra first, matched trades a page at a time
    rows = div["ledger"]["rows"]
    matched = sum(r["status"] == "matched" for r in rows)
    label = chrome.execute("return document.getElementById('page-label').innerText")
    assert label == f"rows 1\u201325 of {matched} · page 1 of {-(-matched // 25)}"
    visible = chrome.execute(
        "return [...document.querySelectorAll('#ledger-matched tbody tr')].filter(r => !r.hidden)"
        ".length"
    )
    assert visible == min(25, matched)
    chrome.execute("document.getElementById('page-next').click()")
    label = chrome.execute("return document.getElementById('page-label').innerText")
    assert label.startswith(f"rows 26\u2013{min(50, matched)} of {matched}")
    image = screenshot(chrome, "divergence", tmp_path)
    assert colour_pixels(image, PAPER_BLUE) > 500  # the paper curves are drawn
    assert severe(chrome) == []
    no_remote_requests(chrome)


def test_two_backtests_compare_as_a_what_if_with_a_proportional_waterfall(
    chrome: Chrome, runs: dict[str, Any], tmp_path: Path
) -> None:
    result = run_compare(
        CompareConfig(paper_run=runs["free"], against=runs["costly"], runs_dir=runs["root"])
    )
    div = result.divergence
    assert div["mode"] == "what-if"
    assert div["differences"] == [f"commission: {runs['free']} '0', {runs['costly']} '0.005/share'"]
    open_page(chrome, result.html_path)
    chrome.wait_for("return window.__report && window.__report.ready", what="the charts")
    differs = chrome.execute("return document.getElementById('differences').innerText")
    assert "commission" in differs and "0.005/share" in differs
    heads = chrome.execute(
        "return [...document.querySelectorAll('#metrics th')].map(n => n.innerText)"
    )
    assert heads == [
        "metric", f"this run {runs['free']}", f"other run {runs['costly']}", "difference",
        "relative",
    ]  # fmt: skip
    bars = chrome.execute(
        "return Object.fromEntries([...document.querySelectorAll('#waterfall rect.bar')]"
        ".map(r => [r.dataset.name, r.getBBox().height]))"
    )
    wf = div["waterfall"]
    drawn = {k for k, v in wf["components"].items() if abs(v) >= 0.005}
    assert set(bars) == drawn | {"total"}
    fees = wf["components"]["fees"]
    assert fees > 100  # 0.005/share on ~500 shares a side, 51 fills
    # bar heights are proportional to the values: the largest fills the scale, the rest scale
    for name in drawn:
        ratio = abs(wf["components"][name]) / fees
        assert bars[name] == pytest.approx(max(ratio * bars["fees"], 1.0), abs=1.0), name
    assert bars["total"] == pytest.approx(abs(wf["total"]) / fees * bars["fees"], abs=1.0)
    ticks = chrome.execute(
        "return [...document.querySelectorAll('#waterfall text.tick')].map(n => n.textContent)"
    )
    assert len(ticks) >= 3 and all("$" in t for t in ticks) and len(set(ticks)) == len(ticks)
    screenshot(chrome, "divergence-what-if", tmp_path)
    assert severe(chrome) == []


# ------------------------------------------------------------------------------------ tearsheet

TEARSHEET_FIGURES = """
const rows = {};
for (const tr of document.querySelectorAll('table tr')) {
  const cells = [...tr.cells].map(c => c.innerText.trim());
  if (cells.length >= 2 && !(cells[0] in rows)) rows[cells[0]] = cells;
}
return rows;
"""
SVG_DEFECTS = """
const out = {charts: 0, repeated: [], clipped: [], empty: []};
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  if (box.width < 100) continue;
  out.charts += 1;
  const ys = [...svg.querySelectorAll('g[id^="ytick"] text')].map(t => t.textContent.trim())
    .filter(t => t);
  if (new Set(ys).size !== ys.length) out.repeated.push(ys);
  for (const t of svg.querySelectorAll('text')) {
    const r = t.getBoundingClientRect();
    if (r.width && (r.left < box.left - 1 || r.right > box.right + 1))
      out.clipped.push(t.textContent);
  }
}
for (const td of document.querySelectorAll('td'))
  if (!td.innerText.trim() && !td.querySelector('hr')) out.empty.push(td.parentNode.innerText);
return out;
"""


def runs_show(root: Path, run_id: str) -> dict[str, str]:
    """`parity runs show RUN`'s figures by label, as printed."""
    from click.testing import CliRunner

    from parity.cli import cli

    result = CliRunner().invoke(cli, ["runs", "show", run_id, "--runs-dir", str(root)])
    assert result.exit_code == 0, result.output
    out = {}
    for line in result.output.splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        if line.startswith("  ") and len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


def check_tearsheet(chrome: Chrome, page: Path, root: Path, run_id: str) -> dict[str, Any]:
    """What every tearsheet must show; returns the QuantStats table rows for more checks."""
    import pandas as pd

    returns = pd.read_csv(root / run_id / "returns.csv", parse_dates=["date"])
    shown = runs_show(root, run_id)
    open_page(chrome, page)
    text = chrome.execute("return document.body.innerText")
    assert "﹪" not in text and "NaN" not in text and "nan%" not in text
    first, last = (f"{d:%Y-%m-%d}" for d in returns["date"].iloc[[0, -1]])
    assert chrome.execute("return document.querySelector('h1 dt').innerText") == (
        f"{first} \u2013 {last}"
    )
    rows = chrome.execute(TEARSHEET_FIGURES)
    assert rows["CAGR"][0] == "CAGR"  # no missing glyph after it
    # cumulative return and Sharpe are the run's own, to the printed digit
    assert rows["Cumulative Return"][-1] == shown["Total return"]
    assert float(rows["Sharpe"][-1]) == pytest.approx(float(shown["Sharpe ratio"]), abs=0.006)
    # parity's figures are on the page as runs show prints them, with how QuantStats' differ
    for key, label in (("total_return", "Total return"), ("cagr", "CAGR"),
                       ("sharpe", "Sharpe ratio"), ("max_drawdown", "Max drawdown")):  # fmt: skip
        assert (
            chrome.execute(f"return document.getElementById('ours-{key}').innerText")
            == (shown[label])
        )
    notes = chrome.execute("return document.getElementById('parity-figures').innerText")
    assert "QuantStats over trading periods" in notes
    defects = chrome.execute(SVG_DEFECTS)
    assert defects["charts"] >= 8, defects
    assert defects["repeated"] == [], defects["repeated"]  # no "1%, 1%, 0%, -0%"
    assert defects["clipped"] == [], defects["clipped"]  # titles and legends inside the chart
    assert defects["empty"] == []  # no empty cells (a short run's drawdown rows included)
    assert severe(chrome) == []
    no_remote_requests(chrome)
    return rows


def test_tearsheet_of_a_long_backtest(chrome: Chrome, tmp_path: Path) -> None:
    from parity.runners.report import write_run_tearsheet
    from parity.runstore import RunStore

    run = run_backtest(BacktestConfig(
        strategy="sma_cross", start=dt.date(2010, 1, 1), end=dt.date(2013, 12, 31),
        runs_dir=tmp_path,
    ))  # fmt: skip
    page = write_run_tearsheet(RunStore(tmp_path), run.run_id, benchmark="buy-and-hold", out=None)
    check_tearsheet(chrome, page, tmp_path, run.run_id)
    # EOY returns: one upright year label under each pair of bars
    eoy = chrome.execute(
        "const svg = document.querySelector('#eoy_returns svg');"
        "const labels = [...svg.querySelectorAll('g[id^=\"xtick\"] text')].map(t => {"
        " const r = t.getBoundingClientRect(); return [t.textContent, (r.left + r.right) / 2]; });"
        "const bars = [...svg.querySelectorAll('g[id^=\"patch\"] path')]"
        " .filter(p => !p.closest('g[id^=\"legend\"]')).map(p => "
        " p.getBoundingClientRect()).filter(r => r.width > 2 && r.width < 100)"
        " .map(r => [r.left, r.right]);"
        "return {labels, bars};"
    )
    years = [label for label, _ in eoy["labels"]]
    assert years == ["2010", "2011", "2012", "2013"]
    assert len(eoy["bars"]) == 2 * len(years)  # strategy and benchmark, per year
    bars = sorted(eoy["bars"])
    pairs = zip(bars[::2], bars[1::2], strict=True)
    for (year, centre), pair in zip(eoy["labels"], pairs, strict=True):
        assert pair[0][0] - 2 <= centre <= pair[1][1] + 2, (year, centre, pair)
    screenshot(chrome, "tearsheet-long", tmp_path)


def test_tearsheet_of_a_two_day_run(chrome: Chrome, runs: dict[str, Any], tmp_path: Path) -> None:
    from parity.runners.report import write_run_tearsheet
    from parity.runstore import RunStore

    root = runs["root"]
    page = write_run_tearsheet(
        RunStore(root), runs["paper"], benchmark="buy-and-hold", out=tmp_path / "short.html"
    )
    rows = check_tearsheet(chrome, page, root, runs["paper"])
    # QuantStats has no drawdown for two days (it starts from the first close): parity's, marked
    shown = runs_show(root, runs["paper"])
    assert rows["Max Drawdown"][-1] == shown["Max drawdown"] + "*"
    assert rows["Longest DD Days"][-1] == shown["Longest drawdown (days)"] + "*"
    screenshot(chrome, "tearsheet-short", tmp_path)


# ------------------------------------------------------------------------------------ weekly


def test_weekly_report_page(chrome: Chrome, runs: dict[str, Any], tmp_path: Path) -> None:
    from parity.reports.render import render
    from parity.runners.daily import make_report

    root = runs["root"]
    report = make_report(root / runs["paper"], "weekly")
    page = tmp_path / "weekly.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    shown = runs_show(root, runs["paper"])
    open_page(chrome, page)
    text = chrome.execute("return document.body.innerText")
    assert "NaN" not in text and "n/a" not in text
    ticks = chrome.execute(
        "return [...document.querySelectorAll('svg.chart text.tick-y')].map(t => t.textContent)"
    )
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks)
    assert all(t.startswith("$") for t in ticks), ticks
    dates = chrome.execute(
        "return [...document.querySelectorAll('svg.chart text.tick-x')].map(t => t.textContent)"
    )
    assert len(dates) == 5 and all(re.match(r"^2013-10-0\d \d\d:\d\d$", d) for d in dates)
    # performance to date: the labels and values runs show prints
    for label in ("Win rate", "Profit factor", "Sharpe ratio", "Max drawdown", "Total return"):
        assert f"{label}\t{shown[label]}" in text, label
    # every amount carries its currency: the fills table's price and commission columns
    cells = chrome.execute(
        "return [...document.querySelectorAll('table.fills td')].map(c => c.innerText)"
    )
    assert cells and all(c.startswith("$") for c in cells[4::6] + cells[5::6])
    screenshot(chrome, "weekly", tmp_path)
    assert severe(chrome) == []
