"""Options in the tearsheet, the daily report and the dashboard, as a person sees them in real
headless Chromium (Debian's `chromium` + `chromedriver`): each order with its legs, the Greeks
of the open positions and the portfolio, and the compare's assumptions table with each verdict
in its colour. What the page shows is checked against the run's CSVs to the cent (prices and
mids to 4 decimals, as the page prints them), and a full-page screenshot is kept with the
test's files (and in $PARITY_SCREENSHOTS when set).

Runs (`option_runs`): `put_credit_spread` rehearsed on the local venue with its first combo
rejected by the venue (two-leg combos, expiries, an assignment), and a `protective_put`
backtest that ends holding a put (Greeks per position). The assumptions table is a constructed
`compare/assumptions.csv` (the options compare is not on main yet).

Skipped when chromium or chromedriver is missing, unless PARITY_REQUIRE_BROWSER_TESTS=1 (CI)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from chrome_webdriver import Chrome, browser_binaries
from option_runs import RUN_ID, VENUE_MESSAGE, combo_paper_run, put_backtest, write_assumptions
from PIL import Image, ImageStat

from parity.dashboard import Catalog, DashboardServer
from parity.runners.daily import make_report, produce
from parity.runners.report import write_run_tearsheet
from parity.runstore import RunStore

pytestmark = [
    pytest.mark.timeout(400),
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
VERDICT_RGB = {"excellent": (19, 122, 47), "acceptable": (161, 92, 0), "concerning": (179, 38, 30)}
ROWS = (
    "return [...document.querySelectorAll(arguments[0] + ' tbody tr')].map("
    "r => [r.className, [...r.cells].map(c => c.innerText.trim())])"
)


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    chromium, driver = browser_binaries()
    browser = Chrome(chromium, driver, tmp_path_factory.mktemp("chrome")).start()
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("option-reports")
    paper = combo_paper_run(root)
    write_assumptions(paper)
    return {"root": root, "paper": paper, "puts": put_backtest(root)}


def money(value: float) -> str:
    return f"{value:,.2f}"


def price(value: float) -> str:
    return f"{value:.4f}"


def expected_orders(run_dir: Path, blank: str = "") -> list[tuple[str, list[str]]]:
    """The orders table as the CSVs say it must read: a combo row (its legs' costs added up,
    its trade's P&L on the order that opened it), then a row per leg."""
    orders = pd.read_csv(run_dir / "options_orders.csv", keep_default_na=False)
    fills = pd.read_csv(run_dir / "options_fills.csv").query("kind == 'trade'")
    trades = pd.read_csv(run_dir / "options_trades.csv").set_index("group")
    rows: list[tuple[str, list[str]]] = []
    seen: set[int] = set()
    for o in orders.itertuples(index=False):
        own = fills[fills["order"] == o.order]
        net = None if o.net == "" else float(o.net)
        pnl = ""
        if o.group not in seen and o.group in trades.index:  # a rejected combo made none
            pnl = f"{money(trades.loc[o.group, 'pnl'])} {trades.loc[o.group, 'outcome']}"
        seen.add(o.group)
        total = {k: money(own[k].sum()) if len(own) else blank for k in
                 ("spread_cost", "slippage_cost")}  # fmt: skip
        fees = money((own["commission"] + own["fees"]).sum()) if len(own) else blank
        side = "" if not net else ("debit" if net > 0 else "credit")
        status = o.status + (f" ({o.reason})" if o.reason else "")
        rows.append(("combo", [str(o.order), o.tag, o.legs, side, str(o.qty),
                               blank if net is None else price(net), "", total["spread_cost"],
                               total["slippage_cost"], fees, status, pnl]))  # fmt: skip
        for i, token in enumerate(o.legs.split(), 1):
            ratio, _, symbol = token.partition("x")
            leg = own[own["leg"] == i]
            assert len(leg) <= 1  # one fill a leg here (no partial fills)
            cells = [blank] * 5
            if len(leg):
                f = leg.iloc[0]
                cells = [price(f["price"]), price(f["mid"]), money(f["spread_cost"]),
                         money(f["slippage_cost"]), money(f["commission"] + f["fees"])]  # fmt: skip
            rows.append(("leg", ["", f"leg {i}", symbol, "buy" if int(ratio) > 0 else "sell",
                                 str(abs(int(ratio))), *cells, "", ""]))  # fmt: skip
    return rows


def expected_assumptions(run_dir: Path) -> list[list[str]]:
    table = pd.read_csv(run_dir / "compare" / "assumptions.csv")
    assert list(table.columns) == ["item", "assumed", "measured", "p10", "p50", "p90", "n",
                                   "deviation", "verdict"]  # fmt: skip

    def fig(v: Any) -> str:
        if pd.isna(v):
            return ""
        v = float(v)
        if v.is_integer():
            return f"{v:,.0f}"
        return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4f}".rstrip("0")

    return [
        [r.item, *(fig(getattr(r, k)) for k in ("assumed", "measured", "p10", "p50", "p90")),
         str(r.n), f"{r.deviation * 100:+.1f}%", r.verdict]
        for r in table.itertuples(index=False)
    ]  # fmt: skip


