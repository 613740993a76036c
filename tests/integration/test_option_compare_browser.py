"""The options compare's page, `compare/divergence.html`, as a person sees it in real headless
Chromium (Debian's `chromium` + `chromedriver`), checked against the files the same compare
wrote: the P&L of the paper run and both twins, the waterfall's components to the cent against
`compare.json`, the ledger's rows against `options_ledger.csv` (each combo followed by its legs),
the assumptions rows against `assumptions.csv` with each verdict in its colour, and the three
equity curves against the runs' `equity.csv`. A full-page screenshot is kept with the test's
files (and in $PARITY_SCREENSHOTS when set).

The run: `test_option_compare`'s lock-step `protective_put` rehearsal on the local venue quoting
a 5% half spread against the 3% assumed (`wide`), compared with `--expect daily_pnl=-2` so that
the table holds every verdict (spread concerning, daily P&L acceptable, the rest excellent).

Skipped when chromium or chromedriver is missing, unless PARITY_REQUIRE_BROWSER_TESTS=1 (CI)."""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from chrome_webdriver import Chrome, browser_binaries
from click.testing import CliRunner
from PIL import Image, ImageStat
from test_option_compare import paper

from parity.cli import cli

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
VERDICT_RGB = {"excellent": (19, 122, 47), "acceptable": (161, 92, 0), "concerning": (179, 38, 30)}
ROWS = (
    "return [...document.querySelectorAll(arguments[0] + ' tbody tr')].map("
    "r => [r.className, [...r.cells].map(c => c.innerText.trim())])"
)
DASH = "\u2013"


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    chromium, driver = browser_binaries()
    browser = Chrome(chromium, driver, tmp_path_factory.mktemp("chrome")).start()
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 5%-spread rehearsal and `parity compare`'s output on it."""
    root = tmp_path_factory.mktemp("option-compare-html")
    run = paper(root, "wide", 0.05)
    result = CliRunner().invoke(
        cli, ["compare", "wide", "--expect", "daily_pnl=-2", "--runs-dir", str(root)]
    )
    return {"root": root, "run": run, "code": result.exit_code, "out": result.output}


