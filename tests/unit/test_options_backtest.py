"""Options in a backtest, end to end on small hand-made bars: a put credit spread held to expiry
ends with the P&L computed by hand from its fills and settlement; an in-the-money short put is
assigned and the shares appear; a combo that does not fit buying power is rejected with its
reason; recorded quotes are used exactly; preload on and off give identical results."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from parity.engine.simulate import simulate
from parity.errors import DataError
from parity.feeds.bars import BarSeries
from parity.feeds.synthetic import session_bars
from parity.instruments.calendars import calendar_named
from parity.options.chain import nearest, session_open
from parity.options.costs import OptionCosts
from parity.options.model import ModelChain, ModelChainParams
from parity.options.recorded import RecordedQuotes
from parity.options.setup import OptionsSetup
from parity.strategies.options_base import OptionsStrategy
from parity.timeframe import DAILY

XNYS = calendar_named("XNYS")
SESSIONS = [d for d in XNYS.sessions(dt.date(2024, 1, 2), dt.date(2024, 3, 28)).date]
ENTRY = 25  # the bar (1-based) whose close decides the trade; it expires at the next close


def bars(last_close: float, n: int = ENTRY + 3) -> BarSeries:
    """Closes wandering around 100, the entry bar's close exactly 100; every open is the
    previous close; the bar after the entry closes at `last_close`."""
    rng = np.random.default_rng(11)
    closes = list(100 * np.exp(np.cumsum(rng.normal(0, 0.008, n))).round(2))
    closes[ENTRY - 1] = 100.0
    closes[ENTRY] = last_close
    opens = [100.0, *closes[:-1]]
    frame = pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) + 0.2,
            "low": np.minimum(opens, closes) - 0.2,
            "close": closes,
            "volume": 1e6,
        },
        index=pd.DatetimeIndex(pd.to_datetime(SESSIONS[:n]), name="datetime").as_unit("ns"),
    )
    return BarSeries("SPY", frame, DAILY, "test")


class Scripted(OptionsStrategy):
    """Sells the 98/95 put spread (2 contracts) expiring at the next session's close."""

    legs: ClassVar[tuple[tuple[float, str, int], ...]] = ((98.0, "put", -1), (95.0, "put", 1))
    qty: ClassVar[int] = 2
    log: ClassVar[list[Any]] = []

    def next(self) -> None:
        data = self.datas[0]
        type(self).log.append(("bar", len(data), self.getposition(data).size, self.broker.cash))
        if len(data) != ENTRY:
            return
        quotes = self.options.chain(dte=(1, 1))
        picked = [
            (nearest([q for q in quotes if q.contract.right == r], strike=k), ratio)
            for k, r, ratio in self.legs
        ]
        self.options.combo(picked, self.qty, tag="test")

    def notify_combo(self, order: Any) -> None:
        type(self).log.append(("combo", order.status, order.reason))


def _run(
    series: BarSeries,
    strategy: type = Scripted,
    *,
    cash: float = 100_000.0,
    setup: OptionsSetup | None = None,
    preload: bool = True,
) -> Any:
    Scripted.log = []
    setup = setup or OptionsSetup(costs=OptionCosts(commission_per_contract=0.65, slippage=0.005))
    return simulate(series, strategy, {}, cash=cash, options=setup, preload=preload)


def _open_quotes(series: BarSeries, strikes: list[float]) -> list[Any]:
    """The model's quotes at the open after the entry bar, computed apart from the run."""
    chain = ModelChain("SPY", XNYS, ModelChainParams())
    for close in series.frame["close"].iloc[:ENTRY]:
        chain.observe_close(dt.date(2024, 1, 2), float(close))
    day = SESSIONS[ENTRY]
    spot = float(series.frame["open"].iloc[ENTRY])
    contracts = [chain.contract(day, "put", k) for k in strikes]
    return chain.quotes(contracts, session_open(XNYS, day), spot)


def test_put_credit_spread_held_to_expiry_ends_with_the_hand_computed_pnl() -> None:
    series = bars(last_close=101.0)  # both puts expire out of the money
    result = _run(series)
    short, long = _open_quotes(series, [98.0, 95.0])
    sold, bought = short.bid * (1 - 0.005), long.ask * (1 + 0.005)
    by_hand = 2 * 100 * (sold - bought) - 4 * 0.65  # premium less commission; expiry pays 0
    fills = result.options.fills
    trades = fills[fills["kind"] == "trade"]
    assert list(trades["price"]) == [pytest.approx(sold, abs=1e-6), pytest.approx(bought, abs=1e-6)]
    assert list(trades["qty"]) == [-2, 2]
    assert list(fills["kind"]) == ["trade", "trade", "expiry", "expiry"]
    assert round(result.options.trades["pnl"].iloc[0], 2) == round(by_hand, 2)
    assert result.options.trades["outcome"].iloc[0] == "expired"
    assert round(result.equity["value"].iloc[-1] - 100_000, 2) == round(by_hand, 2)
    costs = result.metrics["options"]["costs"]
    assert costs["commission"] == 2.6 and costs["commission_per_contract"] == 0.65
    assert costs["spread_cost"] == round(
        200 * ((short.ask - short.bid) / 2 + (long.ask - long.bid) / 2), 2
    )


