"""`parity venue serve` as a real process: prints the alpaca-py lines, serves alpaca-py, stops
cleanly on SIGTERM (exit 0) and on its own with `--exit-when-done`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest
from alpaca.trading.client import TradingClient
from click.testing import CliRunner

from parity.cli import cli


def _spawn(*args: str) -> subprocess.Popen[str]:
    code = "from parity.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "venue", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _base_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"REST \(trading \+ market data\): (http://\S+)", line)
        if match:
            return match.group(1)
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no URL printed; stderr: {proc.stderr.read() if proc.stderr else ''}")


def test_serve_prints_urls_serves_and_stops_on_sigterm() -> None:
    proc = _spawn("--symbols", "IBM", "--port", "0", "--from", "2013-10-07", "--to", "2013-10-07")
    try:
        url = _base_url(proc)
        client = TradingClient("KEY", "SECRET", paper=True, url_override=url)
        assert client.get_account().cash == "100000"
        assert client.get_clock().is_open is False  # the first bar is pre-market
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "parity venue stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_exit_when_done_with_timed_replay() -> None:
    proc = _spawn(
        "--data",
        "sample:minute",
        "--symbols",
        "IBM",
        "--port",
        "0",
        "--from",
        "2013-10-11",
        "--to",
        "2013-10-11",
        "--start",
        "2013-10-11T19:50:00",
        "--speed",
        "600",
        "--ack-timeout",
        "0.2",
        "--exit-when-done",
    )
    try:
        _base_url(proc)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_help_and_bad_speed() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["venue", "serve", "--help"])
    assert result.exit_code == 0 and "--volume-share" in result.output
    assert "[default: max]" in result.output
    result = runner.invoke(cli, ["venue", "serve", "--speed", "fast", "--port", "0"])
    assert result.exit_code == 2 and "--speed 'fast' is not understood" in result.output


@pytest.mark.parametrize("flag", [["--key-id", "a"]])
def test_keys_need_both(flag: list[str]) -> None:
    result = CliRunner().invoke(cli, ["venue", "serve", *flag, "--port", "0"])
    assert result.exit_code == 2 and "--secret-key" in result.output


def test_serve_prints_export_lines_that_a_paper_run_on_alpaca_uses(tmp_path) -> None:
    """The printed `export APCA_...` lines, pasted as they are, point `parity run paper --venue
    alpaca` at the served venue: it trades there and finishes at the end of the replay."""
    proc = _spawn("--symbols", "IBM", "--port", "0", "--from", "2013-10-07", "--to", "2013-10-07")
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("  parity run paper"):
            line = proc.stdout.readline()
            assert line, f"no paste lines; stderr: {proc.stderr.read() if proc.stderr else ''}"
            lines.append(line.rstrip("\n"))
        exports = [line.strip() for line in lines if line.strip().startswith("export ")]
        names = [e.split()[1].split("=")[0] for e in exports]
        assert names == [
            "APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "APCA_API_BASE_URL", "APCA_API_DATA_URL",
            "APCA_API_STREAM_URL", "APCA_DATA_STREAM_URL",
        ]  # fmt: skip
        assert (
            lines[-1]
            == "  parity run paper sma_cross --venue alpaca --symbols IBM --timeframe 1Min"
        )
        # paste them into a shell, as a person would, and run the printed command's paper run
        script = "\n".join(exports) + (
            f'\n"{sys.executable}" -c "from parity.cli import main; main()" run paper sma_cross '
            f"--venue alpaca --symbols IBM --timeframe 1Min --param fast=5 --param slow=20 "
            f"--runs-dir {tmp_path} --json"
        )
        done = subprocess.run(
            ["bash", "-e", "-c", script], capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr[-2000:]
        import json

        payload = json.loads(done.stdout.strip().splitlines()[-1])
        assert payload["metrics"]["trades"] > 0
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
