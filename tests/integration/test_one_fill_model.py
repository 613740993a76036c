"""One fill model: the simulated broker (a `parity run backtest`), the local venue's matching
engine and the training environment give the same fills (bar, quantity, price, commission) for
the same orders on the same bars, with slippage and a commission minimum; and a backtest's
`--volume-share` / `--latency` split and delay fills exactly as the venue does."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from parity.config import BacktestConfig
from parity.costs import cost_model
from parity.engine.fills import Bar
from parity.errors import ConfigError
from parity.models.env import TradingEnv, TradingSetup
from parity.models.features import FeatureSpec
from parity.models.masking import BUY, HOLD, SELL
from parity.runners.backtest import run_backtest
from parity.venue.clock import MarketCalendar, ny
from parity.venue.engine import Engine

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CASH = 100_000.0
COMMISSION, SLIPPAGE = "0.005/share,min=1", "5bps"
DAY = dt.date(2024, 1, 8)
# open, high, low, close, volume of 1-minute bars from 09:30 on one session
ROWS = [
    (100.0, 100.5, 99.5, 100.2, 1000.0),
    (100.2, 100.8, 100.0, 100.6, 1000.0),
    (100.6, 101.0, 100.4, 100.9, 1000.0),  # 2: market buy 10, limit buy 5 at 99.8
    (100.95, 100.96, 100.3, 100.5, 1000.0),  # the buy's slipped open is capped at the high
    (100.5, 100.7, 100.1, 100.2, 1000.0),  # 4: stop sell 5 at 99.6
    (100.1, 100.3, 99.7, 99.9, 1000.0),  # the limit is touched: fills at 99.8
    (99.9, 100.0, 99.7, 99.8, 1000.0),
    (99.8, 99.9, 99.2, 99.3, 1000.0),  # the stop is touched: fills at the slipped stop
    (99.3, 99.6, 99.0, 99.5, 1000.0),  # 8: market sell 10
    (99.6, 100.0, 99.4, 99.9, 1000.0),
    (99.9, 100.1, 99.8, 100.0, 1000.0),
    (100.0, 100.2, 99.9, 100.1, 1000.0),
]
ORDERS: dict[int, list[tuple[str, str, float, float | None]]] = {
    2: [("buy", "market", 10, None), ("buy", "limit", 5, 99.8)],
    4: [("sell", "stop", 5, 99.6)],
    8: [("sell", "market", 10, None)],
}
Fill = tuple[str, str, float, float, float]  # bar, side, qty, price, commission

STRATEGY = """
import backtrader as bt

PLAN = {plan!r}
KINDS = {{"market": bt.Order.Market, "limit": bt.Order.Limit, "stop": bt.Order.Stop}}


class Plan(bt.Strategy):
    def next(self):
        for side, kind, size, price in PLAN.get(len(self) - 1, ()):
            make = self.buy if side == "buy" else self.sell
            make(size=size, exectype=KINDS[kind], price=price)
