"""`RiskGuard` on plain intents and broker views: every limit rejects with its reason, exits that
reduce risk always pass, the daily counters roll, and the kill switch trips, persists across a
restart and is cleared only by a reset."""

from __future__ import annotations

import datetime as dt

import pytest

from parity.risk import (
    BrokerView,
    JsonRiskStateStore,
    MemoryRiskStateStore,
    OrderIntent,
    RiskGuard,
    RiskLimits,
)

T0 = dt.datetime(2013, 10, 4, 10, 0)


def guard(**options) -> RiskGuard:
    return RiskGuard(RiskLimits.from_mapping(options), MemoryRiskStateStore())


def buy(qty: float, symbol: str = "IBM", price: float = 100.0, when=T0) -> OrderIntent:
    return OrderIntent(symbol=symbol, side="buy", qty=qty, price=price, when=when)


def sell(qty: float, symbol: str = "IBM", price: float = 100.0, when=T0) -> OrderIntent:
    return OrderIntent(symbol=symbol, side="sell", qty=qty, price=price, when=when)


def view(equity: float = 100_000.0, **held: float) -> BrokerView:
    return BrokerView(equity=equity, positions=held, prices=dict.fromkeys(held, 100.0))


# the limit, a breaching entry, the view, the expected reason, an exit that must still pass
CASES = [
    (
        {"max_position_shares": "100"},
        buy(50),
        view(IBM=100),
        "risk: max position 100 shares for IBM (would be 150)",
        sell(60),
    ),
    (
        {"max_position_notional": "12000"},
        buy(50),
        view(IBM=100),
        "risk: max position notional 12,000.00 for IBM (would be 15,000.00)",
        sell(100),
    ),
    (
        {"max_gross_exposure": "50%"},
        buy(100, "AAPL"),
        view(IBM=450),
        "risk: max gross exposure 50% of equity (would be 55.0%)",
        sell(450),
    ),
    (
        {"max_gross_exposure": "50000"},
        buy(100, "AAPL"),
        view(IBM=450),
        "risk: max gross exposure 50,000.00 (would be 55,000.00)",
        sell(10),
    ),
    (
        {"max_open_positions": "2"},
        buy(1, "MSFT"),
        view(IBM=10, AAPL=10),
        "risk: max open positions 2 (would be 3)",
        sell(10, "AAPL"),
    ),
    (
        {"trading_hours": "10:30-15:55"},
        buy(1),
        view(IBM=10),
        "risk: outside trading hours 10:30-15:55 (bar 10:00)",
        sell(10),
    ),
]


@pytest.mark.parametrize(("options", "entry", "state", "reason", "exit_"), CASES)
def test_each_limit_rejects_entries_with_its_reason_and_lets_exits_through(
    options, entry, state, reason, exit_
):
    risk = guard(**options)
    assert risk.check(entry, state) == reason
    assert risk.events[-1][0] == "risk.rejected"
    assert risk.events[-1][1]["reason"] == reason
    assert risk.check(exit_, state) is None


def test_within_limits_passes():
    risk = guard(max_position_shares="100", max_open_positions="1", max_gross_exposure="100%")
    assert risk.check(buy(100), view()) is None
    assert risk.check(buy(50), view(IBM=50)) is None


def test_open_orders_count_toward_the_position():
    risk = guard(max_position_shares="100")
    pending = BrokerView(equity=1e5, positions={"IBM": 50}, pending={"IBM": (40.0, 0.0)})
    assert risk.check(buy(20), pending) == "risk: max position 100 shares for IBM (would be 110)"


def test_a_sell_that_flips_a_long_into_a_short_is_an_entry():
    risk = guard(max_position_shares="100")
    assert risk.check(sell(250), view(IBM=100)) is not None
    assert risk.check(buy(20), view(IBM=-100)) is None  # covering a short reduces risk


def test_max_orders_per_day_counts_every_order_blocks_only_entries_and_rolls_daily():
    risk = guard(max_orders_per_day="3")
    assert risk.check(buy(10), view()) is None
    assert risk.check(sell(10), view(IBM=10)) is None
    assert risk.check(buy(10), view()) is None
    assert risk.check(buy(10), view(IBM=10)) == "risk: max orders per day 3 (would be 4)"
    assert risk.check(sell(10), view(IBM=10)) is None  # an exit always passes
    next_day = T0 + dt.timedelta(days=1)
    assert risk.check(buy(10, when=next_day), view()) is None
    assert risk.state.orders_today == 1


