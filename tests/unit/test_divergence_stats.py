"""DTW against a hand-filled table, the bootstrap's determinism, the power formula, verdicts."""

from __future__ import annotations

import math
import statistics
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from parity.analyzers.dtw import annualised_dtw, default_band, dtw_distance
from parity.analyzers.evidence import bootstrap_sharpe_diff, days_to_detect, stationary_indices
from parity.analyzers.metrics import METRIC_KEYS
from parity.analyzers.verdict import (
    WORSE,
    Thresholds,
    check_curves,
    check_sharpe,
    check_stated,
    verdict,
)
from parity.errors import ConfigError
from parity.runners.compare import parse_expect


def test_dtw_matches_a_hand_filled_table():
    # a = [1, 2, 3], b = [1, 3]; squared costs c[i][j]:
    #   [[0, 4], [1, 1], [4, 0]]
    # D[0][0] = 0, D[0][1] = 4, D[1][0] = 1, D[1][1] = 1 + min(0, 4, 1) = 1,
    # D[2][0] = 4 + 1 = 5, D[2][1] = 0 + min(D[1][0]=1, D[1][1]=1, D[2][0]=5) = 1
    assert dtw_distance([1, 2, 3], [1, 3]) == 1.0
    assert annualised_dtw([1, 2, 3], [1, 3], 252) == pytest.approx(math.sqrt(252 / 3))
    # a lagged copy warps onto itself at no cost; a one-to-one comparison would not
    assert dtw_distance([0, 1, 0, 0], [0, 0, 1, 0]) == 0.0
    assert dtw_distance([2.0], [5.0]) == 3.0
    assert math.isnan(dtw_distance([], [1.0]))
    assert math.isnan(dtw_distance([1.0, math.inf], [1.0, 2.0]))