def test_in_the_money_short_put_is_assigned_and_the_shares_appear() -> None:
    series = bars(last_close=96.0)  # the 98 put is 2.00 in the money, the 95 put out
    result = _run(series)
    short, long = _open_quotes(series, [98.0, 95.0])
    premium = 2 * 100 * (short.bid * 0.995 - long.ask * 1.005) - 4 * 0.65
    fills = result.options.fills
    assigned = fills[fills["kind"] == "assignment"].iloc[0]
    assert (assigned["symbol"], assigned["qty"], assigned["shares"]) == (
        "SPY240207P00098000",
        2,
        200,
    )
    assert assigned["cash"] == -19_600.0
    assert list(fills["kind"]) == ["trade", "trade", "assignment", "expiry"]
    # the next bar's strategy sees 200 shares held and the cash paid for them
    after = next(row for row in Scripted.log if row[0] == "bar" and row[1] == ENTRY + 2)
    assert after[2] == 200
    assert round(after[3], 2) == round(100_000 + premium - 19_600, 2)
    # equity at the expiry close: the shares at the close, the premium kept
    assert round(result.equity["value"].iloc[ENTRY] - 100_000, 2) == round(
        premium + 200 * (96 - 98), 2
    )
    assert round(result.options.trades["pnl"].iloc[0], 2) == round(premium + 200 * (96 - 98), 2)


class TooBig(Scripted):
    legs = ((98.0, "put", -1), (95.0, "put", 1))
    qty = 5


class NakedCall(Scripted):
    legs = ((103.0, "call", -1),)
    qty = 1


def test_a_combo_that_does_not_fit_buying_power_is_rejected_with_its_reason() -> None:
    result = _run(bars(101.0), TooBig, cash=1_000.0)
    combos = [row for row in Scripted.log if row[0] == "combo"]
    assert combos[0][1] == "rejected"
    assert combos[0][2].startswith("insufficient buying power: needs $")
    assert "max loss $1,500.00" in combos[0][2] and "has $1,000.00 cash" in combos[0][2]
    assert result.options.orders["status"].tolist() == ["rejected"]
    assert result.options.fills.empty and result.equity["value"].iloc[-1] == 1_000.0
    _run(bars(101.0), NakedCall)
    combos = [row for row in Scripted.log if row[0] == "combo"]
    assert combos[0][1] == "rejected"
    assert "naked short call SPY240207C00103000 is not allowed" in combos[0][2]
    allowed = OptionsSetup.for_strategy(NakedCall, {"rules": {"allow_naked_options": True}})
    _run(bars(101.0), NakedCall, setup=allowed)
    assert [row[1] for row in Scripted.log if row[0] == "combo"] == ["submitted", "filled"]


QUOTES = """time,symbol,bid,ask,iv
2024-02-06,SPY240207P00098000,0.41,0.47,
2024-02-06,SPY240207P00095000,0.05,0.09,0.31
2024-02-07,SPY240207P00098000,0.37,0.44,
2024-02-07,SPY240207P00095000,0.03,0.06,
"""


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_recorded_quotes_are_used_exactly(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"quotes.{suffix}"
    (tmp_path / "quotes.csv").write_text(QUOTES)
    if suffix == "parquet":  # the same quotes as a parquet file, times as timestamps
        frame = pd.read_csv(tmp_path / "quotes.csv", parse_dates=["time"])
        frame.to_parquet(path, index=False)
    assert SESSIONS[ENTRY - 1] == dt.date(2024, 2, 6)
    setup = OptionsSetup(quotes=path, costs=OptionCosts(commission_per_contract=0, slippage=0))
    result = _run(bars(101.0), setup=setup)
    trades = result.options.fills[result.options.fills["kind"] == "trade"]
    assert list(trades["price"]) == [0.37, 0.06]  # the next session's bid and ask, as recorded
    assert round(result.options.trades["pnl"].iloc[0], 2) == round(2 * 100 * (0.37 - 0.06), 2)
    source = RecordedQuotes.load(path, "SPY", XNYS, ModelChainParams())
    now = dt.datetime(2024, 2, 6, 16)
    quotes = source.quotes(source.contracts(now, 100.0), now, 100.0)
    assert [(q.bid, q.ask) for q in quotes if q] == [(0.05, 0.09), (0.41, 0.47)]
    assert quotes[0] is not None and quotes[0].iv == 0.31


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "time,symbol,bid,ask\n2024-02-06,SPY240207P00098000,abc,0.4\n",
            "line 2, column bid: 'abc' is not a number",
        ),
        (
            "time,symbol,bid,ask\n2024-02-06,SPY 98 PUT,0.3,0.4\n",
            "line 2, column symbol: 'SPY 98 PUT' is not an OCC symbol",
        ),
        (
            "time,symbol,bid,ask\n2024-02-06,SPY240207P00098000,0.5,0.4\n",
            "line 2: bid 0.5 is above ask 0.4",
        ),
        (
            "time,symbol,bid,ask\nsoon,SPY240207P00098000,0.3,0.4\n",
            "line 2, column time: 'soon' is not a date",
        ),
        ("time,symbol,ask\n2024-02-06,SPY240207P00098000,0.4\n", "no bid column"),
    ],
)
def test_bad_recorded_quotes_name_the_line_column_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "q.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RecordedQuotes.load(path, "SPY", XNYS, ModelChainParams())


