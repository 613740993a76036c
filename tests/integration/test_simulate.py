"""`simulate` is the engine under `parity run backtest`: its frames are the journal's exports to
the cent, with preload on and off; the incremental twin fed day by day equals `simulate` on the
bars so far."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.costs import cost_model
from parity.engine.simulate import Simulation, simulate
from parity.engine.stepper import SteppedTwin
from parity.feeds.loader import load_bars
from parity.journal.reader import JournalReader
from parity.runners.backtest import run_backtest
from parity.strategies.params import coerce_params
from parity.strategies.registry import resolve_strategy

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(300)]

IDIOMS = str(Path(__file__).parent / "plain" / "order_idioms.py")
CASES = {
    "sma_daily": dict(strategy="sma_cross", symbols=("AAPL", "MSFT"), params={"fast": 5}),
    "rsi_minute_costs": dict(
        strategy="rsi_reversion", data="sample:minute", symbols=("BAC", "IBM"),
        commission="0.005/share,min=1", slippage="2bps",
    ),
    "oco_minute": dict(strategy=f"{IDIOMS}:OcoExit", data="sample:minute", symbols=("AIG",)),
    "close_fills": dict(strategy="sma_cross", symbols=("IBM",), fill_at="close"),
}  # fmt: skip


def _simulate(config: BacktestConfig, run_id: str, preload: bool):
    loaded = load_bars(
        config.data, config.symbols, timeframe=config.timeframe, adjustment=config.adjustment,
        session="regular",  # what `parity run backtest` trades by default
    )  # fmt: skip
    from parity.engine.simulate import Recording

    return simulate(
        loaded, resolve_strategy(config.strategy).cls, config.params, config.costs,
        cash=config.cash, fill_at=config.fill_at, preload=preload,
        recording=Recording(id_prefix=run_id),
    )  # fmt: skip


@pytest.mark.parametrize("preload", [True, False], ids=["preload", "bar-by-bar"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_simulate_frames_are_the_journal_exports(tmp_path, case, preload):
    config = BacktestConfig(runs_dir=tmp_path, preload=preload, **CASES[case])
    result = run_backtest(config, run_id=case)
    reader = JournalReader.open(result.run_dir / "journal.sqlite")
    try:
        equity, orders, fills = reader.equity(case), reader.orders(case), reader.fills(case)
    finally:
        reader.close()
    memory = _simulate(config, case, preload=True)  # in memory, always the vectorised path
    assert len(fills) > 4
    pd.testing.assert_frame_equal(memory.equity, equity)
    pd.testing.assert_frame_equal(memory.orders, orders)
    pd.testing.assert_frame_equal(memory.fills, fills)
    assert memory.metrics == result.metrics


@pytest.mark.parametrize("preload", [True, False])
def test_simulate_gives_the_golden_numbers(preload):
    splits = {"adjustment": "splits"}
    two = load_bars("sample", ["AAPL", "MSFT"], **splits)
    sma = simulate(two, "sma_cross", {"fast": 5, "slow": 20}, preload=preload)
    assert round(sma.metrics["total_return"] * 100, 2) == 219.88
    hold = simulate(load_bars("sample", ["AAPL"], **splits), "buy_and_hold", preload=preload)
    assert round(hold.metrics["total_return"] * 100, 2) == 1162.62
    assert len(sma.trades) == 184 and len(hold.fills) == 1


def test_simulate_names_bad_input():
    from parity.errors import ConfigError

    with pytest.raises(ConfigError, match="bars must be load_bars"):
        simulate([], "sma_cross")
    with pytest.raises(ConfigError, match=r"not a backtrader\.Strategy subclass"):
        simulate(load_bars("sample", ["IBM"]), int)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "strategy,symbols",
    [("rsi_reversion", ("BAC", "IBM")), (f"{IDIOMS}:OcoExit", ("AIG",))],
    ids=["rsi-two-symbols", "oco"],
)
def test_the_stepped_twin_fed_day_by_day_is_simulate_on_the_bars_so_far(strategy, symbols):
    """Each day's bars are pushed once (the twin keeps its state: cost per session is the
    session's bars), and after each day the twin equals a backtest on every bar so far."""
    loaded = load_bars("sample:minute", symbols, end=dt.date(2013, 10, 9))
    cls = resolve_strategy(strategy).cls
    costs = cost_model("0.005/share,min=1", "2bps")
    simulation = Simulation(
        (), cls, coerce_params(cls, {}), costs, 100_000.0, "open", False, None, None,
        names=symbols,
    )  # fmt: skip
    twin = SteppedTwin(simulation, symbols, loaded.series[0].timeframe)
    days = sorted({stamp.date() for s in loaded.series for stamp in s.frame.index})
    pushed = 0
    try:
        for day in days:
            upto = pd.Timestamp(day) + pd.Timedelta(days=1)
            today = {
                s.symbol: s.frame[(s.frame.index >= pd.Timestamp(day)) & (s.frame.index < upto)]
                for s in loaded.series
            }
            pushed += sum(len(f) for f in today.values())
            got = twin.advance(today, last=day == days[-1])
            so_far = load_bars("sample:minute", symbols, end=day)
            want = simulate(so_far, cls, {}, costs)
            # bars of one symbol after the other's last bar wait for its next bar (Backtrader
            # needs every feed's next bar to move on): compare up to the twin's last bar
            cut = want.equity.index <= got.equity.index[-1]
            pd.testing.assert_frame_equal(got.equity, want.equity[cut])
            if day == days[-1] or cut.all():
                pd.testing.assert_frame_equal(got.orders, want.orders)
                pd.testing.assert_frame_equal(got.fills, want.fills)
    finally:
        twin.close()
    assert pushed == sum(len(s) for s in loaded.series)  # every bar fed exactly once
    assert len(got.fills) > 4


def test_a_window_shorter_than_the_warm_up_says_so():
    short = load_bars("sample", ["AAPL"], end=dt.date(2000, 6, 1))
    result = simulate(short, "sma_cross", {"slow": 200})
    assert len(result.equity) == 65 and len(result.orders) == 0
    assert result.warnings == (
        "SmaCross needs 201 bars to warm up but the window has 65; it made no decisions",
    )
