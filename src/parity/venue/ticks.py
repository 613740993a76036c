"""Trades and quotes derived from bars, shared by the REST market data and the data stream.

The venue has bars only, so each bar stands for one trade at its close (the bar's volume, at the
bar's end; a daily bar's at the session close) and one quote there whose bid and ask are the
prices a market sell and buy would get under the venue's slippage."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import msgpack
import pandas as pd

from parity.costs import CostModel
from parity.engine.fills import Bar, FillModel
from parity.venue.marketdata import MarketData

EXCHANGE = "V"  # IEX's code, the feed the venue's stream path names


def bar_end(data: MarketData, label: datetime) -> datetime:
    """When the bar labelled `label` (naive exchange time) closed, aware: a daily bar at its
    session's close."""
    if data.bar_seconds >= 86400:
        return data.calendar.close_of(label.date())
    return data.calendar.aware(label + data.bar_length)


def trade_fields(data: MarketData, symbol: str, label: datetime, bar: Bar) -> dict[str, Any]:
    """The trade a bar stands for, without its time: the id is the bar's place in its series."""
    volume = bar.volume
    return {
        "x": EXCHANGE,
        "p": bar.close,
        "s": int(volume) if float(volume).is_integer() else volume,
        "c": ["@"],
        "i": int(data.frames[symbol].index.searchsorted(label)),
        "z": "A",
    }


def quote_fields(costs: CostModel, close: float) -> dict[str, Any]:
    """The quote around a close, without its time."""
    fill = FillModel(costs=costs)
    return {
        "bx": EXCHANGE,
        "bp": fill.slip_down(0.0, close),
        "bs": 1,
        "ax": EXCHANGE,
        "ap": fill.slip_up(float("inf"), close),
        "as": 1,
        "c": ["R"],
        "z": "A",
    }


def stream_ticks(
    subs: dict[str, set[str]],
    data: MarketData,
    costs: CostModel,
    label: datetime,
    bars: dict[str, Bar],
) -> list[dict[str, Any]]:
    """The `t`/`q`/`d` stream messages of one replay step for a connection's subscriptions."""
    if not subs.get("trades") and not subs.get("quotes") and not subs.get("dailyBars"):
        return []
    stamp = msgpack.Timestamp.from_datetime(bar_end(data, label))
    out: list[dict[str, Any]] = []
    for channel, kind in (("trades", "t"), ("quotes", "q")):
        wanted = subs.get(channel, set())
        for symbol, bar in bars.items():
            if symbol in wanted or "*" in wanted:
                fields = (
                    trade_fields(data, symbol, label, bar)
                    if kind == "t"
                    else quote_fields(costs, bar.close)
                )
                out.append({"T": kind, "S": symbol, **fields, "t": stamp})
    daily = subs.get("dailyBars", set())
    for symbol in bars:
        if symbol in daily or "*" in daily:
            out.append(daily_bar(data, symbol, label))
    return out


def daily_bar(data: MarketData, symbol: str, label: datetime) -> dict[str, Any]:
    """The `d` message after the bar at `label`: the day's bar so far (stamped at midnight)."""
    midnight = datetime.combine(label.date(), time())
    frame = data.frames[symbol]
    day = frame[(frame.index >= pd.Timestamp(midnight)) & (frame.index <= pd.Timestamp(label))]
    volume = float(day["volume"].sum())
    return {
        "T": "d",
        "S": symbol,
        "o": float(day["open"].iloc[0]),
        "h": float(day["high"].max()),
        "l": float(day["low"].min()),
        "c": float(day["close"].iloc[-1]),
        "v": int(volume) if volume.is_integer() else volume,
        "t": msgpack.Timestamp.from_datetime(data.calendar.aware(midnight)),
        "n": 0,
        "vw": None,
    }