def test_daily_loss_limit_halts_entries_for_the_rest_of_the_day():
    risk = guard(daily_loss_limit="2%")
    risk.on_bar(T0, 100_000.0)
    risk.on_bar(T0 + dt.timedelta(minutes=1), 97_900.0)
    assert [kind for kind, _ in risk.events] == ["risk.daily_loss"]
    reason = risk.check(buy(1, when=T0 + dt.timedelta(minutes=2)), view(97_900.0))
    assert reason is not None and reason.startswith("risk: daily loss limit hit (down 2,100.00")
    assert risk.check(sell(1, when=T0 + dt.timedelta(minutes=2)), view(97_900.0, IBM=5)) is None
    tomorrow = T0 + dt.timedelta(days=1)
    assert risk.check(buy(1, when=tomorrow), view(97_900.0)) is None
    assert risk.state.day_start_equity == 97_900.0


def test_daily_loss_amount():
    risk = guard(daily_loss_limit="5000")
    risk.on_bar(T0, 100_000.0)
    risk.on_bar(T0, 95_500.0)
    assert not risk.state.day_halt_reason
    risk.on_bar(T0, 95_000.0)
    assert risk.state.day_halt_reason


def test_drawdown_trips_the_kill_switch_which_persists_across_a_restart(tmp_path):
    store_path = tmp_path / "risk_state.json"
    limits = RiskLimits.from_mapping({"max_drawdown": "10%"})
    risk = RiskGuard(limits, JsonRiskStateStore(store_path))
    risk.on_bar(T0, 100_000.0)
    risk.on_bar(T0, 120_000.0)
    risk.on_bar(T0, 108_500.0)
    assert not risk.state.killed
    risk.on_bar(T0, 108_000.0)  # 10 % below the 120,000 peak
    assert risk.state.killed and "max drawdown 10% hit" in risk.state.kill_reason
    assert risk.events[-1][0] == "risk.kill_switch"
    assert risk.check(buy(1), view(108_000.0)).startswith("risk: kill switch on (max drawdown")
    assert risk.check(sell(1), view(108_000.0, IBM=5)) is None

    restarted = RiskGuard(limits, JsonRiskStateStore(store_path))  # a new process, same file
    later = T0 + dt.timedelta(days=3)
    restarted.on_bar(later, 130_000.0)  # a new day and a new high do not clear it
    assert restarted.state.killed
    assert restarted.check(buy(1, when=later), view(130_000.0)).startswith("risk: kill switch")


def test_the_kill_switch_trips_from_another_process_and_only_a_reset_clears_it(tmp_path):
    """The guard takes a halt and a reset from the file, never a stale copy clearing it."""
    path = tmp_path / "risk_state.json"
    risk = RiskGuard(RiskLimits(), JsonRiskStateStore(path))
    risk.on_bar(T0, 100_000.0)
    other = JsonRiskStateStore(path)  # `parity halt` in another process
    state = other.load()
    state.halt("halted by operator", "2013-10-04T10:00:00")
    other.save(state)
    assert risk.check(buy(1), view()) == (
        "risk: kill switch on (halted by operator); `parity risk reset` clears it"
    )
    assert ("risk.kill_switch", {"reason": "halted by operator", "source": "external"}) in (
        risk.events
    )
    stale = other.load()
    stale.killed = False  # a stale copy of the file is not a reset
    other.save(stale)
    assert risk.check(buy(1), view()) is not None
    state = other.load()
    state.reset()  # `parity risk reset`
    other.save(state)
    assert risk.check(buy(1), view()) is None
    assert [kind for kind, _ in risk.events][-2:] == ["risk.rejected", "risk.reset"]


def test_a_fresh_guard_ignores_an_old_state(tmp_path):
    path = tmp_path / "risk_state.json"
    store = JsonRiskStateStore(path)
    store.save(store.load().__class__(killed=True, kill_reason="old"))
    risk = RiskGuard(RiskLimits(), store, fresh=True)
    assert not risk.state.killed
    assert not JsonRiskStateStore(path).load().killed


def test_injected_emit_receives_events():
    seen: list[tuple[str, dict]] = []
    risk = RiskGuard(
        RiskLimits(max_position_shares=1),
        MemoryRiskStateStore(),
        emit=lambda kind, payload: seen.append((kind, payload)),
    )
    risk.check(buy(5), view())
    assert seen[0][0] == "risk.rejected" and seen[0][1]["symbol"] == "IBM"