def check_verdict_colours(chrome: Chrome, selector: str) -> None:
    shown = chrome.execute(
        f"return [...document.querySelectorAll('{selector}')].map("
        "c => [c.innerText.trim(), getComputedStyle(c).color])"
    )
    assert {v for v, _ in shown} == set(VERDICT_RGB)
    for verdict, colour in shown:
        assert colour == "rgb({}, {}, {})".format(*VERDICT_RGB[verdict]), (verdict, colour)


def keep_screenshot(chrome: Chrome, name: str, tmp_path: Path) -> None:
    height = chrome.execute("return document.documentElement.scrollHeight")
    chrome.resize(1280, min(int(height) + 40, 8000))
    png = chrome.screenshot_png()
    chrome.resize(1280, 900)
    (tmp_path / f"{name}.png").write_bytes(png)  # kept with the test's files
    if os.environ.get("PARITY_SCREENSHOTS"):
        target = Path(os.environ["PARITY_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{name}.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert max(ImageStat.Stat(image).stddev) > 10  # a rendered page, not blank


def open_file(chrome: Chrome, path: Path) -> None:
    chrome.console()
    chrome.get(path.as_uri())
    chrome.wait_for("return document.readyState === 'complete'", what="the page")


def greeks_expected(run_dir: Path) -> tuple[list[list[str]], list[str]]:
    positions = pd.read_csv(run_dir / "options_positions.csv")
    portfolio = pd.read_csv(run_dir / "options_greeks.csv").iloc[-1]
    last = positions[positions["datetime"] == portfolio["datetime"]]
    assert len(last) == 1  # the put held at the end
    greeks = ("delta", "gamma", "theta", "vega")
    rows = [
        [p.symbol, str(p.qty), price(p.mark), money(p.value),
         *(f"{getattr(p, k):,.4f}" for k in greeks)]
        for p in last.itertuples(index=False)
    ]  # fmt: skip
    port = [
        f"portfolio ({int(portfolio['contracts'])} contracts)", "", "",
        money(portfolio["option_value"]), *(f"{portfolio[k]:,.4f}" for k in greeks),
    ]  # fmt: skip
    # the portfolio's delta is its positions' plus the shares held (the Greeks add up)
    assert portfolio["delta"] == pytest.approx(last["delta"].sum() + portfolio["shares"], abs=1e-5)
    return rows, port


def test_the_tearsheet_shows_each_combo_with_its_legs_and_the_assumptions(
    chrome: Chrome, runs: dict[str, Path], tmp_path: Path
) -> None:
    page = write_run_tearsheet(RunStore(runs["root"]), RUN_ID, benchmark=None, out=None)
    open_file(chrome, page)
    shown = [(cls, cells) for cls, cells in chrome.execute(ROWS, "table.options-combos")]
    expected = expected_orders(runs["paper"])
    assert len(expected) == 3 * 11 and shown == expected
    rejected = shown[0][1]
    assert rejected[10] == f"rejected ({VENUE_MESSAGE})" and rejected[5] == ""
    assert [c for _, c in chrome.execute(ROWS, "table.options-assumptions")] == (
        expected_assumptions(runs["paper"])
    )
    check_verdict_colours(chrome, "table.options-assumptions td.verdict")
    assert [e for e in chrome.console() if e.get("level") == "SEVERE"] == []
    chrome.execute("document.getElementById('options').scrollIntoView()")
    keep_screenshot(chrome, "tearsheet-options", tmp_path)


def test_the_tearsheet_shows_the_greeks_of_each_open_position_and_the_portfolio(
    chrome: Chrome, runs: dict[str, Path], tmp_path: Path
) -> None:
    page = write_run_tearsheet(RunStore(runs["root"]), runs["puts"].name, benchmark=None, out=None)
    open_file(chrome, page)
    rows, port = greeks_expected(runs["puts"])
    shown = chrome.execute(ROWS, "table.options-greeks.positions")
    assert shown == [["position", r] for r in rows] + [["portfolio", port]]
    history = [c for _, c in chrome.execute(ROWS, "table.options-greeks.history")]
    greeks = pd.read_csv(runs["puts"] / "options_greeks.csv")
    assert len(history) == len(greeks)  # one mark a session in a daily run
    end = greeks.iloc[-1]
    assert history[-1] == [
        end["datetime"][:10], price(end["underlying_price"]), str(int(end["contracts"])),
        money(end["option_value"]), *(f"{end[k]:,.4f}" for k in ("delta", "gamma", "theta", "vega"))
    ]  # fmt: skip
    marks = pd.read_csv(runs["puts"] / "options_positions.csv")
    each = [c for _, c in chrome.execute(ROWS, "table.options-greeks.position-history")]
    assert len(each) == len(marks) > 20  # one row a contract held at each session's mark
    p = marks.iloc[0]
    assert each[0] == [p["datetime"], p["symbol"], str(p["qty"]), price(p["mark"]),
                       money(p["value"]), *(f"{p[k]:,.4f}" for k in ("delta", "gamma", "theta",
                                                                       "vega"))]  # fmt: skip
    keep_screenshot(chrome, "tearsheet-greeks", tmp_path)


def test_the_daily_report_shows_the_days_combo_legs_from_the_journal(
    chrome: Chrome, runs: dict[str, Path], tmp_path: Path
) -> None:
    """2012-02-28: the combo that is assigned the next day, its legs as the journal recorded
    their fills (mid and costs: schema 4), its tag and P&L from the run's CSVs."""
    paper = runs["paper"]
    report = make_report(paper, "daily", day=dt.date(2012, 2, 28))
    _, page = produce(paper, report, "html", None)
    assert page is not None
    open_file(chrome, page)
    shown = chrome.execute(ROWS, "table.options-combos")
    expected = expected_orders(paper)
    orders = pd.read_csv(paper / "options_orders.csv")
    day = orders[orders["submitted_at"].str.startswith("2012-02-28")]
    assert len(day) == 1
    number = str(day.iloc[0]["order"])
    at = next(i for i, (cls, c) in enumerate(expected) if cls == "combo" and c[0] == number)
    combo, legs = expected[at], expected[at + 1 : at + 3]
    assert [cls for cls, _ in shown] == ["combo", "leg", "leg"]
    assert shown[0][1][1] == combo[1][1] == "put_credit_spread"
    assert shown[0][1][2].split() == ["-2", "IBM120229P00197000", "+2", "IBM120229P00192000"]
    assert shown[0][1][11] == combo[1][11] and combo[1][11].endswith(" assigned")
    assert shown[0][1][5] == combo[1][5]  # the net price, signed as Alpaca's mleg
    for (_, got), (_, want) in zip(shown[1:], legs, strict=True):
        assert got[1:10] == want[1:10]  # contract, side, ratio, fill, mid, spread, slippage, fees
    check_verdict_colours(chrome, "table.options-assumptions td.verdict")
    keep_screenshot(chrome, "daily-options", tmp_path)
    puts = runs["puts"]
    report = make_report(puts, "daily", day=dt.date(2012, 5, 10))
    _, page = produce(puts, report, "html", None)
    assert page is not None
    open_file(chrome, page)
    rows, port = greeks_expected(puts)
    shown = chrome.execute(ROWS, "table.options-greeks.positions")
    assert shown == [["position", r] for r in rows] + [["portfolio", port]]
    keep_screenshot(chrome, "daily-greeks", tmp_path)


def test_the_dashboard_shows_orders_legs_greeks_and_the_assumptions(
    chrome: Chrome, runs: dict[str, Path], tmp_path: Path
) -> None:
    with DashboardServer(Catalog(runs["root"])) as server:
        chrome.console()
        chrome.get(f"{server.url}runs/{RUN_ID}")
        chrome.wait_for(
            "return document.querySelectorAll('#option-orders tr.combo').length > 0 ? 1 : null",
            what="the options panel",
        )
        shown = chrome.execute(ROWS, "#option-orders")
        expected = expected_orders(runs["paper"], blank="\u2013")  # the page's dash
        # newest order first on the dashboard; each with its legs under it
        blocks = [expected[i : i + 3] for i in range(0, len(expected), 3)][::-1]
        want = [[cls, cells] for block in blocks for cls, cells in block]
        assert shown == want
        total = chrome.execute("return document.getElementById('option-orders-total').innerText")
        assert total == "11"
        assumptions = [c for _, c in chrome.execute(ROWS, "#option-assumptions")]
        assert assumptions == expected_assumptions(runs["paper"])
        check_verdict_colours(chrome, "#option-assumptions .badge")
        assert [e for e in chrome.console() if e.get("level") == "SEVERE"] == []
        chrome.execute("document.getElementById('options-panel').scrollIntoView()")
        keep_screenshot(chrome, "dashboard-options", tmp_path)
        chrome.get(f"{server.url}runs/{runs['puts'].name}")
        chrome.wait_for(
            "return document.querySelectorAll('#option-greeks tr.portfolio').length ? 1 : null",
            what="the Greeks",
        )
        rows, port = greeks_expected(runs["puts"])
        shown = chrome.execute(ROWS, "#option-greeks")
        assert shown == [["position", r] for r in rows] + [["portfolio", port]]
        chrome.execute("document.getElementById('options-panel').scrollIntoView()")
        keep_screenshot(chrome, "dashboard-greeks", tmp_path)


def test_a_live_runs_dashboard_reads_the_legs_from_the_journal(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """Before a run has written its options CSVs (while it runs) the panel's orders come from
    the journal: the same legs, fills, mids and costs (schema 4), no tag or P&L yet."""
    root = tmp_path / "runs"
    live = root / RUN_ID
    shutil.copytree(runs["paper"], live)
    expected = expected_orders(live, blank="")
    for name in ("options_orders", "options_fills", "options_trades", "options_greeks",
                 "options_positions"):  # fmt: skip
        (live / f"{name}.csv").unlink()
    with (
        DashboardServer(Catalog(root)) as server,
        urllib.request.urlopen(f"{server.url}api/runs/{RUN_ID}/summary", timeout=30) as answer,
    ):
        options = json.loads(answer.read())["options"]
    assert options["orders_total"] == 11
    newest_first = [c for cls, c in expected if cls == "combo"][::-1]
    legs_of = {c[0]: [cells for cls, cells in expected[i + 1 : i + 3]]
               for i, (cls, c) in enumerate(expected) if cls == "combo"}  # fmt: skip
    for order, want in zip(options["orders"], newest_first, strict=True):
        qty = int(want[4])
        described = " ".join(
            f"{t[0]}{abs(int(t.partition('x')[0])) * qty} {t.partition('x')[2]}"
            for t in want[2].split()
        )  # `-1xSYM` of 2 units is `-2 SYM` in the journal's words
        assert order["order"].startswith(f"{RUN_ID}-") and order["legs_text"] == described
        assert order["tag"] is None and order["pnl"] is None
        got_legs = [
            ["", f"leg {i}", leg["symbol"], leg["side"], str(leg["ratio"]),
             "" if leg["price"] is None else price(leg["price"]),
             "" if leg["mid"] is None else price(leg["mid"]),
             "" if leg["spread_cost"] is None else money(leg["spread_cost"]),
             "" if leg["slippage_cost"] is None else money(leg["slippage_cost"]),
             "" if leg["fees"] is None else money(leg["fees"]), "", ""]
            for i, leg in enumerate(order["legs"], 1)
        ]  # fmt: skip
        assert got_legs == legs_of[want[0]]
    assert options["greeks"]["as_of"] == "2012-03-02 16:00:00"  # the journal's last session
