"""`parity compare` on a real lock-step local-venue rehearsal (two sessions of sample:minute IBM),
through the runner and through the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from parity.cli import cli
from parity.config import BacktestConfig
from parity.runners.backtest import run_backtest
from parity.runners.compare import CompareConfig, run_compare
from parity.runners.paper import PaperConfig, run_paper

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(120)]

WINDOW = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 7)}
PARAMS = {"fast": "5", "slow": "20"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A runs directory holding one frictionless paper rehearsal and one frictionless backtest,
    on every minute bar of the sample (pre- and post-market too: its gaps are what latency is
    measured across)."""
    root = tmp_path_factory.mktemp("compare")
    common = {
        "strategy": "sma_cross",
        "params": PARAMS,
        "symbols": ("IBM",),
        "runs_dir": root,
        "session": "extended",
    }
    run_paper(
        PaperConfig(
            slippage="0", venue="local", data="sample:minute", cash=100_000.0, **common, **WINDOW
        )
    )
    run_backtest(
        BacktestConfig(data="sample:minute", commission="0", slippage="0", **common, **WINDOW)
    )
    return root


def _run(runs: Path, mode: str) -> Path:
    found = [p for p in runs.iterdir() if (p / "manifest.json").is_file()]
    modes = {p: json.loads((p / "manifest.json").read_text())["mode"] for p in found}
    return next(p for p, m in modes.items() if m == mode)


def compare(runs: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["compare", *args, "--runs-dir", str(runs)])


def test_frictionless_rehearsal_passes_with_every_trade_matched(runs):
    paper = _run(runs, "paper")
    result = run_compare(CompareConfig(paper_run=paper.name, runs_dir=runs))
    div = result.divergence
    assert result.status == "PASS" and div["verdict"]["exit_code"] == 0
    per_bar = div["curves"]["per_bar"]
    assert per_bar["correlation"] > 0.999
    assert per_bar["dtw"] < 1e-9 and per_bar["tracking_error"] < 1e-9
    counts = div["ledger"]["counts"]
    closed = [r for r in div["ledger"]["rows"] if not r["open_at_end"]]
    assert len(closed) == div["metrics"]["trades"]["live"] > 10
    assert counts["matched"] == len(div["ledger"]["rows"])
    assert counts["missed"] == counts["extra"] == 0
    assert all(abs(v) < 1e-6 for v in div["waterfall"]["components"].values())
    assert abs(div["waterfall"]["total"]) < 1e-6
    assert div["first_divergence"] == {"data": None, "execution": None}
    assert div["missing_fills"] == []
    assert (paper / "divergence.json").is_file()
    page = (paper / "divergence.html").read_text()
    assert "id='equity-chart'" in page and "PASS" in page  # charts drawn by the inlined uPlot
    assert 'id="waterfall-none"' in page  # every component under a cent: no bar to draw
    assert 'src="http' not in page and 'href="http' not in page  # self-contained, offline
    assert (paper / "compare" / "tape-twin" / "metrics.json").is_file()
    assert (paper / "compare" / "history-twin" / "metrics.json").is_file()


def test_counts_are_named_and_a_lock_step_replay_has_zero_latency(runs):
    """The ledger counts a position still open at the end beside the closed trades, and
    latency is measured from the first moment an order could fill (the next bar the replay
    had, across gaps in the minute bars), so the zero-latency rehearsal shows 0 everywhere."""
    paper = _run(runs, "paper")
    div = run_compare(CompareConfig(paper_run=paper.name, runs_dir=runs)).divergence
    counts, rows = div["ledger"]["counts"], div["ledger"]["rows"]
    closed = div["metrics"]["trades"]["live"]
    assert counts["matched_open"] == sum(r["open_at_end"] for r in rows) == 1
    assert counts["matched_closed"] == closed == counts["matched"] - 1
    assert [r["latency_s"] for r in rows] == [0.0] * len(rows)
    assert [r["twin_latency_s"] for r in rows] == [0.0] * len(rows)
    assert div["ledger"]["mean_latency_s"] == 0.0
    gaps = [r for r in rows if _next_bar_gap(paper, r["decision_bar"]) > 60]
    assert gaps  # the rehearsal has decisions before a gap in the bars: still 0
    text = compare(runs, paper.name).stdout
    assert (
        f"round trips: {closed + 1} matched ({closed} closed + 1 open at the end), 0 missed, "
        "0 extra"
    ) in text
    assert "mean latency 0.0 s (fill time minus the first moment the order could fill)" in text
    assert re.search(rf"Trades \(closed\)\s+{closed}\s", text)