@pytest.mark.parametrize(
    ("strategy", "symbol", "mic", "price", "minimum"),
    [
        ("put_credit_spread", "SPY", "XNYS", 470.0, 20),
        ("iron_condor", "NIFTY.NS", "XNSE", 21_500.0, 5),
        ("covered_call", "AAPL", "XNYS", 150.0, 3),
    ],
)
def test_option_strategies_are_identical_with_preload_on_and_off(
    strategy: str, symbol: str, mic: str, price: float, minimum: int
) -> None:
    calendar = calendar_named(mic)
    frame = session_bars(
        calendar, dt.date(2023, 6, 1), dt.date(2023, 12, 29), DAILY, seed=3, price=price,
        volatility=0.008,
    )  # fmt: skip
    series = BarSeries(symbol, frame, DAILY, "synthetic")
    on = simulate(series, strategy, {}, preload=True)
    off = simulate(series, strategy, {}, preload=False)
    assert on.options is not None and off.options is not None
    assert len(on.options.trades) >= minimum
    pd.testing.assert_frame_equal(on.options.fills, off.options.fills)
    pd.testing.assert_frame_equal(on.options.trades, off.options.trades)
    pd.testing.assert_frame_equal(on.equity, off.equity)
    assert on.metrics["options"] == off.metrics["options"]


SIZED = """time,symbol,bid,ask,bid_size,ask_size
2024-02-06,SPY240209P00095000,0.20,0.25,10,10
2024-02-07,SPY240209P00095000,0.18,0.22,10,3
2024-02-08,SPY240209P00095000,0.15,0.19,10,40
"""


class BuyFive(OptionsStrategy):
    log: ClassVar[list[Any]] = []

    def next(self) -> None:
        if len(self.datas[0]) == ENTRY:
            quote = self.options.chain(right="put", dte=(3, 3))[0]
            self.options.combo([(quote, 1)], 5, tif="gtc")

    def notify_combo(self, order: Any) -> None:
        type(self).log.append((order.status, order.filled))


def test_a_single_leg_fills_in_parts_against_the_quoted_size(tmp_path: Path) -> None:
    path = tmp_path / "sized.csv"
    path.write_text(SIZED)
    setup = OptionsSetup(quotes=path, costs=OptionCosts(commission_per_contract=0, slippage=0))
    BuyFive.log = []
    result = simulate(bars(101.0), BuyFive, {}, options=setup)
    trades = result.options.fills[result.options.fills["kind"] == "trade"]
    assert list(zip(trades["qty"], trades["price"], strict=True)) == [(3, 0.22), (2, 0.19)]
    assert BuyFive.log == [("submitted", 0), ("submitted", 3), ("filled", 5)]
    order = result.options.orders.iloc[0]
    assert (order["filled"], order["net"]) == (5, round((3 * 0.22 + 2 * 0.19) / 5, 6))


class TwoAtOnce(Scripted):
    """Two spreads in one bar: each fits alone, the two together do not."""

    def next(self) -> None:
        super().next()
        if len(self.datas[0]) == ENTRY:
            quotes = self.options.chain(dte=(1, 1), right="put")
            self.options.combo(
                [(nearest(quotes, strike=97.0), -1), (nearest(quotes, strike=94.0), 1)], 2
            )


def test_open_orders_hold_their_buying_power() -> None:
    _run(bars(101.0), TwoAtOnce, cash=1_000.0)
    combos = [row for row in Scripted.log if row[0] == "combo"]
    assert [c[1] for c in combos[:2]] == ["submitted", "rejected"]
    assert "max loss $1,200.00" in combos[1][2]  # both spreads' 2 x 3 points x 100
    assert [c[1] for c in combos[2:]] == ["filled"]
