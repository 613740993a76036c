"""The README's daily workflow runs as printed, offline, from a clean directory: write a plan,
run it on the local venue, check status, continue it on the next two days with `--continue`,
open the dashboard; it prints what the README shows (each shown line, in order), and the
dashboard it starts serves the run's closed trades with their reasons."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from readme_support import readme_example, source_path

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

# after the README's commands: read the dashboard it started, then stop it
CHECK = """
"{python}" - <<'PY'
import json, os, time, urllib.request
url = f"http://127.0.0.1:{{os.environ['PARITY_DASHBOARD_PORT']}}/api/runs/my-plan/summary"
for _ in range(200):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            open("dashboard.json", "w").write(answer.read().decode())
            break
    except OSError:
        time.sleep(0.1)
PY
kill $!
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_readme_daily_workflow_runs_as_printed(tmp_path: Path) -> None:
    script, shown = readme_example("Daily plans on one account")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "parity"  # `parity dashboard &`: `$!` is the dashboard's own process
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -c "from parity.cli import main; main()" "$@"\n'
    )
    wrapper.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PARITY_RUNS_DIR", "PARITY_DB_URL")}
    env |= {
        "PYTHONPATH": source_path(),
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PARITY_DASHBOARD_PORT": str(_free_port()),
    }
    done = subprocess.run(
        ["bash", "-e", "-c", script + CHECK.format(python=sys.executable)],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout.splitlines()
    at = 0
    for line in shown.splitlines():
        assert line in printed[at:], f"README line not printed (in order): {line!r}"
        at = printed.index(line, at) + 1
    trades = pd.read_csv(work / "runs" / "my-plan" / "trades.csv", keep_default_na=False)
    assert trades["tag"].tolist() == ["aig-dip", "ibm-trend", "ibm-dip", "aig-bounce"]
    assert trades["exit_reason"].tolist() == ["target"] * 4
    # the dip bought on day two is held overnight and sold at its target on day three
    assert trades["entry_time"].str[:10].tolist() == [
        "2013-10-07", "2013-10-07", "2013-10-08", "2013-10-09"
    ]  # fmt: skip
    assert trades["exit_time"].str[:10].tolist() == [
        "2013-10-07", "2013-10-07", "2013-10-09", "2013-10-09"
    ]  # fmt: skip
    summary = json.loads((work / "dashboard.json").read_text())
    assert summary["trades_total"] == 4
    assert [(t["entry_reason"], t["exit_reason"], t["tag"]) for t in summary["trades"]] == [
        (
            "plan 2013-10-09 line 2: long 20 AIG market, tp 48.05 sl 47.1 (aig-bounce, score 0.2)",
            "target",
            "aig-bounce",
        ),
        (
            "plan 2013-10-08 line 2: long 10 IBM limit 179.2, tp 181 sl 177 (ibm-dip, score 0.3)",
            "target",
            "ibm-dip",
        ),
        (
            "plan 2013-10-07 line 3: long 10 IBM market, tp 183 sl 181.5 (ibm-trend, score 0.7)",
            "target",
            "ibm-trend",
        ),
        (
            "plan 2013-10-07 line 2: long 20 AIG limit 48.8, tp 49.05 sl 47.5 (aig-dip, score 0.5)",
            "target",
            "aig-dip",
        ),
    ]
