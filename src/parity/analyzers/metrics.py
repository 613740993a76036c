"""Run metrics (the ``metrics.json`` contract) as pure functions of equity, trades and fills.

Conventions (see design.md, "Run artifacts"):

* Everything is computed from *daily* returns of total equity: the last equity value of each
  calendar date, with the first day's return measured against ``starting_cash``.
* ``volatility``, ``sharpe`` and ``sortino`` match ``quantstats.stats`` (0.0.86) on those returns:
  sample std (ddof=1) times ``sqrt(periods)``; a non-zero annual ``risk_free`` is converted to a
  per-period rate as ``(1 + rf) ** (1 / periods) - 1`` and subtracted (Sharpe/Sortino only);
  Sortino's downside deviation is ``sqrt(sum(r[r < 0] ** 2) / count(r))``.
* ``max_drawdown`` is measured on the daily closing equity with ``starting_cash`` prepended as the
  first peak. QuantStats does the same for returns input: it rebuilds prices from 1.0 and adds a
  phantom 1.0 baseline one day before the first date, so a loss on day one counts. Intraday dips
  that recover by the close are therefore not part of the drawdown.
* ``max_drawdown_duration_days`` is the longest calendar-day span from a peak (the starting cash is
  dated one day before the first date, like QuantStats' baseline) to the first date equity is
  back at or above it, or to the last date if it never recovers. This is not QuantStats'
  "Longest DD Days", which counts first to last underwater day inclusive.
* ``cagr`` uses calendar years: ``(final / starting_cash) ** (365.25 / days) - 1`` with ``days``
  from the starting-cash baseline (one day before the first date) to the last date.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

METRIC_KEYS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_duration_days",
    "calmar",
    "win_rate",
    "profit_factor",
    "expectancy",
    "avg_win",
    "avg_loss",
    "trades",
    "exposure",
    "turnover",
)
# Below this, a standard deviation of daily returns is rounding noise of a constant series.
_ZERO_STD = 1e-14


def daily_returns(equity: pd.Series, starting_cash: float) -> pd.Series:
    """Daily simple returns of total account value.

    Takes the last value of each calendar date of ``equity`` (account value per bar, any bar
    size) and returns ``close / previous close - 1``, the first day relative to
    ``starting_cash``. The index holds normalised dates (named ``date``), the series is named
    ``return``.
    """
    closes = daily_equity(equity)
    previous = closes.shift(1)
    if len(closes):
        previous.iloc[0] = float(starting_cash)
    out = (closes / previous - 1.0).rename("return")
    out.index.name = "date"
    return out


def daily_equity(equity: pd.Series) -> pd.Series:
    """Last account value of each calendar date, indexed by normalised date.

    Dates are the local calendar dates of the index; a timezone is dropped after normalising.
    """
    values = equity.dropna().astype(float).sort_index()
    days = pd.DatetimeIndex(values.index).normalize()
    if days.tz is not None:
        days = days.tz_localize(None)
    return values.groupby(days).last()


def compute_metrics(
    equity: pd.DataFrame,
    trades: pd.DataFrame,
    fills: pd.DataFrame,
    *,
    starting_cash: float,
    risk_free: float = 0.0,
    periods: int = 252,
) -> dict[str, Any]:
    """Compute every ``metrics.json`` metric for one run.

    ``equity`` has columns ``value, cash`` on a DatetimeIndex (one row per bar), ``trades`` is the
    round-trip ledger (``pnl_net`` is used) and ``fills`` the executions (``qty``, ``price``).
    Returns the keys of :data:`METRIC_KEYS` in that order plus ``flags`` (metric name -> reason
    it is null or special). Values are plain Python floats/ints, or ``None`` where undefined.
    """
    flags: dict[str, str] = {}
    closes = daily_equity(equity["value"])
    returns = daily_returns(equity["value"], starting_cash)
    out: dict[str, Any] = {
        **_return_metrics(closes, starting_cash, flags),
        **_risk_metrics(returns, risk_free, periods),
        **_drawdown_metrics(closes, starting_cash),
    }
    cagr, mdd = out["cagr"], out["max_drawdown"]
    out["calmar"] = cagr / abs(mdd) if cagr is not None and mdd else None
    out.update(_trade_metrics(trades, flags))
    out.update(_activity_metrics(equity, fills))
    result = {key: _clean(out[key]) for key in METRIC_KEYS}
    result["flags"] = dict(sorted(flags.items()))
    return result


def _return_metrics(
    closes: pd.Series, starting_cash: float, flags: dict[str, str]
) -> dict[str, Any]:
    if closes.empty or starting_cash <= 0:
        return {"total_return": None, "cagr": None}
    growth = float(closes.iloc[-1]) / starting_cash
    days = (closes.index[-1] - closes.index[0]).days + 1  # baseline is the day before
    if growth <= 0:
        flags["cagr"] = "non_positive_equity"
        cagr = None
    else:
        cagr = growth ** (365.25 / days) - 1.0
    return {"total_return": growth - 1.0, "cagr": cagr}


def _risk_metrics(returns: pd.Series, risk_free: float, periods: int) -> dict[str, Any]:
    returns = returns.dropna()
    scale = math.sqrt(periods)
    std = float(returns.std(ddof=1)) if len(returns) > 1 else math.nan
    volatility = std * scale if math.isfinite(std) else None
    excess = returns
    if risk_free:
        excess = returns - ((1.0 + risk_free) ** (1.0 / periods) - 1.0)
    excess_std = float(excess.std(ddof=1)) if len(excess) > 1 else math.nan
    sharpe = None
    if math.isfinite(excess_std) and excess_std > _ZERO_STD:
        sharpe = float(excess.mean()) / excess_std * scale
    sortino = None  # like Sharpe, undefined on fewer than two observations
    if len(excess) > 1:
        downside = math.sqrt(float((excess[excess < 0] ** 2).sum()) / excess.count())
        if downside > 0:
            sortino = float(excess.mean()) / downside * scale
    return {"volatility": volatility, "sharpe": sharpe, "sortino": sortino}


def max_drawdown(equity: pd.Series, starting_cash: float) -> float | None:
    """`metrics.max_drawdown` of an equity curve (daily closes, the starting cash the first
    peak): the one definition `runs show`, reports and the dashboard print."""
    return _drawdown_metrics(daily_equity(equity), starting_cash)["max_drawdown"]


def _drawdown_metrics(closes: pd.Series, starting_cash: float) -> dict[str, Any]:
    if closes.empty:
        return {"max_drawdown": None, "max_drawdown_duration_days": None}
    baseline_date = closes.index[0] - pd.Timedelta(days=1)
    curve = pd.concat([pd.Series([float(starting_cash)], index=[baseline_date]), closes])
    mdd = float((curve / curve.cummax()).min() - 1.0)
    return {"max_drawdown": mdd, "max_drawdown_duration_days": _longest_underwater(curve)}


def _longest_underwater(curve: pd.Series) -> int:
    """Longest calendar-day span from a peak to recovery (or to the end if never recovered)."""
    longest = 0
    peak_value = -math.inf
    peak_date = curve.index[0]
    underwater = False
    for date, value in curve.items():
        if value >= peak_value:
            if underwater:
                longest = max(longest, (date - peak_date).days)
            peak_value, peak_date, underwater = value, date, False
        else:
            underwater = True
    if underwater:
        longest = max(longest, (curve.index[-1] - peak_date).days)
    return longest


def _trade_metrics(trades: pd.DataFrame, flags: dict[str, str]) -> dict[str, Any]:
    has_pnl = trades is not None and "pnl_net" in trades.columns
    pnl = trades["pnl_net"].astype(float).dropna() if has_pnl else pd.Series(dtype=float)
    out: dict[str, Any] = {"trades": len(pnl)}
    if pnl.empty:
        out.update(win_rate=None, profit_factor=None, expectancy=None, avg_win=None, avg_loss=None)
        return out
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    gross_loss = float(-losses.sum())
    if gross_loss > 0:
        profit_factor = float(wins.sum()) / gross_loss
    else:
        profit_factor = None
        flags["profit_factor"] = "no_losing_trades"
    out.update(
        win_rate=len(wins) / len(pnl),
        profit_factor=profit_factor,
        expectancy=float(pnl.mean()),
        avg_win=float(wins.mean()) if len(wins) else None,
        avg_loss=float(losses.mean()) if len(losses) else None,
    )
    return out


def _activity_metrics(equity: pd.DataFrame, fills: pd.DataFrame) -> dict[str, Any]:
    frame = equity[["value", "cash"]].dropna().astype(float)
    if frame.empty:
        return {"exposure": None, "turnover": None}
    held = (frame["value"] - frame["cash"]).abs() > 1e-9 * frame["value"].abs()
    notional = 0.0
    if fills is not None and len(fills):
        notional = float((fills["qty"].astype(float).abs() * fills["price"].astype(float)).sum())
    mean_equity = float(frame["value"].mean())
    turnover = notional / mean_equity if mean_equity > 0 else None
    return {"exposure": float(held.mean()), "turnover": turnover}


def _clean(value: Any) -> Any:
    """Plain Python scalars for JSON; NaN/inf become None."""
    if value is None or isinstance(value, (str, bool, dict)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None