"""


def bars(
    rows: list[tuple[float, ...]] = ROWS, index: pd.DatetimeIndex | None = None
) -> pd.DataFrame:
    if index is None:
        start = dt.datetime.combine(DAY, dt.time(9, 30))
        index = pd.date_range(start, periods=len(rows), freq="1min")
    return pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])


def _fill(label: Any, side: str, qty: float, price: float, fee: float) -> Fill:
    """A fill as compared: its bar (`HH:MM` on DAY), side, quantity, price and commission."""
    stamp = pd.Timestamp(label)
    text = stamp.strftime("%H:%M" if stamp.date() == DAY else "%m-%d %H:%M")
    return (text, side, float(qty), round(price, 8), round(fee, 8))


def backtest_fills(
    tmp_path: Path,
    orders: dict[int, list[tuple[str, str, float, float | None]]],
    *,
    rows: list[tuple[float, ...]] = ROWS,
    index: pd.DatetimeIndex | None = None,
    preload: bool = True,
    **options: Any,
) -> list[Fill]:
    """The fills of a `parity run backtest` of `orders` on `rows` (the simulated broker)."""
    data = tmp_path / "bars"
    data.mkdir(exist_ok=True)
    bars(rows, index).rename_axis("datetime").to_csv(data / "XYZ.csv")
    strategy = tmp_path / "plan.py"
    strategy.write_text(STRATEGY.format(plan=orders))
    config = BacktestConfig(
        strategy=f"{strategy}:Plan",
        data=str(data),
        symbols=("XYZ",),
        commission=COMMISSION,
        slippage=SLIPPAGE,
        allow_short=True,
        preload=preload,
        runs_dir=tmp_path / "runs",
        **options,
    )
    frame = pd.read_csv(run_backtest(config).run_dir / "fills.csv")
    return [
        _fill(*row)
        for row in frame[["datetime", "side", "qty", "price", "commission"]].itertuples(index=False)
    ]


def venue_fills(
    orders: dict[int, list[tuple[str, str, float, float | None]]],
    *,
    rows: list[tuple[float, ...]] = ROWS,
    index: pd.DatetimeIndex | None = None,
    days: tuple[dt.date, ...] = (DAY,),
    step: dt.timedelta = dt.timedelta(minutes=1),
    **options: Any,
) -> list[Fill]:
    """The fills of the local venue's matching engine replaying `rows` as a lock-step rehearsal
    does (each bar matched, then the strategy's orders of that bar sent at its end)."""
    frame = bars(rows, index)
    engine = Engine(
        ["XYZ"],
        cash=CASH,
        costs=cost_model(COMMISSION, SLIPPAGE),
        calendar=MarketCalendar(list(days)),
        now=ny(frame.index[0].to_pydatetime()),
        reference_prices={"XYZ": rows[0][0]},
        **options,
    )
    for index, (label, row) in enumerate(frame.iterrows()):
        when = ny(label.to_pydatetime())
        engine.advance(when + step)
        engine.on_step(when, {"XYZ": Bar(*row)})
        for side, kind, size, price in orders.get(index, ()):
            body: dict[str, Any] = {"symbol": "XYZ", "qty": size, "side": side, "type": kind}
            body["time_in_force"] = "day" if kind == "market" else "gtc"  # as paper sends them
            if price is not None:
                body["limit_price" if kind == "limit" else "stop_price"] = price
            engine.submit(body)
    return [
        _fill(f["time"], f["side"], f["qty"], f["price"], f["commission"]) for f in engine.fills
    ]


def env_fills() -> list[Fill]:
    """The training environment's fills: it trades market orders only (BUY / SELL 10 shares)."""
    env = TradingEnv(
        bars(),
        spec=FeatureSpec(window=2, features=("returns",), history=2),
        setup=TradingSetup(
            costs=cost_model(COMMISSION, SLIPPAGE), cash=CASH, trade_size=10, max_position=10
        ),
    )
    env.reset()
    actions = {2: BUY, 8: SELL}
    out: list[Fill] = []
    while env.t < len(ROWS) - 1:
        decided = env.t
        _, _, _, _, info = env.step(actions.get(decided, HOLD))
        if info["fill"] is not None:
            qty, price, fee = info["fill"]
            side = "buy" if qty > 0 else "sell"
            out.append(_fill(env.index[decided + 1], side, abs(qty), price, fee))
    return out


MARKET_ONLY = {2: [ORDERS[2][0]], 8: ORDERS[8]}
EXPECTED = [
    ("09:33", "buy", 10.0, 100.96, 1.0),  # 100.95 slipped to 101.000475, capped at the high
    ("09:35", "buy", 5.0, 99.8, 1.0),  # the limit, touched by the low
    ("09:37", "sell", 5.0, round(99.6 * (1 - 0.0005), 8), 1.0),  # the stop, slipped
    ("09:39", "sell", 10.0, round(99.6 * (1 - 0.0005), 8), 1.0),  # the open, slipped
]


@pytest.mark.parametrize("preload", [True, False])
def test_sim_broker_venue_and_env_fill_alike(tmp_path: Path, preload: bool) -> None:
    backtest = backtest_fills(tmp_path, ORDERS, preload=preload)
    assert backtest == EXPECTED
    assert venue_fills(ORDERS) == backtest
    market = [f for f in backtest if f[0] in ("09:33", "09:39")]
    assert env_fills() == market
    assert backtest_fills(tmp_path, MARKET_ONLY, preload=preload) == market


VOLUME_ROWS = [
    (100.0 + i / 10, 101.0 + i / 10, 99.0 + i / 10, 100.5 + i / 10, 70.0) for i in range(12)
]
BIG = {1: [("buy", "market", 30, None), ("buy", "limit", 12, 102.0)]}


@pytest.mark.parametrize("preload", [True, False])
def test_a_volume_share_splits_a_big_order_bar_by_bar_as_the_venue_does(
    tmp_path: Path, preload: bool
) -> None:
    got = backtest_fills(tmp_path, BIG, rows=VOLUME_ROWS, volume_share=0.1, preload=preload)
    # 10 % of 70 shares: 7 a bar for each order, the market order's rest first
    assert [(f[0], f[2]) for f in got] == [
        ("09:32", 7.0), ("09:32", 7.0), ("09:33", 7.0), ("09:33", 5.0), ("09:34", 7.0),
        ("09:35", 7.0), ("09:36", 2.0)
    ]  # fmt: skip
    assert sum(f[4] for f in got) == pytest.approx(2.0)  # the minimum once per order
    assert got == venue_fills(BIG, rows=VOLUME_ROWS, volume_share=0.1)
    whole = backtest_fills(tmp_path, BIG, rows=VOLUME_ROWS, preload=preload)
    assert [(f[0], f[2]) for f in whole] == [("09:32", 30.0), ("09:32", 12.0)]


LATE = {2: ORDERS[2], 6: ORDERS[4], 8: ORDERS[8]}  # the stop once the late buy is held


@pytest.mark.parametrize("preload", [True, False])
def test_latency_delays_the_fill_as_the_venue_does(tmp_path: Path, preload: bool) -> None:
    # decided on the 09:32 bar, sent at its end (09:33): 90 s later is 09:34:30, so the 09:35 bar
    got = backtest_fills(tmp_path, LATE, latency_ms=90_000, preload=preload)
    assert got == venue_fills(LATE, latency_ms=90_000)
    assert [f[0] for f in got] == ["09:35", "09:35", "09:39", "09:41"]
    assert got[0][1:4] == ("buy", 10.0, round(100.1 * 1.0005, 8))
    exact = backtest_fills(tmp_path, LATE, latency_ms=60_000, preload=preload)
    assert exact == venue_fills(LATE, latency_ms=60_000)
    assert exact[0][0] == "09:34"  # a bar starting exactly at the deadline fills
    later = backtest_fills(tmp_path, LATE, latency_ms=60_001, preload=preload)
    assert later == venue_fills(LATE, latency_ms=60_001) and later[0][0] == "09:35"


def test_bad_latency_and_volume_share_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"--latency 250 .* use it with --fill open"):
        BacktestConfig(latency_ms=250, fill_at="close")
    with pytest.raises(ConfigError, match=r"volume share 0\.0 must be in"):
        BacktestConfig(volume_share=0.0)
    with pytest.raises(ConfigError, match=r"--volume-share 0\.5 .* use it with --fill open"):
        BacktestConfig(volume_share=0.5, fill_at="close")


