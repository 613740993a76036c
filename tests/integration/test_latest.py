"""`latest` means one run for every command: the run created last, whatever its id sorts as."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from parity.cli import cli

pytestmark = pytest.mark.timeout(180)

DAY = ["--from", "2013-10-07", "--to", "2013-10-07"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A paper run whose id sorts last (`zz-paper`), then a backtest: the backtest is latest."""
    runs = tmp_path_factory.mktemp("latest") / "runs"
    code, out = invoke(
        "run", "paper", "buy_and_hold", "--venue", "local", "--data", "sample:minute",
        "--slippage", "0",
        "--symbols", "IBM", *DAY, "--run-id", "zz-paper", "--runs-dir", str(runs),
    )  # fmt: skip
    assert code == 0, out
    code, out = invoke(
        "run", "backtest", "buy_and_hold", "--symbols", "IBM", "--runs-dir", str(runs), "--json"
    )
    assert code == 0, out
    backtest = json.loads(out.splitlines()[-1])["run_id"]
    assert backtest < "zz-paper"  # the id sorts first, yet it was created last
    return runs, backtest


def test_the_paper_manifest_records_when_the_run_was_created_not_when_it_ended(runs):
    from parity.runstore import resolve_run_dir, run_created_at

    root, backtest = runs
    paper = json.loads((root / "zz-paper" / "manifest.json").read_text())
    assert paper["created_at"] < paper["finished_at"]
    assert run_created_at(root / "zz-paper") < run_created_at(root / backtest)
    assert resolve_run_dir("latest", root) == root / backtest


@pytest.mark.parametrize(
    "command",
    [
        ["runs", "show", "latest", "--json"],
        ["status", "latest", "--json"],
        ["risk", "show", "latest", "--json"],
        ["alerts", "list", "latest", "--json"],
        ["report", "daily", "latest", "--format", "json"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_every_reading_command_takes_the_backtest_as_latest(runs, command):
    root, backtest = runs
    code, out = invoke(*command, "--runs-dir", str(root))
    assert code == 0, out
    shown = json.loads(out)
    run_id = (
        shown.get("run_id")
        or (shown.get("run") or {}).get("run_id")
        or Path(shown.get("run_dir", "")).name
    )
    assert run_id == backtest


def test_tearsheet_compare_halt_and_flatten_take_the_backtest_as_latest(runs):
    root, backtest = runs
    code, out = invoke("report", "tearsheet", "latest", "--benchmark", "none",
                       "--runs-dir", str(root))  # fmt: skip
    assert code == 0, out
    assert Path(out.strip()) == root / backtest / "tearsheet.html"
    code, out = invoke("compare", "latest", "--runs-dir", str(root))
    assert code == 12
    assert f"run {backtest} is a backtest run: it has no twin; compare it with another" in out
    assert f"parity compare {backtest} --against OTHER_RUN" in out
    code, out = invoke("halt", "latest", "--runs-dir", str(root))
    assert code == 0, out
    assert out.strip() == f"run {backtest} halted: no new entries until `parity risk reset`"
    assert json.loads((root / backtest / "risk_state.json").read_text())["killed"] is True
    assert not (root / "zz-paper" / "risk_state.json").exists() or not json.loads(
        (root / "zz-paper" / "risk_state.json").read_text()
    ).get("killed")
    code, out = invoke("flatten", "latest", "--runs-dir", str(root))
    assert code == 0, out
    assert out.startswith(f"run {backtest} ")


def test_a_running_run_counts_by_its_journal_stamp(runs, tmp_path):
    """A paper run still running has no manifest: its journal's creation stamp dates it."""
    from parity.journal import Journal
    from parity.runstore import resolve_run_dir

    root, backtest = runs

    live = root / "aa-running"
    live.mkdir()
    journal = Journal.open(live / "journal.sqlite", create=True)
    try:
        journal.start_run("aa-running", {"strategy": {"name": "x"}}, "paper", "local")
    finally:
        journal.close()
    try:
        assert resolve_run_dir("latest", root) == live
        code, out = invoke("status", "latest", "--runs-dir", str(root), "--json")
        assert code == 0, out
        assert json.loads(out)["run_id"] == "aa-running"
        code, out = invoke("runs", "show", "latest", "--runs-dir", str(root))
        assert code == 6
        assert "run 'aa-running' has no manifest.json yet" in out
    finally:
        import shutil

        shutil.rmtree(live)
    assert resolve_run_dir("latest", root) == root / backtest
