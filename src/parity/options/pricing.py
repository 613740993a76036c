"""Black-Scholes-Merton prices and Greeks for whole chains at once, from `py_vollib_vectorized`
(the kept library: Jäckel's LetsBeRational formulas, compiled by numba).

Prices come from `py_vollib_vectorized`; Greeks are closed form (see `_greeks` for why).
Greeks follow vollib's conventions, per unit of the underlying: delta and gamma per $1 of the
underlying, theta per calendar day, vega per 1 volatility point (0.01), rho per 1 rate point.
American contracts are priced as European (no early-exercise premium): the model chain states
it, and `OptionContract.style` still drives early assignment.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError

Array = npt.NDArray[np.float64]
MIN_YEARS = 1e-7  # ~3 seconds: a contract at its expiry is priced at (almost) its intrinsic value


def _library() -> Any:
    try:
        import py_vollib_vectorized
    except ImportError:
        raise ConfigError(
            "option pricing needs py_vollib_vectorized: pip install 'parity[options]'"
        ) from None
    return py_vollib_vectorized


@dataclass(frozen=True)
class Priced:
    """Prices and Greeks of a vector of contracts."""

    price: Array
    delta: Array
    gamma: Array
    theta: Array
    vega: Array
    rho: Array


def bsm(
    is_call: npt.NDArray[np.bool_],
    spot: Array,
    strike: Array,
    years: Array,
    rate: float,
    sigma: Array,
    dividend_yield: float,
    *,
    greeks: bool = True,
) -> Priced:
    """BSM prices (and Greeks unless `greeks=False`) of each contract; `years` is the time to
    expiry in years (floored at `MIN_YEARS`)."""
    vectorized_black_scholes_merton = _library().vectorized_black_scholes_merton

    n = len(strike)
    flags = np.where(is_call, "c", "p")
    spot = np.broadcast_to(np.asarray(spot, dtype=float), (n,)).copy()
    t = np.maximum(np.asarray(years, dtype=float), MIN_YEARS)
    rates = np.full(n, float(rate))
    qs = np.full(n, float(dividend_yield))
    sig = np.asarray(sigma, dtype=float)
    if n == 0:
        empty = np.zeros(0)
        return Priced(empty, empty, empty, empty, empty, empty)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        price = np.asarray(
            vectorized_black_scholes_merton(
                flags, spot, strike, t, rates, sig, qs, return_as="numpy"
            ),
            dtype=float,
        ).reshape(n)
        if not greeks:
            nan = np.full(n, np.nan)
            return Priced(price, nan, nan, nan, nan, nan)
    return Priced(price, *_greeks(is_call, spot, strike, t, rate, sig, dividend_yield))


def _greeks(
    is_call: npt.NDArray[np.bool_],
    spot: Array,
    strike: Array,
    t: Array,
    rate: float,
    sigma: Array,
    q: float,
) -> tuple[Array, Array, Array, Array, Array]:
    """Closed-form BSM Greeks (vollib's analytical formulas and units), vectorised.

    Hand-written because py_vollib_vectorized 0.1.1's `get_all_greeks` is wrong for BSM (its rho
    is Black's, -t x price, and its delta/theta/vega are finite differences off in the 4th
    digit), and vollib's correct analytical Greeks take one contract per Python call."""
    from scipy.special import ndtr  # the normal CDF, without scipy.stats' per-call overhead

    root_t = np.sqrt(t)
    d1 = (np.log(spot / strike) + (rate - q + 0.5 * sigma**2) * t) / (sigma * root_t)
    d2 = d1 - sigma * root_t
    disc_q, disc_r = np.exp(-q * t), np.exp(-rate * t)
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi)
    sign = np.where(is_call, 1.0, -1.0)
    delta = sign * disc_q * ndtr(sign * d1)
    gamma = disc_q * pdf / (spot * sigma * root_t)
    theta = (
        -spot * disc_q * pdf * sigma / (2 * root_t)
        - sign * rate * strike * disc_r * ndtr(sign * d2)
        + sign * q * spot * disc_q * ndtr(sign * d1)
    ) / 365.0
    vega = spot * disc_q * pdf * root_t / 100.0
    rho = sign * strike * t * disc_r * ndtr(sign * d2) / 100.0
    return delta, gamma, theta, vega, rho


def implied_vol(
    is_call: npt.NDArray[np.bool_],
    price: Array,
    spot: Array,
    strike: Array,
    years: Array,
    rate: float,
    dividend_yield: float,
) -> Array:
    """BSM implied volatility of each price (NaN where none exists: below intrinsic)."""
    vectorized_implied_volatility = _library().vectorized_implied_volatility

    n = len(strike)
    if n == 0:
        return np.zeros(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iv = vectorized_implied_volatility(
            np.asarray(price, dtype=float),
            np.broadcast_to(np.asarray(spot, dtype=float), (n,)).copy(),
            np.asarray(strike, dtype=float),
            np.maximum(np.asarray(years, dtype=float), MIN_YEARS),
            np.full(n, float(rate)),
            np.where(is_call, "c", "p"),
            q=np.full(n, float(dividend_yield)),
            model="black_scholes_merton",
            return_as="numpy",
            on_error="ignore",
        )
    out = np.asarray(iv, dtype=float).reshape(n)
    out[out <= 0] = np.nan
    return out


def american_prices(
    is_call: npt.NDArray[np.bool_],
    spot: Array,
    strike: Array,
    years: Array,
    rate: float,
    sigma: Array,
    dividend_yield: float,
) -> Array:
    """American prices from QuantLib's Barone-Adesi-Whaley approximation (the kept library for
    American exercise). QuantLib counts time in whole days, so each contract is priced over one
    year with its rate, dividend yield and variance scaled by its time to expiry: the pricing
    problem depends on them only through r.t, q.t and sigma^2.t, so this is exact, and keeps a
    contract expiring in hours from rounding to zero."""
    try:
        import QuantLib as ql
    except ImportError:
        raise ConfigError(
            "American pricing needs QuantLib: pip install 'parity[options]'"
        ) from None
    ref = ql.Date(1, 1, 2001)  # not a leap year: 365 days are exactly one year
    ql.Settings.instance().evaluationDate = ref
    exercise = ql.AmericanExercise(ref, ref + 365)
    day_count = ql.Actual365Fixed()
    out = np.empty(len(strike))
    spots = np.broadcast_to(np.asarray(spot, dtype=float), (len(strike),))
    for i in range(len(strike)):
        t = max(float(years[i]), MIN_YEARS)
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(float(spots[i]))),
            ql.YieldTermStructureHandle(ql.FlatForward(ref, dividend_yield * t, day_count)),
            ql.YieldTermStructureHandle(ql.FlatForward(ref, rate * t, day_count)),
            ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(ref, ql.NullCalendar(), float(sigma[i]) * np.sqrt(t), day_count)
            ),
        )
        kind = ql.Option.Call if is_call[i] else ql.Option.Put
        option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, float(strike[i])), exercise)
        option.setPricingEngine(ql.BaroneAdesiWhaleyApproximationEngine(process))
        out[i] = option.NPV()
    return out
