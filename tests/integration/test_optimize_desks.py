"""`parity optimize` with what a trial runs besides its params, through the command as typed:
an option strategy's trials run on the desk the options flags describe (`--iv-mult`), and the
`--ambiguous` rule (with `--finer` bars) decides every trial's ambiguous bars; each trial's
metrics equal a direct `simulate` with the same desk or rule, to the cent, and differ from one
without it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from plan_series import write_series

import parity
from parity.config import BacktestConfig
from parity.engine.ambiguity import FinerBars
from parity.options.setup import OptionsSetup
from parity.runners.backtest import backtest_bars
from parity.strategies.registry import resolve_strategy

pytestmark = pytest.mark.timeout(300)

CMD = [sys.executable, "-c", "from parity.cli import main; main()", "optimize"]


def optimize(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CMD, *args], capture_output=True, text=True, timeout=240)


def trials(runs: Path, study: str) -> list[dict[str, Any]]:
    """trials.csv, every float as written (trials.json rounds to 10 digits)."""
    path = runs / "optimize" / study / "trials.csv"
    return pd.read_csv(path, float_precision="round_trip").to_dict(orient="records")


def cents(metrics: dict[str, Any], cash: float = 100_000.0) -> float:
    return round(float(metrics["total_return"]) * cash, 2)


def test_an_option_strategys_trials_run_on_the_options_flags_desk(tmp_path: Path) -> None:
    window = ["--from", "2011-01-03", "--to", "2011-04-29"]
    done = optimize(
        "put_credit_spread", "--space", "width=2,5", "--iv-mult", "1.3", "--objective",
        "total_return", "--study", "pcs", "--keep-best", "1", "--runs-dir", str(tmp_path),
        "--json", *window,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = BacktestConfig(
        strategy="put_credit_spread", start=dt.date(2011, 1, 3), end=dt.date(2011, 4, 29)
    )
    cls = resolve_strategy("put_credit_spread").cls
    bars = backtest_bars(config, resolve_strategy("put_credit_spread"))
    desk = OptionsSetup.for_strategy(cls, {"model": {"iv_mult": 1.3}})
    found = {row["width"]: row for row in trials(tmp_path, "pcs")}
    assert sorted(found) == [2, 5]
    moved = False
    for width, row in found.items():
        direct = parity.simulate(bars, cls, {"width": width}, config.costs, options=desk).metrics
        default = parity.simulate(bars, cls, {"width": width}, config.costs).metrics
        assert row["state"] == "complete" and row["trades"] == direct["trades"] > 0
        assert row["total_return"] == direct["total_return"]
        moved = moved or cents(default) != cents(direct)
    assert moved  # the flag changed the outcome: it reached the trials
    best = max(found.values(), key=lambda r: float(r["objective"]))
    payload = json.loads(done.stdout)
    assert payload["best"][0]["params"] == {"width": best["width"]}
    # the kept run is an ordinary backtest on the same desk
    manifest = json.loads((tmp_path / "pcs-best1" / "manifest.json").read_text())
    assert manifest["options"]["chain"]["iv_mult"] == 1.3
    kept = json.loads((tmp_path / "pcs-best1" / "metrics.json").read_text())
    assert kept["total_return"] == best["total_return"]
    # a study runs on one desk: a list of values is a one-line error
    bad = optimize("put_credit_spread", "--space", "width=2,5", "--iv-mult", "1.1,1.3",
                   "--runs-dir", str(tmp_path), *window)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "error: --iv-mult 1.1,1.3: a study runs on one desk; give one value (run one study per "
        "value to compare them)"
    )


@pytest.mark.parametrize("rule", ["target-first", "finer-data"])
def test_every_trial_decides_ambiguous_bars_by_the_given_rule(tmp_path: Path, rule: str) -> None:
    root = write_series(tmp_path / "series")
    plan = str(root / "trade_plan.csv")
    finer = ["--finer", str(root / "hourly")] if rule == "finer-data" else []
    done = optimize(
        "plan", "--space", f"plan={plan}", "--data", str(root / "daily"), "--symbols", "ACME",
        "--commission", "0", "--slippage", "0", "--objective", "total_return",
        "--ambiguous", rule, *finer, "--study", "amb", "--runs-dir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = trials(tmp_path / "runs", "amb")
    bars = parity.load_bars(str(root / "daily"), ["ACME"])
    costs = parity.cost_model(commission="0", slippage="0")
    kwargs: dict[str, Any] = {"ambiguous": rule}
    if rule == "finer-data":
        hourly = parity.load_bars(str(root / "hourly"), ["ACME"])
        kwargs["finer"] = FinerBars({s.symbol: s.frame for s in hourly.series})
    direct = parity.simulate(bars, "plan", {"plan": plan}, costs, **kwargs).metrics
    unruled = parity.simulate(bars, "plan", {"plan": plan}, costs).metrics
    assert row["state"] == "complete", row["error"]
    assert row["ambiguous_exits"] == direct["ambiguous_exits"] == 2
    assert row["trades"] == direct["trades"] == 6
    assert row["total_return"] == direct["total_return"]
    assert cents(row) == cents(direct) != cents(unruled)


def test_walk_forward_tests_each_window_by_the_given_rule(tmp_path: Path) -> None:
    """`parity walk-forward plan --ambiguous target-first`: the first test window holds the
    ambiguous bracket (+40 at the target, -40 at the stop), the second a target (+30) and the
    ambiguous oco pair (+30 at the target, -40 at the stop); the third a single session."""
    root = write_series(tmp_path / "series")
    done = subprocess.run(
        [sys.executable, "-c", "from parity.cli import main; main()", "walk-forward", "plan",
         "--space", f"plan={root / 'trade_plan.csv'}", "--data", str(root / "daily"),
         "--symbols", "ACME", "--commission", "0", "--slippage", "0", "--objective",
         "total_return", "--ambiguous", "target-first", "--train", "3w", "--test", "2w",
         "--name", "wf", "--runs-dir", str(tmp_path / "runs"), "--json"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [w["test"] for w in payload["windows"]] == [
        "2024-01-23..2024-02-05", "2024-02-06..2024-02-19", "2024-02-20..2024-02-20"
    ]  # fmt: skip
    windows = pd.read_csv(tmp_path / "runs" / "walkforward" / "wf" / "windows.csv")
    assert [cents(dict(total_return=r)) for r in windows["oos_total_return"]] == [40.0, 60.0, 0.0]
    assert windows["oos_trades"].tolist() == [1, 2, 0]
    assert payload["metrics"]["trades"] == 3
    assert payload["metrics"]["total_return"] == pytest.approx(1.0004 * 1.0006 - 1, abs=1e-12)
