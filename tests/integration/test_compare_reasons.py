"""`compare`'s matched-trade ledger shows why each trade was taken and closed on both sides:
the paper run's reasons beside its twin's (a plan rehearsed on the local venue, the
constructed series where every outcome happens once), in divergence.json and its HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from plan_series import ENTRY_REASONS, paper_plan_run

from parity.runners.compare import CompareConfig, run_compare

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(240)]


def test_the_ledger_holds_the_paper_runs_and_the_twins_reasons(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    paper = paper_plan_run(tmp_path, "plan-compare", "target-first")
    result = run_compare(CompareConfig(paper_run="plan-compare", runs_dir=runs))
    rows = json.loads(result.json_path.read_text())["ledger"]["rows"]
    trades = pd.read_csv(paper.run_dir / "trades.csv", keep_default_na=False)
    assert [r["status"] for r in rows] == ["matched"] * 6
    reasons = [
        (r["live_entry_reason"], r["twin_entry_reason"], r["live_exit_reason"],
         r["twin_exit_reason"])
        for r in rows
    ]  # fmt: skip
    exits = ["target", "stop", "expiry", "target", "target", "target"]
    assert trades["exit_reason"].tolist() == exits
    entries = [ENTRY_REASONS[tag] for tag in trades["tag"]]
    assert trades["entry_reason"].tolist() == entries
    assert reasons == [(e, e, x, x) for e, x in zip(entries, exits, strict=True)]
    html = result.html_path.read_text(encoding="utf-8")
    for header in ("paper entry reason", "twin entry reason", "paper exit reason",
                   "twin exit reason"):  # fmt: skip
        assert f">{header}<" in html, header
    assert html.count(">expiry<") >= 2  # the paper run's and the twin's, side by side
