"""Plain-Backtrader strategies using each order idiom trade identically (fills and equity to the
cent) in `parity run backtest` and in a lock-step rehearsal against the local venue (1Min, and
1Day and 5Min for StopTrail, OCO and `valid=`), as in plain Backtrader where it applies, or are
refused with the documented reason in both."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.errors import StrategyError
from parity.feeds.sample import sample_path
from parity.runners.backtest import run_backtest
from parity.runners.paper import PaperConfig, run_paper
from parity.timeframe import parse_timeframe

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(300),
]

STRATEGIES = Path(__file__).parent / "plain" / "order_idioms.py"
_spec = importlib.util.spec_from_file_location("order_idioms", STRATEGIES)
assert _spec is not None and _spec.loader is not None
idioms = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = idioms  # Backtrader's metaclasses look the module up
_spec.loader.exec_module(idioms)
WINDOW = {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 7)}
# the other timeframes' windows: a year of the daily sample, the whole minute sample at 5Min
WINDOWS: dict[str, dict[str, object]] = {
    "1Day": {"start": dt.date(2004, 1, 1), "end": dt.date(2004, 12, 31), "data": "sample:daily"},
    "5Min": {"start": dt.date(2013, 10, 4), "end": dt.date(2013, 10, 11)},
}


# every minute bar of the sample, pre- and post-market too: the idioms are compared with plain
# Backtrader on the whole file, and some cases are about those bars (gaps, the official close)
EVERY_BAR = {"session": "extended"}


def backtest(tmp_path: Path, name: str, **overrides: object) -> Path:
    fields = {"data": "sample:minute", **EVERY_BAR, **WINDOW, **overrides}
    config = BacktestConfig(
        strategy=f"{STRATEGIES}:{name}", symbols=("IBM",),
        commission="0", slippage="0", runs_dir=tmp_path / "bt", **fields,
    )  # fmt: skip
    return run_backtest(config).run_dir


def paper(tmp_path: Path, name: str, **overrides: object) -> Path:
    fields = {"data": "sample:minute", "slippage": "0", **EVERY_BAR, **WINDOW, **overrides}
    config = PaperConfig(
        strategy=f"{STRATEGIES}:{name}", symbols=("IBM",), venue="local", cash=100_000.0,
        runs_dir=tmp_path / "paper", **fields,
    )  # fmt: skip
    return run_paper(config).run_dir


def at(timeframe: str) -> dict[str, object]:
    """Overrides that run at `timeframe` on its window."""
    return {**WINDOWS[timeframe], "timeframe": parse_timeframe(timeframe)}


def assert_same(
    bt_dir: Path, paper_dir: Path, at_least: int, *, ignore: tuple[str, ...] = ()
) -> pd.DataFrame:
    expected = pd.read_csv(bt_dir / "trades.csv")
    got = pd.read_csv(paper_dir / "trades.csv")
    assert len(expected) >= at_least
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    bt_equity = pd.read_csv(bt_dir / "equity.csv", index_col="datetime")["value"]
    paper_equity = pd.read_csv(paper_dir / "equity.csv", index_col="datetime")["value"]
    assert list(paper_equity.index) == list(bt_equity.index)
    assert (paper_equity - bt_equity).abs().max() < 0.01
    # every order alike too: type, prices, time, final state, fills (ids and reasons differ);
    # orders still open when the data ends are cancelled by the paper run's graceful stop
    same = ["symbol", "side", "type", "qty", "limit_price", "stop_price", "submitted_at",
            "status", "filled_qty", "avg_fill_price"]  # fmt: skip
    same = [c for c in same if c not in ignore]
    bt_orders = pd.read_csv(bt_dir / "orders.csv")[same]
    paper_orders = pd.read_csv(paper_dir / "orders.csv")[same]
    still_open = bt_orders["status"].isin(["submitted", "accepted"])
    assert (paper_orders.loc[still_open, "status"] == "canceled").all()
    bt_orders.loc[still_open, "status"] = "canceled"
    pd.testing.assert_frame_equal(paper_orders, bt_orders, check_exact=False, rtol=1e-12)
    return expected


@pytest.mark.parametrize("params", [{}, {"percent": "0.07"}])
def test_stop_trail_exits_match(tmp_path: Path, params: dict[str, str]) -> None:
    name = "StopTrailExit"
    bt_dir = backtest(tmp_path, name, params=params)
    # orders.csv records a trailing stop's stop price as first seen: not a fill, not compared
    paper_dir = paper(tmp_path, name, params=params)
    assert_same(bt_dir, paper_dir, at_least=10, ignore=("stop_price",))
    assert parity_fills(bt_dir) == plain_fills(name, idioms_params(name, params))


def test_oco_exit_pairs_match(tmp_path: Path) -> None:
    # the backtest's no-short guard counts both OCO legs (fixed by i13a): --allow-short there;
    # the strategy never shorts (each exit pair closes the 10 shares once)
    name = "OcoExit"
    bt_dir = backtest(tmp_path, name, allow_short=True)
    trades = assert_same(bt_dir, paper(tmp_path, name), 10)
    assert parity_fills(bt_dir) == plain_fills(name, {})
    assert (trades["size"] > 0).all() if "size" in trades else True


def plain_fills(
    name: str, params: dict[str, object], timeframe: str = "1Min"
) -> list[tuple[str, str, float]]:
    """(bar, side, price) of each fill of the strategy in plain Backtrader on the 1Min or
    1Day window."""
    daily = timeframe == "1Day"
    window = WINDOWS["1Day"] if daily else WINDOW
    path = sample_path("IBM", "daily" if daily else "minute")
    frame = pd.read_csv(path, parse_dates=["datetime"]).set_index("datetime")
    days = frame.index.date
    frame = frame[(days >= window["start"]) & (days <= window["end"])]
    cerebro = bt.Cerebro(stdstats=False)
    unit = bt.TimeFrame.Days if daily else bt.TimeFrame.Minutes
    feed = bt.feeds.PandasData(dataname=frame, openinterest=None, timeframe=unit)
    cerebro.adddata(feed, name="IBM")
    cerebro.broker.setcash(100_000.0)
    cerebro.addstrategy(getattr(idioms, name), **params)
    strategy = cerebro.run()[0]
    done = [o for o in strategy.orders if o.status == o.Completed]
    stamp = "%Y-%m-%d" if daily else "%Y-%m-%d %H:%M"
    return sorted(
        (bt.num2date(o.executed.dt).strftime(stamp), "buy" if o.isbuy() else "sell",
         round(o.executed.price, 6))
        for o in done
    )  # fmt: skip


def parity_fills(run_dir: Path, stamp: str = "%Y-%m-%d %H:%M") -> list[tuple[str, str, float]]:
    frame = pd.read_csv(run_dir / "fills.csv", parse_dates=["datetime"])
    return sorted(
        (t.strftime(stamp), side, round(float(price), 6))
        for t, side, price in zip(frame["datetime"], frame["side"], frame["price"], strict=True)
    )


@pytest.mark.parametrize("timeframe", ["1Min", "5Min"])
def test_oco_pairs_placed_stop_first_match(tmp_path: Path, timeframe: str) -> None:
    """The stop placed first, then the limit with `oco=` the stop: on a bar where both could
    fill, Backtrader fills the order placed first, the stop; the venue is told so (Alpaca's one
    `oco` request cannot say it) and fills it too. Bands of 5 cents make such bars common."""
    params = {"band": "0.05", "stop_first": "true"}
    extra = at(timeframe) if timeframe in WINDOWS else {}
    bt_dir = backtest(tmp_path, "OcoExit", params=params, allow_short=True, **extra)
    assert_same(bt_dir, paper(tmp_path, "OcoExit", params=params, **extra), at_least=10)
    orders = pd.read_csv(bt_dir / "orders.csv")
    done = orders[(orders["status"] == "completed") & (orders["side"] == "sell")]
    assert set(done["type"]) == {"stop", "limit"}  # each leg wins some pairs
    if timeframe == "1Min":
        plain = plain_fills("OcoExit", {"band": 0.05, "stop_first": True})
        assert parity_fills(bt_dir) == plain


def test_parent_with_one_child_matches(tmp_path: Path) -> None:
    # the backtest's no-short guard ignores the pending parent (fixed by i13a): --allow-short
    name = "OneChild"
    assert_same(backtest(tmp_path, name, allow_short=True), paper(tmp_path, name), at_least=5)


def test_valid_orders_expire_alike(tmp_path: Path) -> None:
    name = "ValidLimit"
    paper_dir = paper(tmp_path, name)
    assert_same(backtest(tmp_path, name), paper_dir, at_least=5)
    orders = pd.read_csv(paper_dir / "orders.csv")
    expired = orders[orders["status"] == "expired"]
    assert len(expired) >= 5  # each one's cancel at the venue journaled with the reason
    assert set(expired["reason"]) == {"valid= reached: cancelled by parity at the venue"}


def test_valid_expires_alike_across_gaps(tmp_path: Path) -> None:
    """Entries at any hour: after hours and overnight, a `valid=` often ends in a gap in the
    bars. The client knows when the lock-step venue's next bar is and cancels before it, so
    the venue never matches the first bar after the gap, which Backtrader finds expired."""
    name, params = "ValidLimit", {"anytime": "true"}
    paper_dir = paper(tmp_path, name, params=params)
    bt_dir = backtest(tmp_path, name, params=params)
    assert_same(bt_dir, paper_dir, at_least=20)
    assert parity_fills(bt_dir) == plain_fills(name, {"anytime": True})
    orders = pd.read_csv(paper_dir / "orders.csv", parse_dates=["submitted_at"])
    expired = orders[(orders["status"] == "expired") & (orders["side"] == "buy")]
    tape = pd.read_csv(paper_dir / "tape.csv", parse_dates=["datetime"])["datetime"]
    # entries (valid 3 minutes) whose validity ended in a gap: no bar after them within it
    ends = expired["submitted_at"] + pd.Timedelta(minutes=3)
    in_gap = [not ((tape > t) & (tape <= end)).any() for t, end in zip(
        expired["submitted_at"], ends, strict=True)]  # fmt: skip
    assert sum(in_gap) >= 3


@pytest.mark.parametrize("preload", [True, False])
def test_close_orders_fill_at_the_official_close(tmp_path: Path, preload: bool) -> None:
    """`Close` is sent as Alpaca's `cls`: it fills at the 16:00 official close (the close of the
    15:59 bar, not of the last after-hours bar, 19:55 on this sample), and the backtest's `Close`
    fills there too: fills and equity alike to the cent."""
    name = "CloseOrders"
    days = {"end": dt.date(2013, 10, 9)}
    paper_dir = paper(tmp_path, name, **days)
    bt_dir = backtest(tmp_path, name, preload=preload, **days)
    assert_same(bt_dir, paper_dir, at_least=2)  # two round trips, four fills
    fills = pd.read_csv(bt_dir / "fills.csv", parse_dates=["datetime"])
    tape = pd.read_csv(paper_dir / "tape.csv", parse_dates=["datetime"]).set_index("datetime")
    assert len(fills) == 4
    assert (fills["datetime"].dt.time == dt.time(15, 59)).all()
    assert list(fills["price"]) == list(tape.loc[fills["datetime"], "close"])
    assert list(fills["side"]) == ["buy", "sell", "buy", "sell"]


@pytest.mark.parametrize("at", ["15:49", "15:50", "15:59"])
def test_close_orders_past_the_cls_cut_off_are_refused_alike(tmp_path: Path, at: str) -> None:
    """Alpaca takes `cls` orders until 15:50 New York. A `Close` decided on a bar ending by
    then fills at the 15:59 close in both modes; one decided later (on the 15:59 bar
    Backtrader would fill it at the close of whatever bar comes next) is rejected in both, with
    the same one-line reason, and nothing fills."""
    params, days = {"at": at}, {"end": dt.date(2013, 10, 9)}
    bt_dir = backtest(tmp_path, "CloseOrders", params=params, **days)
    paper_dir = paper(tmp_path, "CloseOrders", params=params, **days)
    fills = pd.read_csv(bt_dir / "fills.csv", parse_dates=["datetime"])
    assert_same(bt_dir, paper_dir, at_least=0)
    bt_orders, paper_orders = (pd.read_csv(d / "orders.csv") for d in (bt_dir, paper_dir))
    if at == "15:49":  # the bar ends at 15:50: in time
        assert len(fills) == 4 and (fills["datetime"].dt.time == dt.time(15, 59)).all()
        return
    assert fills.empty and (bt_orders["status"] == "rejected").all() and len(bt_orders) == 4
    end = "16:00" if at == "15:59" else "15:51"
    reason = (
        f"Close decided at {end} New York is past Alpaca's 15:50 cut-off for market-on-close "
        "(cls) orders: decide it on a bar ending by 15:50"
    )
    assert set(bt_orders["reason"]) == set(paper_orders["reason"]) == {reason}


def test_stop_trail_limit_is_refused_before_the_first_order(tmp_path: Path) -> None:
    with pytest.raises(StrategyError) as err:
        paper(tmp_path, "StopTrailLimitExit")
    message = str(err.value)
    assert "StopTrailLimit is not supported: Alpaca's trailing_stop has no limit price" in message
    line = next(
        n for n, text in enumerate(STRATEGIES.read_text().splitlines(), 1)
        if "bt.Order.StopTrailLimit" in text
    )  # fmt: skip
    assert f"{STRATEGIES}:{line}:" in message and "\n" not in message
    assert not list((tmp_path / "paper").glob("*/fills.csv"))


def test_bracket_with_valid_parent_matches(tmp_path: Path) -> None:
    # the backtest's no-short guard rejects bracket legs (fixed by i13a): --allow-short there
    name = "BracketValid"
    bt_dir = backtest(tmp_path, name, allow_short=True)
    orders = pd.read_csv(bt_dir / "orders.csv")
    assert (orders["status"] == "expired").sum() >= 5  # entries, and legs, that expired
    assert_same(bt_dir, paper(tmp_path, name), at_least=5)


# ------------------------------------------------------------------ 1Day and 5Min rehearsals
# the same idioms, rehearsed in lock-step at the other timeframes: prices scaled to the bars
COARSE = {
    "1Day": {
        "StopTrailExit": {"percent": "2"},
        "OcoExit": {"band": "2"},
        "ValidLimit": {"under": "0.5", "over": "1", "entry_bars": "3", "exit_bars": "5",
                       "anytime": "true"},
    },
    "5Min": {
        "StopTrailExit": {},
        "OcoExit": {"band": "0.3"},
        "ValidLimit": {"under": "0.1", "over": "0.2"},
    },
}  # fmt: skip


@pytest.mark.parametrize("timeframe", ["1Day", "5Min"])
@pytest.mark.parametrize("name", ["StopTrailExit", "OcoExit", "ValidLimit"])
def test_idioms_rehearse_at_coarser_timeframes(tmp_path: Path, name: str, timeframe: str) -> None:
    params = COARSE[timeframe][name]
    bt_dir = backtest(tmp_path, name, params=params, **at(timeframe))
    paper_dir = paper(tmp_path, name, params=params, **at(timeframe))
    ignore = ("stop_price",) if name == "StopTrailExit" else ()
    assert_same(bt_dir, paper_dir, at_least=4, ignore=ignore)
    if timeframe == "1Day":  # and as in plain Backtrader on the same daily bars
        typed = idioms_params(name, params)
        assert parity_fills(bt_dir, "%Y-%m-%d") == plain_fills(name, typed, "1Day")


def idioms_params(name: str, params: dict[str, str]) -> dict[str, object]:
    """`--param` strings typed as the strategy declares them."""
    from parity.strategies.params import coerce_params

    return coerce_params(getattr(idioms, name), params)
