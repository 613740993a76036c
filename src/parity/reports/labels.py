"""What a person reads for each metric key (`win_rate` → `Win rate`)."""

from __future__ import annotations

METRIC_LABELS = {
    "total_return": "Total return",
    "cagr": "CAGR",
    "volatility": "Volatility (annualised)",
    "sharpe": "Sharpe ratio",
    "sortino": "Sortino ratio",
    "max_drawdown": "Max drawdown",
    "max_drawdown_duration_days": "Longest drawdown (days)",
    "calmar": "Calmar ratio",
    "win_rate": "Win rate",
    "profit_factor": "Profit factor",
    "expectancy": "Expectancy per trade",
    "avg_win": "Average win",
    "avg_loss": "Average loss",
    "trades": "Trades (closed)",
    "exposure": "Exposure (time in market)",
    "turnover": "Turnover (traded / equity)",
}


def metric_label(name: str) -> str:
    """The label of metric `name`; an unknown key reads as words (`foo_bar` → `Foo bar`)."""
    return METRIC_LABELS.get(name) or name.replace("_", " ").capitalize()
