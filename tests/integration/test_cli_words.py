"""What the CLI says when there is nothing to say it with: no alert sink, a closed pipe, a runs
directory that cannot be written, a YAML file that is not text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from parity.cli import cli

DAY = ["--from", "2013-10-07", "--to", "2013-10-07"]


def parity(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def one_error(result: Result, code: int, *fragments: str) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "internal error" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# ---------------------------------------------------------------------- alerts without a sink


@pytest.mark.timeout(120)
def test_alerts_list_says_no_sink_configured_instead_of_sent_and_held_back(tmp_path: Path):
    result = parity(
        "run", "paper", "sma_cross", "--venue", "local", "--data", "sample:minute",
        "--symbols", "IBM", *DAY, "-p", "fast=5", "-p", "slow=20", "--max-orders-per-day", "3",
        "--alert-drawdown", "0.05%", "--runs-dir", tmp_path, "--json",
        env={"PARITY_ALERT_URLS": ""},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout.splitlines()[-1])["run_id"]
    listed = json.loads(parity("alerts", "list", run_id, "--runs-dir", tmp_path, "--json").stdout)
    alerts = listed["alerts"]
    assert listed["sinks"] == []
    assert len(alerts) > 1 and any(a["suppressed"] for a in alerts)  # dedup held some back
    text = parity("alerts", "list", run_id, "--runs-dir", tmp_path).stdout.splitlines()
    assert text[-1] == (
        f"{len(alerts)} alert(s), journaled and logged only: no sink configured "
        "(--alert-url, --alerts FILE or PARITY_ALERT_URLS)"
    )
    assert not any("sent" in line for line in text[:-1])


# ---------------------------------------------------------------------- a closed pipe


def test_a_closed_pipe_ends_quietly(tmp_path: Path):
    """`parity runs show X | head -3`: the reader goes away before parity writes."""
    code = "import sys; from parity.cli import main; sys.argv[0] = 'parity'; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "strategies"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the interpreter has even imported parity
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 1
    assert stderr == ""


# ---------------------------------------------------------------------- runs directory


def test_a_runs_directory_under_a_file_is_refused_before_the_run(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = parity("run", "backtest", "buy_and_hold", "--symbols", "IBM",
                    "--runs-dir", blocker / "runs")  # fmt: skip
    one_error(
        result, 2, f"runs directory {blocker / 'runs'} cannot be created: {blocker} is a file",
        "--runs-dir",
    )  # fmt: skip
    assert "buy_and_hold" not in result.stdout  # no summary: nothing ran
    paper = parity("run", "paper", "buy_and_hold", "--venue", "local", "--symbols", "IBM", *DAY,
                   "--runs-dir", blocker / "runs")  # fmt: skip
    one_error(paper, 2, f"{blocker} is a file")
    assert blocker.read_text() == "not a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_runs_directory_is_refused_before_the_run(tmp_path: Path):
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    try:
        result = parity("run", "backtest", "buy_and_hold", "--symbols", "IBM", "--runs-dir", runs)
        one_error(result, 2, f"runs directory {runs} is not writable: it is read-only")
        assert list(runs.iterdir()) == []
    finally:
        runs.chmod(0o755)


def test_the_runs_directory_check_names_a_read_only_parent(tmp_path: Path, monkeypatch):
    """What `os.access` answers is the check; as root it never says no, so ask it a fake."""
    from parity.errors import ConfigError
    from parity.runstore import check_runs_dir

    parent = tmp_path / "ro"
    parent.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != parent and real(p, mode))
    with pytest.raises(ConfigError) as raised:
        check_runs_dir(parent / "a" / "runs")
    assert str(raised.value) == (
        f"runs directory {parent / 'a' / 'runs'} is not writable: its parent {parent} is "
        "read-only; pass --runs-dir DIR (or PARITY_RUNS_DIR) naming a writable directory"
    )
    assert list(parent.iterdir()) == []  # the check creates nothing


# ---------------------------------------------------------------------- YAML that is not text


def test_a_run_file_that_is_not_text_is_a_one_line_error(tmp_path: Path):
    binary = tmp_path / "run.yaml"
    binary.write_bytes(b"strategy: buy_and_hold\n\xff\xfe\x00\x01")
    result = parity("run", "backtest", "--config", binary, "--runs-dir", tmp_path / "runs")
    one_error(result, 2, f"run file {binary} is not text (byte 23 is not UTF-8)")
    assert not (tmp_path / "runs").exists()


def test_an_alert_file_that_is_not_text_is_a_one_line_error(tmp_path: Path):
    binary = tmp_path / "alerts.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n")
    result = parity("alerts", "test", "--alerts", binary)
    one_error(result, 2, f"--alerts {binary}: not text (byte 0 is not UTF-8)")
    paper = parity("run", "paper", "buy_and_hold", "--venue", "local", "--symbols", "IBM", *DAY,
                   "--alerts", binary, "--runs-dir", tmp_path / "runs")  # fmt: skip
    one_error(paper, 2, "not text")
    assert not (tmp_path / "runs").exists()


def test_a_thresholds_file_that_is_not_text_is_a_one_line_error(tmp_path: Path):
    from parity.analyzers.verdict import Thresholds
    from parity.errors import ConfigError

    binary = tmp_path / "t.yaml"
    binary.write_bytes(b"\xc3\x28")
    with pytest.raises(ConfigError, match=r"thresholds file .* is not text \(byte 0"):
        Thresholds.from_yaml(binary)