def test_commission_takes_the_instrument_multiplier() -> None:
    from parity.engine.fills import FillModel
    from parity.instruments import instrument_for

    option = instrument_for("SPY240119C00450000")
    per_contract = FillModel(costs=cost_model("0.65/share,min=1", "0"))
    assert per_contract.commission(2, 3.5, instrument=option) == pytest.approx(1.3)
    pct = FillModel(costs=cost_model("0.1%", "0"))
    assert pct.commission(2, 3.5, instrument=option) == pytest.approx(0.7)  # of 700 notional
    assert pct.commission(2, 3.5) == pytest.approx(0.007)  # a share: multiplier 1
    assert pct.commission(2, 3.5, instrument=instrument_for("AAPL")) == pct.commission(2, 3.5)
    # partial fills of an option order: the minimum once, the notional with the multiplier
    minimum = FillModel(costs=cost_model("0.1%,min=1", "0"))
    first = minimum.commission(1, 3.0, instrument=option)  # 0.30 raised to 1.00
    second = minimum.commission(9, 3.0, prior_qty=1, prior_notional=3.0, instrument=option)
    assert (first, second) == (pytest.approx(1.0), pytest.approx(2.0))  # 3.00 on 3,000 in all


def test_the_cli_takes_latency_and_volume_share(tmp_path: Path) -> None:
    """`parity run backtest --latency MS --volume-share F`: same syntax as `run paper`; the
    manifest records them and the fills are split as the options say."""
    from click.testing import CliRunner

    from parity.cli import cli

    backtest_fills(tmp_path, BIG, rows=VOLUME_ROWS)  # writes the bars and the strategy
    args = ["run", "backtest", f"{tmp_path / 'plan.py'}:Plan", "--data", str(tmp_path / "bars")]
    args += ["--symbols", "XYZ", "--runs-dir", str(tmp_path / "cli"), "--json"]
    result = CliRunner().invoke(cli, [*args, "--volume-share", "0.1", "--latency", "60000"])
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["latency_ms"], manifest["volume_share"]) == (60_000, 0.1)
    fills = pd.read_csv(run_dir / "fills.csv")
    assert list(fills["qty"]) == [7, 7, 7, 5, 7, 7, 2]
    assert fills["datetime"].iloc[0] == "2024-01-08 09:33:00"  # a bar later: the latency
    bad = CliRunner().invoke(cli, [*args, "--volume-share", "1.5"])
    assert bad.exit_code == 2 and "--volume-share" in bad.output