def _next_bar_gap(paper: Path, decision_bar: str) -> float:
    """Seconds from the end of the decision bar to the start of the next bar the run had."""
    index = pd.read_csv(paper / "equity.csv", parse_dates=["datetime"])["datetime"]
    end = pd.Timestamp(decision_bar) + pd.Timedelta(minutes=1)
    later = index[index >= end]
    return (later.iloc[0] - end).total_seconds() + 60 if len(later) else 0.0


def test_each_comparison_keeps_its_own_file_and_reports_show_the_twin_verdict(runs):
    """--expect and --against no longer replace the twin's verdict in divergence.json: the
    daily report and the dashboard keep showing the twin's PASS and say what it is."""
    from parity.dashboard.views import divergence as dashboard_divergence

    paper, backtest = _run(runs, "paper"), _run(runs, "backtest")
    twin = compare(runs, paper.name)
    assert twin.exit_code == 0, twin.output
    assert twin.stdout.startswith("verdict: PASS (paper run vs its backtest twin)")
    stated = "sharpe=9,win_rate=0.9,profit_factor=9,max_drawdown=-0.0001"
    far = compare(runs, paper.name, "--expect", stated)
    assert far.exit_code == 2 and far.stdout.startswith("verdict: FAIL (paper run vs stated")
    against = compare(runs, paper.name, "--against", backtest.name)
    assert against.exit_code == 0, against.output
    assert against.stdout.startswith(f"verdict: PASS (paper run vs run {backtest.name}")

    files = {p.name: json.loads(p.read_text()) for p in paper.glob("divergence*.json")}
    assert set(files) == {
        "divergence.json",
        "divergence-expect.json",
        f"divergence-against-{backtest.name}.json",
    }
    assert "vs stated figures (--expect)</h1>" in (paper / "divergence-expect.html").read_text()
    assert "vs its backtest twin</h1>" in (paper / "divergence.html").read_text()
    assert (paper / f"divergence-against-{backtest.name}.html").is_file()
    assert files["divergence.json"]["mode"] == "twin"
    assert files["divergence.json"]["verdict"]["status"] == "PASS"
    assert files["divergence-expect.json"]["verdict"]["status"] == "FAIL"
    assert files["divergence-expect.json"]["compared_with"] == "stated figures (--expect)"

    daily = CliRunner().invoke(
        cli, ["report", "daily", paper.name, "--runs-dir", str(runs), "--format", "json"]
    )
    assert daily.exit_code == 0, daily.output
    report = json.loads(daily.stdout)
    shown = report["divergence"]
    assert (shown["status"], shown["source"]) == ("PASS", "compare")
    assert shown["compared_with"] == "its backtest twin"
    assert shown["path"] == str(paper / "divergence.json")
    assert not [a for a in report["actions"] if a["kind"] == "divergence"]
    text = CliRunner().invoke(cli, ["report", "daily", paper.name, "--runs-dir", str(runs)])
    assert "PASS  from `parity compare` with its backtest twin" in text.stdout
    assert "backtest vs live FAIL" not in text.stdout

    board = dashboard_divergence(paper, pd.DataFrame(columns=["kind", "at", "level", "payload"]))
    assert board["verdict"]["status"] == "PASS"
    assert board["source"] == "parity compare with its backtest twin"
    assert board["report"]["compared_with"] == "its backtest twin"


def test_cli_default_prints_the_verdict_and_exits_0(runs):
    result = compare(runs, _run(runs, "paper").name)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("verdict: PASS")
    assert "P&L gap attribution" in result.stdout and "residual" in result.stdout