def _reference_dtw(a: np.ndarray, b: np.ndarray, band: int | None) -> float:
    """The accumulated cost filled cell by cell in plain Python (the module doc's definition)."""
    n, m = len(a), len(b)
    d = np.full((n + 1, m + 1), math.inf)
    d[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if band is not None and not -band - max(0, n - m) <= j - i <= band + max(0, m - n):
                continue
            d[i, j] = (a[i - 1] - b[j - 1]) ** 2 + min(d[i - 1, j - 1], d[i - 1, j], d[i, j - 1])
    return float(d[n, m])


@pytest.mark.parametrize("band", [None, 0, 2, 5])
@pytest.mark.parametrize("m", [19, 23, 27])
def test_dtw_equals_the_plain_table(band, m):
    """dtaidistance fills the same table with the same operations: the same number, bit for bit,
    with and without a band, for equal lengths (what `compare` pairs) and unequal ones."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=23), rng.normal(size=m)
    assert dtw_distance(a, b, band=band) == math.sqrt(_reference_dtw(a, b, band))


def test_dtw_on_paired_returns_uses_the_default_band_exactly():
    """Returns of a live run and its twin long enough for the default band (here 10 % = 210 bars
    of lag) give the plain table's number restricted to that band."""
    rng = np.random.default_rng(5)
    live = rng.normal(0.0, 0.001, 2100)
    twin = np.roll(live, 1) * 0.3 + live * 0.7
    assert default_band(2100, 2100) == 210
    band_only = _reference_dtw(live[:300], twin[:300], 210)  # the plain table is slow in Python
    assert dtw_distance(live[:300], twin[:300], band=210) == math.sqrt(band_only)
    assert dtw_distance(live, twin) == dtw_distance(live, twin, band=210)
    one_to_one = math.sqrt(float(((live - twin) ** 2).sum()))
    assert dtw_distance(live, twin, band=0) == pytest.approx(one_to_one, rel=1e-12)
    assert dtw_distance(live, twin) < one_to_one


def test_dtw_of_read_only_arrays_as_pandas_hands_them_out():
    frame = pd.DataFrame({"live": [0.01, -0.02, 0.03], "reference": [0.01, 0.03, -0.02]})
    live, reference = frame["live"].to_numpy(), frame["reference"].to_numpy()
    live.flags.writeable = reference.flags.writeable = False  # as pandas' copy-on-write does
    assert dtw_distance(live, reference) == math.sqrt(_reference_dtw(live, reference, None))


def test_dtw_identical_series_is_zero_and_long_series_use_a_band():
    x = np.random.default_rng(1).normal(0, 0.001, size=3000)
    assert dtw_distance(x, x) == 0.0
    assert annualised_dtw(x, x + 0.001, 252 * 390) > 0


def test_bootstrap_is_deterministic_with_a_seed():
    rng = np.random.default_rng(3)
    live = rng.normal(0.001, 0.01, size=60)
    twin = live + rng.normal(0.0, 0.002, size=60)
    first = bootstrap_sharpe_diff(live, twin, resamples=500, seed=11)
    again = bootstrap_sharpe_diff(live, twin, resamples=500, seed=11)
    other = bootstrap_sharpe_diff(live, twin, resamples=500, seed=12)
    assert first == again
    assert first["low"] != other["low"]
    assert first["low"] < first["observed"] < first["high"]
    assert first["mean_block"] == round(60 ** (1 / 3))
    short = bootstrap_sharpe_diff(live[:3], twin[:3])
    assert short["low"] is None and "needs at least" in short["note"]


def _percentile(values: list[float], q: float) -> float:
    """numpy's default (linear) percentile, by hand."""
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    below = math.floor(rank)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


def test_bootstrap_interval_equals_a_resample_by_resample_computation():
    """The vectorised pass gives, to 1e-12, the 2.5/97.5 percentiles of the Sharpe differences
    computed one resample at a time with the `statistics` module, over the stationary-bootstrap
    resamples drawn from the same seed."""
    rng = np.random.default_rng(21)
    live = rng.normal(0.0008, 0.011, size=90)
    twin = np.roll(live, 1) * 0.25 + live * 0.75 + rng.normal(0.0, 0.001, size=90)
    out = bootstrap_sharpe_diff(live, twin, resamples=400, seed=4)
    assert out["mean_block"] == 4  # round(90 ** (1/3))
    idx = stationary_indices(90, 400, 4, 4)

    def sharpe(values: list[float]) -> float:
        return statistics.fmean(values) / statistics.stdev(values) * math.sqrt(252)

    diffs = [
        sharpe([float(live[i]) for i in row]) - sharpe([float(twin[i]) for i in row])
        for row in idx.tolist()
    ]
    assert out["valid_resamples"] == 400
    assert out["observed"] == pytest.approx(sharpe(list(live)) - sharpe(list(twin)), abs=1e-12)
    assert out["low"] == pytest.approx(_percentile(diffs, 2.5), abs=1e-12)
    assert out["high"] == pytest.approx(_percentile(diffs, 97.5), abs=1e-12)


def test_stationary_indices_are_wrapping_blocks_of_geometric_length():
    """Politis & Romano: each index continues the previous one (wrapping at the end) or starts a
    new block at a uniform day, with probability 1 / mean_block."""
    idx = stationary_indices(50, 4000, 5, 9)
    assert idx.shape == (4000, 50) and idx.min() == 0 and idx.max() == 49
    follows = idx[:, 1:] == (idx[:, :-1] + 1) % 50
    # a new block may land on the next day by chance (1 in 50), so slightly below 1 - 1/5
    assert follows.mean() == pytest.approx(0.8 + 0.2 / 50, abs=0.005)
    assert np.bincount(idx[:, 0], minlength=50).min() > 4000 / 50 * 0.6  # uniform starts


def test_power_formula_by_hand():
    d = np.array([0.001, 0.003, -0.001, 0.002, 0.0])
    twin = np.zeros(5)
    mu, sigma = 0.001, float(np.std(d, ddof=1))
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    needed = math.ceil((z * sigma / mu) ** 2)
    out = days_to_detect(d, twin)
    assert out["days_needed"] == needed and out["more_days"] == max(0, needed - 5)
    assert days_to_detect(twin, twin)["more_days"] is None  # no gap to detect


@pytest.mark.parametrize(
    ("live", "expected"),
    [(1.9, "PASS"), (2.4, "PASS"), (2.6, "WARN"), (1.3, "WARN"), (1.1, "FAIL")],
)
def test_sharpe_thresholds(live, expected):
    assert check_sharpe(live, 2.0, Thresholds())[0] == expected


def test_curve_thresholds_and_missing_fills():
    t = Thresholds()

    def curves(corr, dtw, days=2):
        grid = {"n": days, "correlation": corr, "dtw": dtw}
        return {"daily": grid, "per_bar": grid}

    assert [c[0] for c in check_curves(curves(0.95, 0.1), t)] == ["PASS", "PASS"]
    assert [c[0] for c in check_curves(curves(0.7, 0.3), t)] == ["WARN", "WARN"]
    assert [c[0] for c in check_curves(curves(0.3, 0.6), t)] == ["FAIL", "FAIL"]
    assert "daily" in check_curves(curves(0.9, 0.1, days=30), t)[0][1]
    assert verdict([("PASS", "ok")], [])["exit_code"] == 0
    failed = verdict([("PASS", "ok")], ["order x reported filled"])
    assert failed["status"] == "FAIL" and failed["exit_code"] == 2


def test_stated_figures_and_parse_expect():
    stated = parse_expect("sharpe=1.8,win_rate=65%,max_drawdown=-0.12")
    assert stated == {"sharpe": 1.8, "win_rate": 0.65, "max_drawdown": -0.12}
    levels = check_stated(
        {"sharpe": 1.7, "win_rate": 0.6, "max_drawdown": -0.2}, stated, Thresholds()
    )
    assert [level for level, _ in levels] == ["PASS", "PASS", "FAIL"]
    with pytest.raises(ConfigError, match="valid: total_return"):
        parse_expect("sharp=1")
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_expect("sharpe")
    with pytest.raises(ConfigError, match="not a number"):
        parse_expect("sharpe=high")


def test_thresholds_from_yaml_and_overrides(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("sharpe_pass: 0.1\nmax_dtw: 0.3\n")
    t = Thresholds.from_yaml(path).with_overrides({"sharpe_warn": 0.5, "max_dtw": None})
    assert (t.sharpe_pass, t.sharpe_warn, t.max_dtw) == (0.1, 0.5, 0.3)
    path.write_text("sharpe_pas: 0.1\n")
    with pytest.raises(ConfigError, match="unknown threshold sharpe_pas"):
        Thresholds.from_yaml(path)
    with pytest.raises(ConfigError):
        Thresholds(sharpe_pass=0.5, sharpe_warn=0.4)


def test_total_return_check_judges_runs_too_short_for_sharpe():
    from parity.analyzers.verdict import Thresholds, check_return

    t = Thresholds()
    assert check_return(0.010, 0.011, t)[0] == "PASS"  # 9.1 % apart
    assert check_return(0.008, 0.011, t)[0] == "WARN"  # 27 % apart
    assert check_return(-0.002, 0.011, t)[0] == "FAIL"  # 118 % apart
    # a flat reference: the 1 % floor keeps a small gap small
    assert check_return(0.001, 0.0, t)[0] == "PASS"
    assert check_return(None, 0.01, t)[0] == "WARN"


def test_stated_figures_are_judged_on_their_worse_side_only():
    """A run better than stated on a risk figure is no failure: -0.97% vs -12% passes."""
    stated = parse_expect("max_drawdown=-0.12,volatility=0.30,sharpe=1.0,trades=40")
    live = {"max_drawdown": -0.0097, "volatility": 0.10, "sharpe": 2.5, "trades": 80}
    checks = check_stated(live, stated, Thresholds())
    assert [level for level, _ in checks] == ["PASS", "PASS", "PASS", "FAIL"]
    assert checks[0][1] == (
        "max_drawdown -0.0097 vs stated -0.12: better than stated (worse is lower)"
    )
    assert checks[1][1] == "volatility 0.1 vs stated 0.3: better than stated (worse is higher)"
    assert checks[3][1] == "trades 80 vs stated 40: 100.0% apart (a gap either way counts)"
    worse = {"max_drawdown": -0.30, "volatility": 0.45, "sharpe": 0.5, "trades": 40}
    checks = check_stated(worse, stated, Thresholds())
    assert [level for level, _ in checks] == ["FAIL", "FAIL", "FAIL", "PASS"]
    assert checks[0][1] == "max_drawdown -0.3 vs stated -0.12: 150.0% apart (worse is lower)"
    assert set(WORSE) == set(METRIC_KEYS)  # every metric states its worse side
