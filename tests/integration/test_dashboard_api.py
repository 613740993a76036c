"""The dashboard's HTTP side on a real loopback server: the JSON endpoints over journals written
by the real journal writer, their errors, the pages and bundled files, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from dashboard_runs import (
    ALERT,
    SyntheticRun,
    dead_pid,
    write_compare_outputs,
    write_risk_state,
)
from venue_support import PARITY

import parity
from parity.cli import cli
from parity.dashboard import Catalog, DashboardServer, TwinWorker
from parity.journal import EquityRecord, Journal

pytestmark = [pytest.mark.timeout(120)]


def fetch(url: str) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            body = response.read()
            status, headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        body, status, headers = exc.read(), exc.code, dict(exc.headers)
    ctype = headers.get("Content-Type", "")
    return status, headers, json.loads(body) if "json" in ctype else body.decode()


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, Any]:
    """A live paper run (journal left open), a finished paper run with `parity compare` output,
    a crashed run, a backtest and a run with only CSV artifacts."""
    root = tmp_path / "runs"
    live = SyntheticRun(root, "20240304-093000-live-aaaaaa")
    live.add_bars(60)
    live.add_fill("buy", 100, 181.0)
    live.add_fill("sell", 100, 182.0)
    live.add_fill("buy", 100, 181.5)
    open_id = live.add_open_order()
    live.add_events()
    write_risk_state(live.run_dir)

    done = SyntheticRun(root, "20240304-093001-done-bbbbbb")
    done.add_bars(80)
    done.finish()
    write_compare_outputs(done.run_dir, 80)

    crashed = SyntheticRun(root, "20240304-093002-crash-cccccc", pid=dead_pid())
    crashed.add_bars(10)
    crashed.close()

    backtest = SyntheticRun(root, "20240304-093003-bt-dddddd", mode="backtest")
    backtest.add_bars(30)
    backtest.finish()

    legacy = root / "20240304-093004-csv-eeeeee"
    legacy.mkdir()
    (legacy / "manifest.json").write_text(json.dumps({"run_id": legacy.name, "mode": "backtest",
        "strategy": {"name": "sma_cross"}, "symbols": ["SPY"], "cash": 1000.0}))  # fmt: skip
    (legacy / "equity.csv").write_text(
        "datetime,value,cash\n2024-01-02,1000,1000\n2024-01-03,1100,0\n"
    )
    (root / "not-a-run").mkdir()
    yield {"root": root, "live": live, "done": done, "open_id": open_id}
    live.close()


@pytest.fixture
def server(runs: dict[str, Any]) -> DashboardServer:
    with DashboardServer(Catalog(runs["root"])) as srv:
        yield srv


def test_runs_list_shows_every_run_with_status_and_return(server, runs):
    status, headers, body = fetch(server.url + "api/runs")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    rows = {r["run_id"]: r for r in body["runs"]}
    assert set(rows) == {
        "20240304-093000-live-aaaaaa", "20240304-093001-done-bbbbbb",
        "20240304-093002-crash-cccccc", "20240304-093003-bt-dddddd", "20240304-093004-csv-eeeeee",
    }  # fmt: skip
    live = rows["20240304-093000-live-aaaaaa"]
    assert (live["status"], live["alive"], live["mode"], live["venue"]) == (
        "running", True, "paper", "local")  # fmt: skip
    assert live["symbols"] == ["IBM"] and live["strategy"] == "sma_cross"
    assert 0 <= live["heartbeat_age_s"] < 60
    assert live["equity"] == pytest.approx(runs["live"].journal.reader.equity(
        runs["live"].run_id)["value"].iloc[-1])  # fmt: skip
    assert live["total_return"] == pytest.approx(live["equity"] / 100_000 - 1)
    assert live["last_bar"] == "2024-03-04T10:29:00"
    crashed = rows["20240304-093002-crash-cccccc"]
    assert crashed["status"] == "crashed" and "resume" in crashed["detail"]
    assert rows["20240304-093001-done-bbbbbb"]["status"] == "finished"
    legacy = rows["20240304-093004-csv-eeeeee"]
    assert (legacy["status"], legacy["detail"]) == ("finished", "no journal")
    assert legacy["total_return"] == pytest.approx(0.1)


def test_summary_has_every_panel(server, runs):
    live = runs["live"]
    status, _, body = fetch(f"{server.url}api/runs/{live.run_id}/summary")
    assert status == 200
    series = body["series"]
    assert series["mode"] == "full" and len(series["t"]) == 60
    assert series["t"][1] - series["t"][0] == 60  # bar times as UTC epoch seconds
    assert series["cursor"] == "2024-03-04T10:29:00"
    equity = pd.Series(series["equity"])
    assert series["drawdown"] == pytest.approx((equity / equity.cummax() - 1).tolist())
    assert min(series["drawdown"]) < -0.001
    assert body["twin"]["state"] == "none" and "parity compare" in body["twin"]["message"]
    assert body["positions"] == [
        {"symbol": "IBM", "qty": 100.0, "avg_price": 181.5,
         "last_price": pytest.approx(body["positions"][0]["last_price"]),
         "unrealized_pnl": pytest.approx((body["positions"][0]["last_price"] - 181.5) * 100)}
    ]  # fmt: skip
    assert [o["client_order_id"] for o in body["open_orders"]] == [runs["open_id"]]
    assert body["open_orders"][0]["limit_price"] == 190.0
    assert body["fills_total"] == 3
    assert [f["side"] for f in body["fills"]] == ["buy", "sell", "buy"]  # newest first
    assert [a["suppressed"] for a in body["alerts"]] == [True, False]
    assert {k: body["alerts"][1][k] for k in ALERT} == ALERT
    assert body["alerts"][1]["level"] == "warning"
    assert body["divergence"]["verdict"] == {"status": "WARN", "reasons": ["sharpe gap"]}
    assert body["divergence"]["events"][0]["correlation"] == 0.97
    assert body["risk"]["state"]["killed"] is True
    assert body["risk"]["limits"] == {"max_drawdown": "15%", "daily_loss_limit": "5%"}
    assert [(f["symbol"], f["state"]) for f in body["feeds"]] == [("IBM", "live")]
    streams = {s["stream"]: s for s in body["streams"]}
    assert streams["data"]["state"] == "disconnected" and streams["data"]["level"] == "warning"
    assert streams["trading"]["state"] == "connected"
    assert body["risk_events"][0]["event"] == "risk.rejected"
    assert body["run"]["max_drawdown_per_bar"] == pytest.approx(min(series["drawdown"]))


def test_summary_since_sends_only_new_bars_and_fills(server, runs):
    live = runs["live"]
    url = f"{server.url}api/runs/{live.run_id}/summary"
    _, _, first = fetch(url)
    live.add_bars(5)
    live.add_fill("sell", 100, 183.0)
    query = f"?since={first['series']['cursor']}&twin_rev={first['twin']['rev']}"
    _, _, later = fetch(url + query)
    assert later["series"]["mode"] == "append"
    assert (
        len(later["series"]["t"]) == 5 and later["series"]["t"][0] == first["series"]["t"][-1] + 60
    )
    assert later["series"]["cursor"] == "2024-03-04T10:34:00"
    assert later["fills_total"] == 4 and later["fills"][0]["price"] == 183.0
    assert later["positions"] == []
    _, _, none = fetch(url + f"?since={later['series']['cursor']}&twin_rev=")
    assert none["series"]["t"] == [] and none["series"]["cursor"] == "2024-03-04T10:34:00"


def test_twin_from_compare_is_overlaid_and_a_backtest_has_none(server, runs):
    done = runs["done"]
    _, _, body = fetch(f"{server.url}api/runs/{done.run_id}/summary")
    twin = body["twin"]
    assert twin["state"] == "ready" and twin["source"] == "parity compare: tape twin"
    assert twin["points"] == 80 and twin["rev"].startswith("compare:tape-twin:")
    assert body["series"]["twin"][0] == pytest.approx(100_000 * 0.998 + 150)
    assert body["divergence"]["verdict"]["status"] == "FAIL"
    assert body["divergence"]["report"]["correlation"] == 0.41
    assert body["run"]["status"] == "finished"
    # a stale twin revision makes the server send the whole curve again
    _, _, again = fetch(
        f"{server.url}api/runs/{done.run_id}/summary?since={body['series']['cursor']}&twin_rev=old"
    )
    assert again["series"]["mode"] == "full" and len(again["series"]["t"]) == 80
    _, _, bt = fetch(f"{server.url}api/runs/20240304-093003-bt-dddddd/summary")
    assert bt["twin"]["state"] == "none" and "backtest run has no twin" in bt["twin"]["message"]
    assert all(v is None for v in bt["series"]["twin"])
    _, _, legacy = fetch(f"{server.url}api/runs/20240304-093004-csv-eeeeee/summary")
    assert legacy["series"]["equity"] == [1000.0, 1100.0] and legacy["alerts"] == []


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("api/runs/no-such-run/summary", 404, "run 'no-such-run' not found"),
        ("api/runs/..%2F..%2Fetc/summary", 404, "not"),
        ("api/nothing", 404, "Not Found"),
        ("api/runs?limit=3", 400, "takes no query parameters"),
        ("api/runs/{live}/summary?since=yesterday", 400, "not an ISO date-time"),
        ("api/runs/{live}/summary?since=2024-03-04T10:00:00%2B00:00", 400, "naive bar time"),
        ("api/runs/{live}/summary?fills=0", 400, "between 1 and 1000"),
        ("api/runs/{live}/summary?fills=lots", 400, "not a whole number"),
        ("api/runs/{live}/summary?colour=red", 400, "unknown query parameter 'colour'"),
    ],
)
def test_bad_requests_get_json_errors(server, runs, path, status, needle):
    got, headers, body = fetch(server.url + path.format(live=runs["live"].run_id))
    assert got == status
    assert headers["Content-Type"].startswith("application/json")
    assert needle in body["error"]


def test_pages_and_bundled_files_are_local(server, runs):
    status, headers, html = fetch(server.url)
    assert status == 200 and "default-src 'self'" in headers["Content-Security-Policy"]
    _, _, run_page = fetch(f"{server.url}runs/{runs['live'].run_id}")
    for page in (html, run_page):
        refs = [
            part.split('"', 1)[0] for part in page.split(' src="')[1:] + page.split(' href="')[1:]
        ]
        assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs
    assert "/static/vendor/uplot/uPlot.iife.min.js" in run_page
    status, headers, script = fetch(server.url + "static/vendor/uplot/uPlot.iife.min.js")
    assert status == 200 and script.startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32)")
    status, _, text = fetch(f"{server.url}runs/no-such-run")
    assert status == 404 and "not found" in text
    static = Path(parity.__file__).parent / "dashboard" / "static"
    assert (static / "vendor" / "uplot" / "LICENSE").read_text().startswith("The MIT License")


def test_twin_worker_computes_once_per_interval_and_recomputes_when_the_tape_grows(tmp_path):
    run = SyntheticRun(tmp_path / "runs", "20240304-093000-twin-ffffff")
    run.add_bars(20)
    calls: list[int] = []
    done = threading.Event()

    def provider(manifest: dict[str, Any], tape: pd.DataFrame) -> pd.Series:
        calls.append(len(tape))
        done.set()
        closes = tape.set_index("datetime")["close"]
        return closes * 500 + 10_000

    now = [1000.0]
    worker = TwinWorker(provider, min_interval=60, clock=lambda: now[0])
    catalog = Catalog(tmp_path / "runs")
    url_path = f"api/runs/{run.run_id}/summary"
    try:
        with DashboardServer(catalog, worker=worker) as srv:
            _, _, first = fetch(srv.url + url_path)
            assert first["twin"]["state"] == "computing"
            assert done.wait(10)
            body = _until(srv.url + url_path, lambda b: b["twin"]["state"] == "ready")
            assert body["twin"]["rev"] == "worker:1" and body["twin"]["bars"] == 20
            assert body["series"]["twin"][0] == pytest.approx(180 * 500 + 10_000)  # bar 0 close
            run.add_bars(5)
            fetch(srv.url + url_path)
            time.sleep(0.3)
            assert calls == [20]  # the tape grew, but the last twin is younger than 60 s
            now[0] += 61
            fetch(srv.url + url_path)
            body = _until(srv.url + url_path, lambda b: b["twin"]["rev"] == "worker:2")
            assert calls == [20, 25] and body["twin"]["bars"] == 25
            assert body["series"]["mode"] == "full"
            now[0] += 61
            fetch(srv.url + url_path)
            time.sleep(0.3)
            assert calls == [20, 25]  # nothing new on the tape: nothing to compute
    finally:
        run.close()


def _until(url: str, ok: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, _, body = fetch(url)
        if ok(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def test_cli_port_in_use_is_one_line_naming_the_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["dashboard", "--runs-dir", str(tmp_path), "--port", str(port)]
        )
    assert result.exit_code == 2, result.output
    assert f"port {port} on 127.0.0.1 is in use" in result.output
    assert "--port 0" in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_port_zero_prints_the_url_and_serves(tmp_path):
    run = SyntheticRun(tmp_path / "runs", "20240304-093000-cli-gggggg")
    run.add_bars(3)
    run.finish()
    env = {**os.environ, "PYTHONPATH": str(Path(parity.__file__).parents[1])}
    with subprocess.Popen(
        [*PARITY, "dashboard",
         "--runs-dir", str(tmp_path / "runs"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    ) as proc:  # fmt: skip
        try:
            line = proc.stdout.readline()
            assert line.startswith("dashboard: http://127.0.0.1:"), line
            url = line.split()[1]
            _, _, body = fetch(url + "api/runs")
            assert [r["run_id"] for r in body["runs"]] == [run.run_id]
        finally:
            proc.terminate()
            proc.wait(10)


def test_runs_in_a_shared_database_are_listed_and_read(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    journal = Journal.open(url, create=True)
    journal.start_run("20240304-093000-db-hhhhhh", {"symbols": ["IBM"], "starting_cash": 1000.0},
                      mode="paper", venue="alpaca", strategy="sma_cross")  # fmt: skip
    journal.equity([EquityRecord(0, dt.datetime(2024, 3, 4, 9, 30), 1010.0, 1010.0)])
    journal.finish_run()
    journal.close()
    catalog = Catalog(tmp_path / "runs", env={"PARITY_DB_URL": url})
    with DashboardServer(catalog) as srv:
        _, _, body = fetch(srv.url + "api/runs")
        assert [(r["run_id"], r["venue"], r["status"]) for r in body["runs"]] == [
            ("20240304-093000-db-hhhhhh", "alpaca", "finished")
        ]
        assert body["runs"][0]["total_return"] == pytest.approx(0.01)
        _, _, summary = fetch(srv.url + "api/runs/20240304-093000-db-hhhhhh/summary")
        assert summary["series"]["equity"] == [1010.0] and summary["risk"]["state"] is None


def test_incremental_reads_equal_a_fresh_read(server, runs, tmp_path):
    """The dashboard reads only what is new on each poll; what it shows equals reading the whole
    journal afresh (a new catalog, nothing cached)."""
    from parity.dashboard.catalog import Catalog
    from parity.dashboard.views import summary

    live = runs["live"]
    url = f"{server.url}api/runs/{live.run_id}/summary"
    fetch(url)
    live.add_bars(7)
    live.add_fill("buy", 50, 182.0)
    _, _, cached = fetch(url)
    fresh_catalog = Catalog(server.catalog.runs_dir)
    try:
        fresh = summary(
            fresh_catalog,
            fresh_catalog.get(live.run_id),
            since=None,
            twin_rev=None,
            fills_limit=50,
            worker=None,
        )
    finally:
        fresh_catalog.close()
    assert cached["series"]["t"] == fresh["series"]["t"]
    assert cached["series"]["equity"] == fresh["series"]["equity"]
    assert cached["positions"] == fresh["positions"] and cached["positions"]
    assert cached["fills_total"] == fresh["fills_total"]


def test_the_dashboard_max_drawdown_is_the_one_runs_show_prints(tmp_path: Path) -> None:
    """One definition: the card's max drawdown is metrics.json's (daily closes from the starting
    cash); the deeper per-bar figure of the chart is labelled as such."""
    import datetime as _dt

    from parity.dashboard.views import summary
    from parity.runners.paper import PaperConfig, run_paper

    runs_dir = tmp_path / "runs"
    run_paper(
        PaperConfig(strategy="sma_cross", params={"fast": "5", "slow": "20"}, symbols=("IBM",),
                    venue="local", data="sample:minute", start=_dt.date(2013, 10, 4),
                    end=_dt.date(2013, 10, 7), cash=100_000.0, slippage="0", runs_dir=runs_dir,
                    run_id="p")
    )  # fmt: skip
    shown = CliRunner().invoke(cli, ["runs", "show", "p", "--runs-dir", str(runs_dir), "--json"])
    expected = json.loads(shown.stdout)["metrics"]["max_drawdown"]
    catalog = Catalog(runs_dir)
    try:
        body = summary(catalog, catalog.get("p"), since=None, twin_rev=None, fills_limit=5,
                       worker=None)  # fmt: skip
    finally:
        catalog.close()
    assert body["run"]["max_drawdown"] == pytest.approx(expected, abs=1e-15)
    per_bar = body["run"]["max_drawdown_per_bar"]
    assert per_bar == pytest.approx(min(body["series"]["drawdown"]))
    assert per_bar < expected < 0  # intraday goes deeper than the daily closes
    page = (Path(parity.__file__).parent / "dashboard" / "static" / "run.js").read_text()
    assert 'card("max drawdown (daily closes)"' in page and '"max drawdown (per bar)"' in page