def test_cli_json(runs, tmp_path):
    result = compare(runs, _run(runs, "paper").name, "--json", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["verdict"]["status"] == "PASS" and payload["mode"] == "twin"
    assert set(payload["waterfall"]["components"]) >= {"data", "fill_price", "fees", "residual"}
    assert (tmp_path / "divergence.json").is_file() and (tmp_path / "divergence.html").is_file()


def test_cli_against_a_backtest_names_every_manifest_difference(runs, tmp_path):
    paper, backtest = _run(runs, "paper"), _run(runs, "backtest")
    same = compare(runs, paper.name, "--against", backtest.name, "--out", str(tmp_path))
    assert same.exit_code == 0, same.output
    assert "warning" not in same.stderr
    other = run_backtest(
        BacktestConfig(
            strategy="sma_cross",
            params={"fast": "10", "slow": "30"},
            data="sample:minute",
            symbols=("IBM",),
            slippage="5bps",
            runs_dir=tmp_path / "other",
            start=WINDOW["start"],
            end=WINDOW["start"],
        )
    )
    differ = compare(runs, paper.name, "--against", str(other.run_dir), "--out", str(tmp_path))
    assert differ.exit_code in (1, 2), differ.output
    for text in ("params.fast", "params.slow", "slippage", "window end", "data sha256"):
        assert text in differ.stderr


def test_cli_expect_stated_figures(runs, tmp_path):
    paper = _run(runs, "paper")
    metrics = json.loads((paper / "metrics.json").read_text())
    close = f"sharpe={metrics['sharpe'] * 1.1},win_rate={metrics['win_rate']}"
    ok = compare(runs, paper.name, "--expect", close, "--out", str(tmp_path))
    assert ok.exit_code == 0, ok.output
    far = compare(
        runs,
        paper.name,
        "--expect",
        "sharpe=1.8,win_rate=0.65,profit_factor=2.5,max_drawdown=-0.12",
        "--out",
        str(tmp_path),
    )
    assert far.exit_code == 2 and far.stdout.startswith("verdict: FAIL")


def test_cli_bad_expect_text_and_unknown_metric(runs):
    paper = _run(runs, "paper").name
    bad = compare(runs, paper, "--expect", "sharpe")
    assert bad.exit_code == 12 and "NAME=VALUE" in bad.stderr
    unknown = compare(runs, paper, "--expect", "sharp=1.8")
    assert unknown.exit_code == 12
    assert "unknown metric 'sharp'" in unknown.stderr and "profit_factor" in unknown.stderr


def test_cli_unknown_run(runs):
    result = compare(runs, "no-such-run")
    assert result.exit_code == 16 and "not found" in result.stderr
    backtest = compare(runs, _run(runs, "backtest").name)
    assert backtest.exit_code == 12 and "it has no twin; compare it with another run" in (
        backtest.stderr
    )


def test_cli_changed_strategy_source(runs, tmp_path):
    copy = tmp_path / "changed"
    shutil.copytree(_run(runs, "paper"), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["strategy"]["source_sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    refused = compare(runs, str(copy))
    assert refused.exit_code == 14
    assert "changed since run" in refused.stderr and "--allow-code-change" in refused.stderr
    allowed = compare(runs, str(copy), "--allow-code-change")
    assert allowed.exit_code == 0, allowed.output
    assert "warning: strategy source" in allowed.stderr


def test_alpaca_run_without_history_access_suggests_against_or_expect(runs, tmp_path, monkeypatch):
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    copy = tmp_path / "alpaca"
    shutil.copytree(_run(runs, "paper"), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.update(venue="alpaca-paper", data={"source": "alpaca", "bars_received": 1})
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = compare(runs, str(copy))
    assert result.exit_code == 13, result.output
    assert "Alpaca history is unreachable" in result.stderr
    assert "--against" in result.stderr and "--expect" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_failed_compare_leaves_the_last_good_twins_and_no_half_built_one(runs, tmp_path):
    copy = tmp_path / "paper"
    shutil.copytree(_run(runs, "paper"), copy)
    shutil.rmtree(copy / "compare", ignore_errors=True)
    first = compare(runs, str(copy))
    assert first.exit_code == 0, first.output
    twin = copy / "compare" / "tape-twin" / "equity.csv"
    before = (twin.stat().st_ino, twin.read_text())
    # history the twin cannot read: the tape twin is built, then the compare fails
    broken = compare(runs, str(copy), "--history", str(tmp_path / "no-such-history"))
    assert broken.exit_code != 0
    assert sorted(p.name for p in (copy / "compare").iterdir()) == ["history-twin", "tape-twin"]
    assert (twin.stat().st_ino, twin.read_text()) == before  # the last good twin, untouched
    # a first compare that fails leaves no twin at all
    fresh = tmp_path / "fresh"
    shutil.copytree(copy, fresh)
    shutil.rmtree(fresh / "compare")
    assert compare(runs, str(fresh), "--history", str(tmp_path / "no-such-history")).exit_code
    assert not (fresh / "compare").exists() or not any((fresh / "compare").iterdir())


def test_an_order_decided_on_the_last_bar_is_no_divergence(tmp_path):
    """sma_cross fast 3 / slow 10 sells on the day's last bar (19:26): the paper run records it
    (accepted, never filled), and so does the twin now; no first execution divergence."""
    paper_dir = run_paper(
        PaperConfig(
            slippage="0",
            strategy="sma_cross",
            params={"fast": "3", "slow": "10"},
            symbols=("IBM",),
            venue="local",
            data="sample:minute",
            start=dt.date(2013, 10, 7),
            end=dt.date(2013, 10, 7),
            cash=100_000.0,
            runs_dir=tmp_path,
            session="extended",  # the day's last bar is post-market
        )
    ).run_dir
    orders = pd.read_csv(paper_dir / "orders.csv")
    assert orders["submitted_at"].iloc[-1] == "2013-10-07 19:26:00"  # the last bar's decision
    result = run_compare(CompareConfig(paper_run=paper_dir.name, runs_dir=tmp_path))
    assert result.divergence["first_divergence"]["execution"] is None
    twin = pd.read_csv(next((paper_dir / "compare").glob("tape-twin*")) / "orders.csv")
    assert twin["submitted_at"].iloc[-1] == "2013-10-07 19:26:00"
    assert twin["status"].iloc[-1] == "submitted" and twin["filled_qty"].iloc[-1] == 0


def test_the_twin_runs_with_the_paper_runs_latency_and_volume_share(tmp_path):
    """`parity run paper --venue local --latency 500` over the sample week (sma_cross, regular
    session): the twins run with the same latency (and volume share), so every order fills on
    the same bar, at the same price, in both and the comparison passes. Built without them, the
    twins filled each order a bar earlier: WARN, 41 matched, 7 missed."""
    venue = ["--venue", "local", "--symbols", "IBM", "--latency", "500"]
    paper = CliRunner().invoke(cli, ["run", "paper", *venue, "--runs-dir", str(tmp_path)])
    assert paper.exit_code == 0, paper.output
    paper_dir = _run(tmp_path, "paper")
    result = compare(tmp_path, paper_dir.name, "--json")
    assert result.exit_code == 0, result.output
    div = json.loads((paper_dir / "divergence.json").read_text())
    assert div["verdict"]["status"] == "PASS"
    counts = div["ledger"]["counts"]
    assert (counts["matched"], counts["missed"], counts["extra"]) == (41, 0, 0)
    for twin in ("tape-twin", "history-twin"):
        manifest = json.loads((paper_dir / "compare" / twin / "manifest.json").read_text())
        assert (manifest["latency_ms"], manifest["volume_share"]) == (500, 1.0)
    twin_fills = pd.read_csv(paper_dir / "compare" / "tape-twin" / "fills.csv")
    live_fills = pd.read_csv(paper_dir / "fills.csv")
    columns = ["datetime", "side", "qty", "price"]
    assert twin_fills[columns].equals(live_fills[columns])
    twin_orders = pd.read_csv(paper_dir / "compare" / "tape-twin" / "orders.csv")
    live_orders = pd.read_csv(paper_dir / "orders.csv")
    # the last, decided on the last bar (10-11 15:58), is open when the data ends: the paper
    # run's stop cancels it, the twin leaves it open
    assert list(twin_orders["status"])[:-1] == list(live_orders["status"])[:-1]
    assert (live_orders["status"].iloc[-1], twin_orders["status"].iloc[-1]) == (
        "canceled",
        "accepted",
    )
    twin_equity = pd.read_csv(paper_dir / "compare" / "tape-twin" / "equity.csv")["value"]
    live_equity = pd.read_csv(paper_dir / "equity.csv")["value"]
    assert round(twin_equity.iloc[-1], 2) == round(live_equity.iloc[-1], 2)