def money(value: Any) -> str:
    """As the page prints money: `-$15.04`, `$0.00`, a dash when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    v = round(float(value), 2) + 0.0
    return f"{'-' if v < 0 else ''}${abs(v):,.2f}"


def px(value: Any) -> str:
    return DASH if pd.isna(value) else f"{float(value):.4f}"


def qty(value: Any) -> str:
    return DASH if pd.isna(value) else f"{float(value):g}"


def text(value: Any) -> str:
    return DASH if pd.isna(value) else str(value).replace("T", " ")


def expected_ledger(run: Path) -> list[list[Any]]:
    """`options_ledger.csv` as the page must show it: each combo, then its legs."""
    ledger = pd.read_csv(run / "compare" / "options_ledger.csv")
    legs = ledger[ledger["level"] == "leg"]
    terms = ("quotes", "spread", "slippage", "fees")
    rows: list[list[Any]] = []
    for c in ledger[ledger["level"] == "combo"].itertuples(index=False):
        rows.append([
            f"combo {c.status}",
            [c.status, c.legs, text(c.opened), f"{qty(c.contracts)} / {qty(c.model_contracts)}",
             f"{money(c.pnl)} / {money(c.model_pnl)}", *(money(getattr(c, k)) for k in terms),
             money(c.missed_partial), money(c.exit_timing), "", "", "", "", "",
             f"{text(c.closed)} / {text(c.model_closed)}"],
        ])  # fmt: skip
        if pd.isna(c.group):
            continue
        for g in legs[legs["group"] == c.group].itertuples(index=False):
            rows.append([
                f"leg {g.status}",
                [g.status, g.symbol, text(g.datetime),
                 f"{qty(g.contracts)} / {qty(g.model_contracts)}", "",
                 *(money(getattr(g, k)) for k in terms), "", "", px(g.price),
                 px(g.model_price), f"{px(g.tape_mid)} / {px(g.tape_touch)}",
                 f"{px(g.model_mid)} / {px(g.model_touch)}",
                 f"{money(g.commission)} / {money(g.model_commission)}", ""],
            ])  # fmt: skip
    return rows


def expected_assumptions(run: Path) -> list[list[str]]:
    table = pd.read_csv(run / "compare" / "assumptions.csv")

    def fig(v: Any) -> str:
        if pd.isna(v):
            return ""
        v = float(v)
        if v.is_integer():
            return f"{v:,.0f}"
        return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4f}".rstrip("0")

    return [
        [r.item, *(fig(getattr(r, k)) for k in ("assumed", "measured", "p10", "p50", "p90")),
         str(r.n), "" if pd.isna(r.deviation) else f"{r.deviation * 100:+.1f}%", r.verdict]
        for r in table.itertuples(index=False)
    ]  # fmt: skip


def open_report(chrome: Chrome, path: Path) -> str:
    chrome.console()
    chrome.get(path.as_uri())
    chrome.wait_for("return window.__report && window.__report.ready", what="the charts")
    return str(chrome.execute("return document.body.innerText"))


def keep_screenshot(chrome: Chrome, name: str, tmp_path: Path) -> None:
    height = chrome.execute("return document.documentElement.scrollHeight")
    chrome.resize(1280, min(int(height) + 40, 8000))
    chrome.execute("window.scrollTo(0, 0)")
    png = chrome.screenshot_png()
    chrome.resize(1280, 900)
    (tmp_path / f"{name}.png").write_bytes(png)  # kept with the test's files
    if os.environ.get("PARITY_SCREENSHOTS"):
        target = Path(os.environ["PARITY_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{name}.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert max(ImageStat.Stat(image).stddev) > 10  # a rendered page, not blank


def test_compare_prints_where_the_report_went(wide: dict[str, Any]) -> None:
    assert wide["code"] == 2, wide["out"]  # FAIL: the spread is concerning
    report = wide["run"] / "compare" / "divergence.html"
    assert wide["out"].splitlines()[-1] == f"report: {report}"
    page = report.read_text(encoding="utf-8")
    assert "<script src" not in page and "<link " not in page  # self-contained


def test_the_page_shows_the_verdict_the_pnl_and_the_waterfall_to_the_cent(
    chrome: Chrome, wide: dict[str, Any], tmp_path: Path
) -> None:
    run = wide["run"]
    figures = json.loads((run / "compare" / "compare.json").read_text())
    body = open_report(chrome, run / "compare" / "divergence.html")
    assert "NaN" not in body and "undefined" not in body
    tops = chrome.execute(
        "return ['verdict', 'cards', 'equity-chart', 'waterfall', 'options-ledger', "
        "'assumptions'].map(id => document.getElementById(id).getBoundingClientRect().top)"
    )
    assert tops == sorted(tops), tops
    verdict = chrome.execute("return document.getElementById('verdict').innerText")
    assert verdict.startswith("FAIL") and "spread: beyond its assumption's band" in verdict
    assert "excellent within ±25%, acceptable within ±50%" in verdict
    cards = dict(
        chrome.execute(
            "return [...document.querySelectorAll('#cards .card')].map(c => [c.id, "
            "c.querySelector('.value').innerText])"
        )
    )
    pnl = figures["pnl"]
    assert cards["card-pnl-paper"] == money(pnl["paper"])
    assert cards["card-pnl-tape"] == money(pnl["tape_twin"])
    assert cards["card-pnl-model"] == money(pnl["model_twin"])
    assert cards["card-gap"] == money(figures["gap"]) and figures["gap"] < -10
    assert cards["card-data-divergence"] == money(figures["data_divergence"])
    assert cards["card-execution-divergence"] == money(figures["execution_divergence"])
    assert cards["card-combo-counts"] == "5 / 0 / 0 / 0"
    # the waterfall: every component and the total, in order, to the cent
    labels = chrome.execute(
        "return [...document.querySelectorAll('#waterfall text.value')].map(t => t.textContent)"
    )
    components = figures["components"]
    assert labels == [money(v) for v in components.values()] + [money(figures["gap"])]
    bars = chrome.execute(
        "return [...document.querySelectorAll('#waterfall rect.bar')].map(r => "
        "[r.dataset.name, Number(r.dataset.value)])"
    )
    drawn = {k: v for k, v in components.items() if abs(v) >= 0.005}
    assert [name for name, _ in bars] == [*drawn, "total"]  # the spread and the total
    assert list(drawn) == ["spread"]
    for (name, value), want in zip(bars, [*drawn.values(), figures["gap"]], strict=True):
        assert round(value, 2) == round(want, 2), name
    assert round(math.fsum(components.values()), 2) == round(figures["gap"], 2)
    # the equity curves: the paper run and both twins, each ending at its equity.csv's value
    legend = chrome.execute(
        "return [...document.querySelectorAll('#equity-chart .u-legend .u-label')]"
        ".map(n => n.innerText)"
    )
    assert legend == ["bar", "twin on received quotes", "twin on model chain", "paper"]
    ends = chrome.execute(
        "return window.__report.charts['equity-chart'].data.slice(1).map(s => "
        "s.filter(v => v !== null).slice(-1)[0])"
    )
    finals = [
        float(pd.read_csv(d / "equity.csv")["value"].iloc[-1])
        for d in (run / "compare" / "tape-twin", run / "compare" / "model-twin", run)
    ]
    assert ends == pytest.approx(finals, abs=1e-9)
    assert finals[2] - finals[1] == pytest.approx(figures["gap"], abs=0.005)
    assert [e for e in chrome.console() if e.get("level") == "SEVERE"] == []
    urls = chrome.execute(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => !u.startsWith('file:') && !u.startsWith('data:'))"
    )
    assert urls == []
    keep_screenshot(chrome, "options-compare", tmp_path)


def test_the_ledger_and_the_assumptions_are_the_files_rows(
    chrome: Chrome, wide: dict[str, Any], tmp_path: Path
) -> None:
    run = wide["run"]
    open_report(chrome, run / "compare" / "divergence.html")
    shown = chrome.execute(ROWS, "#options-ledger")
    expected = expected_ledger(run)
    assert len(expected) == 10  # five puts bought: five combos of one leg each
    assert shown == expected
    # the ledger's legs paid the 5% spread: each one's spread term is its dearer price
    legs = pd.read_csv(run / "compare" / "options_ledger.csv").query("level == 'leg'")
    dearer = -(legs["contracts"] * 100 * (legs["price"] - legs["model_price"]))
    assert list(legs["spread"].round(2)) == list(dearer.round(2))
    assert [c for _, c in chrome.execute(ROWS, "table.options-assumptions")] == (
        expected_assumptions(run)
    )
    table = pd.read_csv(run / "compare" / "assumptions.csv").set_index("item")
    assert table.loc["spread", "verdict"] == "concerning"
    assert table.loc["daily_pnl", "verdict"] == "acceptable"  # against --expect daily_pnl=-2
    shown_verdicts = chrome.execute(
        "return [...document.querySelectorAll('table.options-assumptions tbody tr')].map(r => "
        "[r.dataset.item, r.querySelector('td.verdict').innerText, "
        "getComputedStyle(r.querySelector('td.verdict')).color])"
    )
    assert {v for _, v, _ in shown_verdicts} == set(VERDICT_RGB)
    for item, verdict, colour in shown_verdicts:
        assert verdict == table.loc[item, "verdict"], item
        assert colour == "rgb({}, {}, {})".format(*VERDICT_RGB[verdict]), (item, colour)
    chrome.execute("document.getElementById('options-ledger').scrollIntoView()")
    keep_screenshot(chrome, "options-compare-ledger", tmp_path)


def test_the_runs_next_steps_name_the_options_page(wide: dict[str, Any]) -> None:
    from parity.reports.run_header import next_steps
    from parity.runstore import RunStore

    record = RunStore(wide["root"]).get("wide")
    steps = next_steps(record.manifest, "wide", wide["root"])
    line = next(s for s in steps if "parity compare wide" in s)
    assert line.endswith("# against its backtest twin: compare/divergence.html"), line
