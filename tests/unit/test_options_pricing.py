"""The model chain's prices and Greeks against an independent Black-Scholes-Merton (written here
with scipy.stats.norm), put-call parity on the chain, contracts and their bad input."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy.stats import norm

from parity.errors import ConfigError
from parity.instruments.calendars import calendar_named
from parity.options.chain import session_close
from parity.options.contracts import contract_from_occ, occ_symbol, option_contract
from parity.options.costs import OptionCosts, per_contract, premium_fraction
from parity.options.model import ModelChain, ModelChainParams, expiry_sessions
from parity.options.pricing import bsm


def independent(
    right: str, s: float, k: float, t: float, r: float, sigma: float, q: float
) -> dict[str, float]:
    d1 = (math.log(s / k) + (r - q + sigma**2 / 2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    if right == "call":
        price = s * math.exp(-q * t) * norm.cdf(d1) - k * math.exp(-r * t) * norm.cdf(d2)
        delta = math.exp(-q * t) * norm.cdf(d1)
        theta = (
            -s * math.exp(-q * t) * norm.pdf(d1) * sigma / (2 * math.sqrt(t))
            - r * k * math.exp(-r * t) * norm.cdf(d2)
            + q * s * math.exp(-q * t) * norm.cdf(d1)
        )
        rho = k * t * math.exp(-r * t) * norm.cdf(d2)
    else:
        price = k * math.exp(-r * t) * norm.cdf(-d2) - s * math.exp(-q * t) * norm.cdf(-d1)
        delta = -math.exp(-q * t) * norm.cdf(-d1)
        theta = (
            -s * math.exp(-q * t) * norm.pdf(d1) * sigma / (2 * math.sqrt(t))
            + r * k * math.exp(-r * t) * norm.cdf(-d2)
            - q * s * math.exp(-q * t) * norm.cdf(-d1)
        )
        rho = -k * t * math.exp(-r * t) * norm.cdf(-d2)
    gamma = math.exp(-q * t) * norm.pdf(d1) / (s * sigma * math.sqrt(t))
    vega = s * math.exp(-q * t) * norm.pdf(d1) * math.sqrt(t)
    # vollib's units: theta per calendar day, vega and rho per point
    return {
        "price": price,
        "delta": delta,
        "gamma": gamma,
        "theta": theta / 365,
        "vega": vega / 100,
        "rho": rho / 100,
    }


def test_prices_and_greeks_equal_an_independent_bsm_on_a_grid() -> None:
    grid = [
        (right, k, t, sigma)
        for right in ("call", "put")
        for k in (70.0, 85.0, 95.0, 100.0, 105.0, 120.0, 140.0)
        for t in (2 / 365, 0.1, 0.5, 2.0)
        for sigma in (0.08, 0.25, 0.6)
    ]
    s, r, q = 100.0, 0.045, 0.015
    priced = bsm(
        np.array([g[0] == "call" for g in grid]),
        np.full(len(grid), s),
        np.array([g[1] for g in grid]),
        np.array([g[2] for g in grid]),
        r,
        np.array([g[3] for g in grid]),
        q,
    )
    for i, (right, k, t, sigma) in enumerate(grid):
        want = independent(right, s, k, t, r, sigma, q)
        for name, value in want.items():
            assert getattr(priced, name)[i] == pytest.approx(value, abs=1e-9), (
                name,
                right,
                k,
                t,
                sigma,
            )


def _warm_chain(params: ModelChainParams | None = None) -> tuple[ModelChain, dt.datetime, float]:
    chain = ModelChain("SPY", calendar_named("XNYS"), params or ModelChainParams())
    closes = 470 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.01, 40)))
    for close in closes:
        chain.observe_close(dt.date(2024, 1, 5), float(close))
    return chain, dt.datetime(2024, 1, 5, 16, 0), float(closes[-1])


def test_model_quotes_are_bsm_at_the_stated_volatility_and_spread() -> None:
    params = ModelChainParams(
        iv_mult=1.2, skew=-0.5, half_spread=0.04, rate=0.05, dividend_yield=0.01
    )
    chain, now, spot = _warm_chain(params)
    contracts = chain.contracts(
        now, spot, right="put", max_dte=10, min_strike=spot - 10, max_strike=spot + 5
    )
    assert contracts
    sigma = chain.vol.sigma
    assert sigma is not None
    for contract, quote in zip(contracts, chain.quotes(contracts, now, spot), strict=True):
        assert quote is not None
        t = (session_close(chain.calendar, contract.expiry) - now).total_seconds() / (365 * 86400)
        vol = max(sigma * 1.2 - 0.5 * math.log(contract.strike / spot), 0.05)
        want = independent("put", spot, contract.strike, t, 0.05, vol, 0.01)
        assert quote.iv == pytest.approx(vol, abs=1e-12)
        assert quote.delta == pytest.approx(want["delta"], abs=1e-9)
        half = max(0.01, 0.04 * want["price"])
        assert quote.bid == pytest.approx(
            max(math.floor((want["price"] - half) / 0.01 + 1e-9) * 0.01, 0), abs=1e-9
        )
        assert quote.ask == pytest.approx(
            math.ceil((want["price"] + half) / 0.01 - 1e-9) * 0.01, abs=1e-9
        )


def test_put_call_parity_holds_on_the_model_chain() -> None:
    params = ModelChainParams(rate=0.05, dividend_yield=0.02)
    chain, now, spot = _warm_chain(params)
    calls = chain.contracts(now, spot, right="call", max_dte=30)
    puts = chain.contracts(now, spot, right="put", max_dte=30)
    assert len(calls) == len(puts) > 100
    call_mid = chain.mids(calls, now, spot)
    put_mid = chain.mids(puts, now, spot)
    call_q, put_q = chain.quotes(calls, now, spot), chain.quotes(puts, now, spot)
    for c, p, cm, pm, cq, pq in zip(calls, puts, call_mid, put_mid, call_q, put_q, strict=True):
        assert (c.expiry, c.strike) == (p.expiry, p.strike)
        t = (session_close(chain.calendar, c.expiry) - now).total_seconds() / (365 * 86400)
        forward_gap = spot * math.exp(-0.02 * t) - c.strike * math.exp(-0.05 * t)
        assert cm - pm == pytest.approx(forward_gap, abs=1e-8)
        assert cq is not None and pq is not None  # the quoted market brackets parity
        assert cq.bid - pq.ask <= forward_gap + 1e-9 <= cq.ask - pq.bid + 2e-9


def test_expiry_calendar_follows_the_exchange() -> None:
    xnys = calendar_named("XNYS")
    daily = expiry_sessions(xnys, dt.date(2024, 1, 12), 7, "daily")
    assert dt.date(2024, 1, 15) not in daily  # Martin Luther King Jr. Day
    assert daily == [dt.date(2024, 1, d) for d in (12, 16, 17, 18, 19)]
    assert expiry_sessions(xnys, dt.date(2024, 3, 25), 10, "weekly") == [
        dt.date(2024, 3, 28)
    ]  # Good Friday
    assert expiry_sessions(xnys, dt.date(2024, 1, 2), 60, "monthly") == [
        dt.date(2024, 1, 19),
        dt.date(2024, 2, 16),
    ]


def test_contracts_and_occ_symbols() -> None:
    assert occ_symbol("SPY", dt.date(2024, 1, 19), "put", 470) == "SPY240119P00470000"
    c = contract_from_occ("SPY240119P00470000")
    assert (c.underlying, c.expiry, c.strike, c.right, c.multiplier) == (
        "SPY",
        dt.date(2024, 1, 19),
        470.0,
        "put",
        100.0,
    )
    assert (c.style, c.settlement) == ("american", "physical")
    nifty = option_contract(
        "NIFTY",
        dt.date(2024, 1, 25),
        "call",
        21500,
        multiplier=50,
        style="european",
        settlement="cash",
    )
    assert nifty.symbol == "NIFTY240125C21500000" and nifty.instrument.multiplier == 50
    assert nifty.intrinsic(21600) == 100 and nifty.intrinsic(21400) == 0
    with pytest.raises(ConfigError, match="not an OCC option symbol"):
        contract_from_occ("SPY 470 PUT")
    with pytest.raises(ConfigError, match="settlement"):
        option_contract("SPY", dt.date(2024, 1, 19), "put", 470, settlement="shares")  # type: ignore[arg-type]


def test_option_costs_and_their_text_forms() -> None:
    costs = OptionCosts(commission_per_contract=0.65, slippage=0.005, regulatory_fees=True)
    assert costs.fill_price(True, 1.00, 1.10) == pytest.approx(1.1055)
    assert costs.fill_price(False, 1.00, 1.10) == pytest.approx(0.995)
    assert costs.commission(-3, 1.0) == pytest.approx(1.95)
    assert costs.fees(-2) == pytest.approx(2 * (0.02685 + 0.02) + 2 * 0.00279)
    assert costs.fees(2) == pytest.approx(2 * (0.02685 + 0.02))
    assert per_contract("0.65/contract") == 0.65 and per_contract("0") == 0.0
    assert premium_fraction("0.5%") == pytest.approx(0.005) and premium_fraction(
        "50bps"
    ) == pytest.approx(0.005)
    with pytest.raises(ConfigError, match=r"--option-commission 0\.65/contract"):
        per_contract("cheap")
    with pytest.raises(ConfigError, match="fraction of premium"):
        premium_fraction("0.01/share")
    with pytest.raises(ConfigError, match="iv_mult"):
        ModelChainParams(iv_mult=0)


def test_american_prices_are_quantlib_s_on_real_dates_and_never_below_european() -> None:
    import QuantLib as ql

    from parity.options.pricing import american_prices

    strikes = np.array([90.0, 100.0, 110.0, 100.0])
    is_call = np.array([False, False, False, True])
    years = np.full(4, 146 / 365)
    sigma = np.array([0.3, 0.25, 0.2, 0.25])
    ours = american_prices(is_call, np.full(4, 100.0), strikes, years, 0.06, sigma, 0.0)
    today = ql.Date(3, 6, 2024)  # the same contracts priced the plain way, on calendar dates
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    for i in range(4):
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(100.0)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, 0.06, dc)),
            ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(today, ql.NullCalendar(), float(sigma[i]), dc)
            ),
        )
        kind = ql.Option.Call if is_call[i] else ql.Option.Put
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(kind, float(strikes[i])), ql.AmericanExercise(today, today + 146)
        )
        option.setPricingEngine(ql.BaroneAdesiWhaleyApproximationEngine(process))
        assert ours[i] == pytest.approx(option.NPV(), rel=1e-10)
    european = bsm(is_call, np.full(4, 100.0), strikes, years, 0.06, sigma, 0.0, greeks=False).price
    assert all(ours[:3] > european[:3] + 1e-3)  # early exercise is worth something for puts
    assert ours[3] == pytest.approx(european[3], abs=1e-6)  # never for a call without dividends
    params = ModelChainParams(american_pricing="baw")
    chain, now, spot = _warm_chain(params)
    puts = chain.contracts(
        now, spot, right="put", max_dte=30, min_strike=spot + 5, max_strike=spot + 8
    )
    plain, _, _ = _warm_chain()
    for a, e in zip(chain.quotes(puts, now, spot), plain.quotes(puts, now, spot), strict=True):
        assert a is not None and e is not None and a.ask >= e.ask and a.delta == e.delta
    assert "Barone-Adesi-Whaley" in chain.summary()
