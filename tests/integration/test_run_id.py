"""`--run-id` names a directory under `--runs-dir`: only a safe name is accepted (letters,
digits, `._-`, no leading dot), anything else is a one-line error and nothing is written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from parity.cli import cli
from parity.config import BacktestConfig
from parity.errors import ConfigError
from parity.runners.backtest import run_backtest

ONE_DAY = ["--data", "sample:minute", "--symbols", "IBM", "--from", "2013-10-04",
           "--to", "2013-10-04", "-p", "fast=5", "-p", "slow=20"]  # fmt: skip


def paper(tmp_path: Path, run_id: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli,
        ["run", "paper", "--venue", "local", "--slippage", "0", *ONE_DAY, "--run-id", run_id,
         "--runs-dir", str(tmp_path / "runs"), "--json"],
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


UNSAFE = ["../escape", "ESCAPE_ABS", ".", "..", ".hidden", "a/b", "with space", "x" * 129, ""]


@pytest.mark.parametrize("run_id", UNSAFE)
def test_an_unsafe_run_id_is_one_line_and_writes_nothing(tmp_path: Path, run_id: str) -> None:
    if run_id == "ESCAPE_ABS":
        run_id = str(tmp_path / "abs")
    code, out, err = paper(tmp_path, run_id)
    assert code == 2, (code, out, err)
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: run id "), err
    assert "letters, digits" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no runs dir, no escape, no abs


def test_a_safe_run_id_names_the_run_directory(tmp_path: Path) -> None:
    code, out, err = paper(tmp_path, "day-1.a_B")
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["run_id"] == "day-1.a_B"
    assert Path(payload["run_dir"]) == tmp_path / "runs" / "day-1.a_B"
    manifest = json.loads((tmp_path / "runs" / "day-1.a_B" / "manifest.json").read_text())
    assert manifest["run_id"] == "day-1.a_B"


def test_run_backtest_refuses_an_unsafe_run_id(tmp_path: Path) -> None:
    config = BacktestConfig(runs_dir=tmp_path / "runs")
    with pytest.raises(ConfigError, match=re.escape("run id '../up' is not a safe name")):
        run_backtest(config, run_id="../up")
    assert list(tmp_path.iterdir()) == []
