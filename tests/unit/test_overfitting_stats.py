"""The deflated Sharpe ratio and the probability of backtest overfitting against the papers'
worked example and a direct, loop-by-loop computation of their definitions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from parity.optimize.stats import cscv_pbo, deflate_best, deflated_sharpe, expected_max_sharpe


def test_dsr_matches_the_papers_worked_example() -> None:
    # Bailey & López de Prado (2014), section 5: SR 2.5 annualised over 1250 daily returns,
    # 100 trials with annualised Sharpe variance 0.5, skew -3, kurtosis 10 → DSR 0.9004
    found = deflated_sharpe(2.5 / math.sqrt(250), 0.5 / 250, 100, 1250, -3.0, 10.0)
    assert round(found.dsr, 4) == 0.9004
    assert round(found.expected_max, 4) == 0.1132  # SR0 per day, as the paper gives it
    assert "after 100 trials" in found.reading() and "90%" in found.reading()


def test_dsr_of_a_returns_matrix_equals_the_formula_by_hand() -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0004, 0.01, size=(500, 8))
    returns[:, 5] += 0.0008
    found = deflate_best(returns, 5)
    sharpes = [r.mean() / r.std(ddof=1) for r in returns.T]
    variance = np.var(sharpes, ddof=1)
    gamma = 0.5772156649015329
    sr0 = math.sqrt(variance) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / 8) + gamma * stats.norm.ppf(1 - 1 / (8 * math.e))
    )
    best = returns[:, 5]
    skew, kurt = stats.skew(best), stats.kurtosis(best, fisher=False)
    sr = sharpes[5]
    z = (sr - sr0) * math.sqrt(499) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert found.dsr == pytest.approx(stats.norm.cdf(z), rel=1e-12)
    assert found.expected_max == pytest.approx(sr0, rel=1e-12)
    assert expected_max_sharpe(variance, 1) == 0.0


def pbo_by_hand(returns: np.ndarray, blocks: int) -> float:
    """CSCV as the paper writes it: loop over every half of the blocks."""
    periods, trials = returns.shape
    size = periods // blocks
    parts = [returns[i * size : (i + 1) * size] for i in range(blocks)]
    below = total = 0
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        train = np.vstack([parts[i] for i in chosen])
        test = np.vstack([parts[i] for i in range(blocks) if i not in chosen])
        sr_in = [train[:, j].mean() / train[:, j].std(ddof=1) for j in range(trials)]
        sr_out = [test[:, j].mean() / test[:, j].std(ddof=1) for j in range(trials)]
        star = int(np.argmax(sr_in))
        rank = sum(1 for v in sr_out if v < sr_out[star]) + 1  # no ties in continuous data
        omega = rank / (trials + 1)
        below += math.log(omega / (1 - omega)) <= 0
        total += 1
    return below / total


@pytest.mark.parametrize("blocks", [4, 6, 8])
def test_pbo_equals_the_definition_computed_loop_by_loop(blocks: int) -> None:
    rng = np.random.default_rng(blocks)
    returns = rng.normal(0.0, 0.01, size=(240, 6))
    found = cscv_pbo(returns, blocks)
    assert found.splits == math.comb(blocks, blocks // 2)
    assert found.pbo == pytest.approx(pbo_by_hand(returns, blocks), abs=1e-12)


def test_pbo_of_a_dominant_trial_is_zero_and_of_noise_is_about_half() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0.0, 0.01, size=(800, 20))
    skilled = noise.copy()
    skilled[:, 3] += 0.004  # clearly best in every block
    assert cscv_pbo(skilled).pbo == 0.0
    assert 0.2 < cscv_pbo(noise).pbo < 0.8
    assert "probability of backtest overfitting 0.00" in cscv_pbo(skilled).reading()
    with pytest.raises(ValueError, match="even"):
        cscv_pbo(noise, 5)
