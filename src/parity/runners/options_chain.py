"""`chain_at`: the model chain (or recorded quotes) a backtest would see at one session's close,
for `parity options chain` — the same source, fed the same closes, queried the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from parity.errors import ConfigError
from parity.feeds.loader import load_bars
from parity.instruments import OptionRight
from parity.options.chain import ChainQuery, Quote, session_close
from parity.options.setup import OptionsSetup
from parity.strategies.registry import resolve_strategy


def chain_at(
    data: str,
    symbol: str,
    day: dt.date | None,
    overrides: Mapping[str, Any],
    *,
    right: OptionRight | None = None,
    dte: tuple[int, int | None] = (0, 7),
    around: float = 0.05,
    strategy: str | None = None,
) -> tuple[tuple[str, ...], list[Quote]]:
    """The summary lines and the quotes at the close of `day` of the contracts that match."""
    if day is None:
        raise ConfigError("--date is required, e.g. --date 2024-01-05")
    loaded = load_bars(data, [symbol], end=day, adjustment="splits")  # as a backtest
    series = loaded.series[0]
    frame = series.frame
    closes = frame["close"].groupby(pd.DatetimeIndex(frame.index).normalize()).last()
    if not len(closes) or closes.index[-1].date() != day:
        raise ConfigError(
            f"{symbol} has no bar on {day} in {data}; pick a session the data covers "
            f"({frame.index[0]:%Y-%m-%d}..{frame.index[-1]:%Y-%m-%d})"
        )
    cls = resolve_strategy(strategy).cls if strategy else object
    setup = OptionsSetup.for_strategy(cls, overrides)
    source = setup.source(series.symbol, loaded.calendar, "USD")
    for stamp, close in closes.items():
        source.observe_close(stamp.date(), float(close))
    spot = float(closes.iloc[-1])
    now = session_close(loaded.calendar, day)
    query = ChainQuery(right=right, dte=dte, moneyness=(1 - around, 1 + around))
    lines = (
        f"{series.symbol} close {spot:,.2f} on {day} ({now:%H:%M} {loaded.calendar.name})",
        source.summary(),
        setup.costs.summary(),
    )
    return lines, query.run(source, now, spot)
