"""Alert rules on journal rows: each threshold from both sides."""

from __future__ import annotations

import datetime as dt

import pytest

from parity.alerts.config import AlertConfig
from parity.alerts.rules import Rules

DAY1 = dt.datetime(2013, 10, 7, 9, 31)
DAY2 = dt.datetime(2013, 10, 8, 9, 31)
T0 = dt.datetime(2026, 1, 5, 15, 0)


def rules(**kwargs) -> Rules:
    return Rules(AlertConfig(**kwargs))


def feed(r: Rules, rows) -> list:
    out = []
    for at, value in rows:
        out += r.on_equity(at, value)
    return out


@pytest.mark.parametrize(("value", "fires"), [(95_100.0, False), (94_900.0, True)])
def test_daily_loss_against_the_days_first_equity(value, fires):
    r = rules(daily_loss_pct=5.0, drawdown_pct=50.0)
    alerts = feed(r, [(DAY1, 100_000.0), (DAY1 + dt.timedelta(minutes=1), value)])
    assert [a.rule for a in alerts] == (["daily_loss"] if fires else [])
    if fires:
        assert alerts[0].key == "daily_loss:2013-10-07"
        assert alerts[0].severity == "critical"
        assert alerts[0].value == pytest.approx(5.1)
        assert alerts[0].threshold == 5.0


def test_daily_loss_is_measured_from_the_previous_days_close_and_fires_once_a_day():
    r = rules(daily_loss_pct=5.0, drawdown_pct=50.0)
    rows = [(DAY1, 100_000.0), (DAY1 + dt.timedelta(hours=6), 110_000.0)]
    assert feed(r, rows) == []
    # day 2 opens at 104,600: 4.9% below the close (110,000) -> not yet
    assert feed(r, [(DAY2, 104_600.0)]) == []
    # 104,400 is 5.09% below the previous close: fires, and only once that day
    later = [(DAY2 + dt.timedelta(minutes=m), 104_400.0 - m) for m in (1, 2, 3)]
    alerts = feed(r, later)
    assert [a.key for a in alerts] == ["daily_loss:2013-10-08"]


@pytest.mark.parametrize(("value", "fires"), [(85_100.0, False), (84_900.0, True)])
def test_drawdown_from_peak(value, fires):
    r = rules(drawdown_pct=15.0, daily_loss_pct=99.0)
    alerts = feed(r, [(DAY1, 90_000.0), (DAY1, 100_000.0), (DAY2, value)])
    assert [a.rule for a in alerts] == (["drawdown"] if fires else [])


def test_drawdown_rearms_after_recovering():
    r = rules(drawdown_pct=10.0, daily_loss_pct=99.0)
    rows = [(DAY1, 100.0), (DAY1, 89.0), (DAY1, 88.0), (DAY1, 95.0), (DAY1, 89.5)]
    assert [a.rule for a in feed(r, rows)] == ["drawdown", "drawdown"]


def test_divergence_only_when_a_threshold_is_crossed():
    r = rules()
    assert r.on_event("divergence", {"event": "session_divergence", "status": "WARN"}, T0) == []
    warn = r.on_event(
        "divergence",
        {"event": "divergence_threshold_crossed", "status": "WARN", "session": "2013-10-07",
         "reasons": ["fill price gap 3 bps > 2 bps"]},
        T0,
    )  # fmt: skip
    fail = r.on_event("divergence", {"event": "divergence_threshold_crossed", "status": "FAIL"}, T0)
    assert (warn[0].severity, fail[0].severity) == ("warning", "critical")
    assert "fill price gap" in warn[0].message and warn[0].key == "divergence:WARN"


def test_feed_stale_but_not_live_or_delayed():
    r = rules(stale_bars=4)
    assert r.on_event("feed", {"symbol": "IBM", "state": "live"}, T0) == []
    assert r.on_event("feed", {"symbol": "IBM", "state": "delayed"}, T0) == []
    (alert,) = r.on_event("feed", {"symbol": "IBM", "state": "stale"}, T0)
    assert (alert.key, alert.symbol, alert.threshold) == ("feed_stale:IBM", "IBM", 4.0)
    assert "4 bar interval" in alert.message


