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
