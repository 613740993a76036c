"""Overfitting statistics: the deflated Sharpe ratio (Bailey & López de Prado, 2014) and the
probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey,
Borwein, López de Prado & Zhu, 2017).

Hand-written: no maintained library computes either (the PyPI packages that do are unmaintained
notebooks' code); each is a few lines of the papers' formulas on numpy/scipy, and the tests check
them against the papers' worked numbers and a direct computation."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class Deflated:
    """The deflated Sharpe ratio of the best trial: the probability that its true Sharpe ratio
    is above zero once the number of trials tried and its returns' shape are accounted for."""

    dsr: float
    sharpe: float  # the best trial's Sharpe ratio per period (not annualised)
    expected_max: float  # SR0: the best Sharpe ratio expected from `trials` skill-less trials
    trials: int
    observations: int
    variance: float = 0.0  # of the trials' Sharpe ratios (per period)

    def reading(self, subject: str = "the best Sharpe", trials: str = "trials") -> str:
        verdict = (
            "likely skill, not luck of the search"
            if self.dsr >= 0.95
            else "not distinguishable from the best of many lucky trials"
        )
        return (
            f"deflated Sharpe ratio {self.dsr:.3f}: after {self.trials} {trials} {subject} "
            f"has a {self.dsr:.0%} probability of being above zero ({verdict}; 0.95 is the "
            "usual bar)"
        )


def expected_max_sharpe(variance: float, trials: int) -> float:
    """SR0: the expected maximum of `trials` Sharpe ratios with true value zero and the given
    cross-trial variance (the False Strategy theorem)."""
    if trials < 2 or variance <= 0:
        return 0.0
    z1 = stats.norm.ppf(1 - 1 / trials)
    z2 = stats.norm.ppf(1 - 1 / (trials * math.e))
    return float(math.sqrt(variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe(
    sharpe: float, variance: float, trials: int, observations: int, skew: float, kurtosis: float
) -> Deflated:
    """DSR from per-period figures: the best trial's Sharpe ratio, the variance of the trials'
    Sharpe ratios, the number of trials, the number of returns, their skewness and (non-excess)
    kurtosis."""
    sr0 = expected_max_sharpe(variance, trials)
    spread = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if observations < 2 or spread <= 0:
        return Deflated(math.nan, sharpe, sr0, trials, observations, variance)
    z = (sharpe - sr0) * math.sqrt(observations - 1) / math.sqrt(spread)
    return Deflated(float(stats.norm.cdf(z)), sharpe, sr0, trials, observations, variance)


def sharpe_per_period(returns: np.ndarray) -> float:
    std = float(np.std(returns, ddof=1)) if len(returns) > 1 else 0.0
    return float(np.mean(returns)) / std if std > 0 else 0.0


def deflate_best(returns: np.ndarray, best: int) -> Deflated:
    """DSR of column `best` of a (periods x trials) matrix of returns, deflated by all columns."""
    sharpes = np.array([sharpe_per_period(returns[:, j]) for j in range(returns.shape[1])])
    chosen = returns[:, best]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
    return deflated_sharpe(
        float(sharpes[best]), variance, returns.shape[1], len(chosen),
        float(stats.skew(chosen)) if np.std(chosen) > 0 else 0.0,
        float(stats.kurtosis(chosen, fisher=False)) if np.std(chosen) > 0 else 3.0,
    )  # fmt: skip


@dataclass(frozen=True)
class Overfitting:
    """PBO: the share of CSCV splits in which the in-sample best trial ranks below the median
    out of sample; `logits` are the splits' relative-rank logits."""

    pbo: float
    splits: int
    blocks: int
    logits: tuple[float, ...]

    def reading(self) -> str:
        verdict = (
            "the search mostly picks noise"
            if self.pbo > 0.5
            else "the choice tends to hold out of sample"
            if self.pbo < 0.25
            else "the choice only partly holds out of sample"
        )
        return (
            f"probability of backtest overfitting {self.pbo:.2f}: in {self.pbo:.0%} of "
            f"{self.splits} in/out-of-sample splits the in-sample best ranked below the median "
            f"out of sample ({verdict})"
        )


def cscv_pbo(returns: np.ndarray, blocks: int = 16) -> Overfitting:
    """PBO of a (periods x trials) matrix of returns: the periods are cut into `blocks` equal
    blocks (the last rows that do not fill a block are dropped), every half of the blocks is
    in-sample once and the other half out-of-sample, and trials are ranked by Sharpe ratio."""
    periods, trials = returns.shape
    if blocks < 2 or blocks % 2:
        raise ValueError(f"blocks {blocks} must be an even number >= 2")
    size = periods // blocks
    if size < 2 or trials < 2:
        return Overfitting(math.nan, 0, blocks, ())
    cut = returns[: size * blocks].reshape(blocks, size, trials)
    sums, squares = cut.sum(axis=1), (cut**2).sum(axis=1)  # (blocks x trials)
    combos = np.array(list(itertools.combinations(range(blocks), blocks // 2)))
    chosen = np.zeros((len(combos), blocks))
    chosen[np.arange(len(combos))[:, None], combos] = 1.0
    n = size * blocks // 2
    in_sample = _sharpe(chosen @ sums, chosen @ squares, n)
    out_sample = _sharpe((1 - chosen) @ sums, (1 - chosen) @ squares, n)
    best = np.argmax(in_sample, axis=1)
    oos_of_best = out_sample[np.arange(len(combos)), best]
    # rank 1..N of the in-sample best among the trials out of sample (ties: the average rank)
    below = (out_sample < oos_of_best[:, None]).sum(axis=1)
    equal = (out_sample == oos_of_best[:, None]).sum(axis=1)
    rank = below + (equal + 1) / 2
    omega = rank / (trials + 1)
    logits = np.log(omega / (1 - omega))
    return Overfitting(float(np.mean(logits <= 0)), len(combos), blocks, tuple(logits.tolist()))


def _sharpe(total: np.ndarray, squares: np.ndarray, n: int) -> np.ndarray:
    mean = total / n
    var = np.maximum(squares / n - mean**2, 0.0) * n / (n - 1)
    std = np.sqrt(var)
    return np.divide(mean, std, out=np.zeros_like(mean), where=std > 0)