ACROSS_CLOSE = pd.DatetimeIndex(
    [f"2024-01-08 {t}" for t in ("15:56", "15:57", "15:58", "15:59", "16:00", "16:01")]
    + [f"2024-01-09 {t}" for t in ("09:30", "09:31")]
)
DAILY = pd.DatetimeIndex(["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"])
SESSION_DAYS = (dt.date(2024, 1, 5), DAY, dt.date(2024, 1, 9), dt.date(2024, 1, 10))
MARKET_30 = {0: [("buy", "market", 30, None)]}


@pytest.mark.parametrize("preload", [True, False])
def test_the_rest_of_a_partly_filled_market_order_expires_with_its_session(
    tmp_path: Path, preload: bool
) -> None:
    """A market order is a day order at the venue: with a volume share, what its session did
    not fill expires at the close (intraday) or after its one daily bar, in both."""
    rows = VOLUME_ROWS[: len(ACROSS_CLOSE)]
    got = backtest_fills(
        tmp_path, MARKET_30, rows=rows, index=ACROSS_CLOSE, volume_share=0.1, preload=preload
    )
    assert [(f[0], f[2]) for f in got] == [("15:57", 7.0), ("15:58", 7.0), ("15:59", 7.0)]
    days = (DAY, dt.date(2024, 1, 9))
    assert got == venue_fills(MARKET_30, rows=rows, index=ACROSS_CLOSE, days=days, volume_share=0.1)
    rows = VOLUME_ROWS[: len(DAILY)]
    got = backtest_fills(
        tmp_path, MARKET_30, rows=rows, index=DAILY, volume_share=0.1, preload=preload
    )
    assert [(f[0], f[2]) for f in got] == [("00:00", 7.0)]  # Monday's bar, then expired
    step = dt.timedelta(days=1)
    venue = venue_fills(
        MARKET_30, rows=rows, index=DAILY, days=SESSION_DAYS, step=step, volume_share=0.1
    )
    assert got == venue


def test_a_run_file_sets_latency_and_volume_share(tmp_path: Path) -> None:
    from parity.config import build_config, read_run_file

    path = tmp_path / "run.yaml"
    path.write_text("latency: 250\nvolume_share: 0.1\n")
    config = build_config(read_run_file(path), {})
    assert config.fill_model.latency_ms == 250 and config.fill_model.volume_share == 0.1


# the day after Thanksgiving 2024 closes at 13:00; the next session is Monday's
HALF_DAY = pd.DatetimeIndex(
    [f"2024-11-29 {t}" for t in ("12:57", "12:58", "12:59")]
    + [f"2024-12-02 {t}" for t in ("09:30", "09:31")]
)


@pytest.mark.parametrize("preload", [True, False])
def test_an_order_sent_at_a_half_days_close_fills_at_the_next_open_as_at_the_venue(
    tmp_path: Path, preload: bool
) -> None:
    """Decided on a half day's last bar, a market order reaches the venue at 13:00, when the
    session is over: it is the next session's and fills at its open, as Backtrader and the
    venue fill it (before, the backtest took 16:00 for every close and let it expire)."""
    rows = VOLUME_ROWS[: len(HALF_DAY)]
    orders = {2: [("buy", "market", 10, None)]}
    got = backtest_fills(tmp_path, orders, rows=rows, index=HALF_DAY, preload=preload)
    assert [(f[0], f[1], f[2]) for f in got] == [("12-02 09:30", "buy", 10.0)]
    days = (dt.date(2024, 11, 29), dt.date(2024, 12, 2))
    assert got == venue_fills(orders, rows=rows, index=HALF_DAY, days=days)
    # one decided a bar earlier reaches it at 12:59, in its session, and fills at 12:59
    early = {1: [("buy", "market", 10, None)]}
    got = backtest_fills(tmp_path, early, rows=rows, index=HALF_DAY, preload=preload)
    assert [(f[0], f[2]) for f in got] == [("11-29 12:59", 10.0)]
    assert got == venue_fills(early, rows=rows, index=HALF_DAY, days=days)
