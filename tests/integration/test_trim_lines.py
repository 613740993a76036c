"""A paper run's lines keep only their newest bars (`Trimmer(keep_bars=...)`): the strategy's
decisions, fills and equity are those of an untrimmed run, and no line grows with the bars."""

from __future__ import annotations

import array
from typing import Any

import backtrader as bt
import pytest

from parity.analyzers.recorder import Recorder
from parity.analyzers.trim import Trimmer
from parity.brokers.sim import build_sim_broker
from parity.costs import CostModel
from parity.feeds.arrayfeed import ArrayFeed
from parity.feeds.loader import load_bars
from parity.strategies.params import coerce_params
from parity.strategies.registry import resolve_strategy

KEEP, EVERY = 80, 40


def run(strategy: str, params: dict[str, str], keep: int | None) -> tuple[Any, list[int]]:
    loaded = load_bars("sample", ["IBM", "MSFT"])
    spec = resolve_strategy(strategy)
    cerebro = bt.Cerebro(stdstats=False, preload=False, runonce=False, maxcpus=1)
    for series in loaded.series:
        cerebro.adddata(ArrayFeed(series=series), name=series.symbol)  # type: ignore[call-arg]
    cerebro.broker = build_sim_broker(cash=100_000.0, costs=CostModel())
    cerebro.addstrategy(spec.cls, **coerce_params(spec.cls, params))
    cerebro.addanalyzer(Recorder, _name="recorder")
    cerebro.addanalyzer(Trimmer, _name="trimmer", every=EVERY, keep_bars=keep)
    strategy_ = cerebro.run()[0]
    sizes = []
    stack: list[Any] = [strategy_, *strategy_.datas]
    while stack:
        owner = stack.pop()
        for line in getattr(owner, "lines", ()):
            if isinstance(getattr(line, "array", None), array.array):
                sizes.append(len(line.array))
        for group in getattr(owner, "_lineiterators", {}).values():
            stack.extend(group)
    return strategy_.analyzers.recorder, sizes


@pytest.mark.parametrize(
    ("strategy", "params"),
    [("sma_cross", {"fast": "10", "slow": "30"}), ("rsi_reversion", {})],
)
def test_trimmed_lines_give_the_same_run(strategy: str, params: dict[str, str]) -> None:
    full, full_sizes = run(strategy, params, None)
    trimmed, sizes = run(strategy, params, KEEP)
    assert len(full.fills) > 4
    assert list(trimmed.values) == list(full.values)
    assert trimmed.fills == full.fills
    assert max(full_sizes) > 1000  # the untrimmed lines hold every bar
    assert 0 < max(sizes) <= KEEP + EVERY