def _stream(state: str, reason: str = "") -> dict:
    return {"stream": "data", "state": state, "reason": reason}


def test_stream_disconnect_within_grace_is_quiet():
    r = rules(disconnect_grace_s=60)
    assert r.on_event("stream", _stream("disconnected", "no close frame"), T0) == []
    assert r.tick(T0 + dt.timedelta(seconds=59)) == []
    assert r.on_event("stream", _stream("connected"), T0 + dt.timedelta(seconds=59)) == []
    assert r.tick(T0 + dt.timedelta(seconds=600)) == []


def test_stream_disconnect_beyond_grace_fires_on_the_wall_clock_while_still_down():
    r = rules(disconnect_grace_s=60)
    r.on_event("stream", _stream("disconnected", "no close frame"), T0)
    (alert,) = r.tick(T0 + dt.timedelta(seconds=61))
    assert alert.rule == "stream_disconnected" and "no close frame" in alert.message
    assert alert.value == pytest.approx(61.0) and alert.threshold == 60
    assert r.tick(T0 + dt.timedelta(seconds=300)) == []  # once per disconnect
    (back,) = r.on_event("stream", _stream("connected"), T0 + dt.timedelta(seconds=310))
    assert (back.rule, back.severity) == ("stream_reconnected", "info")


def test_stream_down_beyond_grace_between_polls_still_alerts():
    r = rules(disconnect_grace_s=60)
    r.on_event("stream", _stream("disconnected", "reset"), T0)
    (alert,) = r.on_event("stream", _stream("connected"), T0 + dt.timedelta(seconds=90))
    assert alert.rule == "stream_disconnected" and "was disconnected for 90 s" in alert.message


def test_initial_connection_is_not_an_alert():
    assert rules().on_event("stream", _stream("connected", "connected"), T0) == []


def test_order_rejected_once_per_order_with_its_reason():
    r = rules()
    (alert,) = r.on_order_event("run-000003", "rejected", "insufficient buying power", "IBM")
    assert r.on_order_event("run-000003", "rejected", "insufficient buying power", "IBM") == []
    assert r.on_order_event("run-000004", "accepted", None, "IBM") == []
    assert alert.symbol == "IBM" and "insufficient buying power" in alert.message
    assert alert.key == "order_rejected:IBM:insufficient buying power"
    # a risk limit's rejection is the risk rule's alert, not a second one
    assert r.on_order_event("run-000005", "rejected", "risk: kill switch on", "IBM") == []


def test_risk_events():
    r = rules()
    (kill,) = r.on_event("risk", {"event": "risk.kill_switch", "reason": "drawdown 16%"}, T0)
    assert (kill.severity, kill.key) == ("critical", "risk.kill_switch")
    assert kill.message == "drawdown 16%"
    (blocked,) = r.on_event(
        "risk", {"event": "risk.rejected", "reason": "risk: max position", "symbol": "IBM"}, T0
    )
    assert (blocked.severity, blocked.key) == ("warning", "risk.rejected:IBM")
    assert r.on_event("risk", {"event": "risk.flatten", "reason": "closing"}, T0) == []


@pytest.mark.parametrize(
    ("previous", "fires"), [("running", True), ("crashed", True), ("finished", False)]
)
def test_restart_after_a_crash(previous, fires):
    alerts = rules().on_event("resumed", {"previous_status": previous, "previous_pid": 42}, T0)
    assert len(alerts) == int(fires)
    if fires:
        assert "42" in alerts[0].message


def test_unhandled_error():
    (alert,) = rules().on_event("error", {"type": "BrokerError", "message": "venue down"}, T0)
    assert alert.severity == "critical" and "venue down" in alert.message


def test_unknown_kinds_are_ignored():
    assert rules().on_event("operator", {"command": "halt"}, T0) == []
