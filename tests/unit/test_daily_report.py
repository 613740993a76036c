"""Daily and weekly reports computed from a small hand-made journal (a real SQLite file written
through `Journal`), checked against independent numpy/pandas calculations."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

from parity.errors import ConfigError, ReportError
from parity.journal import BarRecord, EquityRecord, Journal, JournalReader, run_journal_target
from parity.reports.daily import daily_report, parse_day
from parity.reports.render import render, to_html, to_json, to_text
from parity.reports.weekly import parse_week, weekly_report
from parity.runners.daily import daily_report_checker, open_inputs, read_inputs

RUN = "run-1"
CASH = 10_000.0
DAYS = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
HOURS = (10, 11, 12, 13)
# equity per bar (value) for each day; cash is set from the fills below
VALUES = {
    DAYS[0]: [10_000.0, 10_020.0, 10_050.0, 10_040.0],
    DAYS[1]: [10_060.0, 9_780.0, 9_900.0, 10_070.0],
    DAYS[2]: [10_050.0, 9_990.0, 10_010.0, 10_030.0],
}
CLOSES = {"AAA": [100, 101, 102, 103], "BBB": [200, 199, 198, 197]}
# (day index, hour, symbol, side, qty, price, commission)
FILLS = [
    (0, 10, "AAA", "buy", 10, 100.0, 1.0),
    (1, 11, "AAA", "sell", 10, 110.0, 1.0),
    (1, 12, "BBB", "buy", 5, 200.0, 1.0),
    (2, 10, "BBB", "sell", 5, 190.0, 1.0),
    (2, 12, "AAA", "buy", 10, 105.0, 1.0),
]
RISK = {
    "daily_loss_limit": "3%",
    "max_drawdown": "10%",
    "max_open_positions": 2,
    "max_orders_per_day": 2,
}
T0 = dt.datetime(2021, 6, 1, 15, 0)  # wall clock (UTC) of the first bar's arrival


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(DAYS[day], dt.time(hour))


def received(day: int, hour: int) -> dt.datetime:
    """Bars arrive an hour of wall clock apart, in order (a replay far from the bars' dates)."""
    return T0 + dt.timedelta(hours=day * len(HOURS) + HOURS.index(hour))


def write_journal(run_dir: Path, *, manifest: dict | None = None) -> Journal:
    journal = Journal.open(run_journal_target(run_dir), create=True)
    journal.start_run(
        RUN,
        manifest
        or {
            "mode": "paper",
            "venue": "local",
            "strategy": {"name": "hand"},
            "symbols": ["AAA", "BBB"],
            "timeframe": "1Hour",
            "starting_cash": CASH,
            "config": {"risk": RISK},
        },
        "paper",
        "local",
    )
    seq = 0
    for d, day in enumerate(DAYS):
        for h, hour in enumerate(HOURS):
            for symbol, closes in CLOSES.items():
                close = closes[h] + d
                journal.bars(
                    [
                        BarRecord(
                            symbol,
                            at(d, hour),
                            close,
                            close,
                            close,
                            close,
                            100.0,
                            "stream",
                            received(d, hour),
                        )
                    ]
                )
            for fd, fh, symbol, side, qty, price, fee in FILLS:
                if (fd, fh) == (d, hour):
                    seq += 1
                    cid = f"{RUN}-{seq:06d}"
                    journal.intent(
                        cid,
                        seq=seq,
                        symbol=symbol,
                        side=side,
                        qty=qty,
                        type="market",
                        decided_at=at(d, hour),
                    )
                    journal.fill(
                        cid,
                        order_seq=seq,
                        symbol=symbol,
                        side=side,
                        cum_qty=qty,
                        qty=qty,
                        price=price,
                        commission=fee,
                        at=at(d, hour),
                        bar=d * len(HOURS) + h,
                    )
            value = VALUES[day][h]
            journal.equity([EquityRecord(d * len(HOURS) + h, at(d, hour), value, value * 0.5)])
    journal.flush()
    return journal


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / RUN
    journal = write_journal(run_dir)
    # alerts: two of one key on day 2 (one suppressed), one on day 1; placed by arrival time
    alert = {
        "rule": "daily_loss",
        "key": "daily_loss:run-1",
        "title": "Daily loss <b>2.6%</b>",
        "message": "down <script>alert(1)</script>",
        "symbol": None,
        "value": -0.026,
        "threshold": -0.02,
        "suppressed": False,
        "sinks": ["log"],
    }
    journal.event("alert", alert, level="warning", at=received(1, 11) + dt.timedelta(minutes=5))
    journal.event(
        "alert",
        {**alert, "suppressed": True},
        level="critical",
        at=received(1, 12) + dt.timedelta(minutes=5),
    )
    journal.event(
        "alert",
        {**alert, "key": "feed", "rule": "feed_stale", "title": "feed"},
        level="info",
        at=received(0, 12),
    )
    journal.event(
        "divergence",
        {
            "event": "divergence",
            "session": "2024-01-03",
            "status": "WARN",
            "correlation": 0.7,
            "final_equity_gap": -12.5,
            "pnl_gap": -12.5,
            "ledger": {"matched": 2},
        },
        at=T0 + dt.timedelta(days=1),
    )
    journal.event(
        "divergence",
        {
            "event": "divergence_threshold_crossed",
            "session": "2024-01-03",
            "status": "WARN",
            "reasons": ["correlation 0.70 < 0.8"],
        },
        level="warning",
        at=T0 + dt.timedelta(days=1),
    )
    journal.close()
    return run_dir


# ------------------------------------------------------------------------------ independent


def day_close(day: dt.date) -> float:
    return VALUES[day][-1]


def prev_close(day: dt.date) -> float:
    i = DAYS.index(day)
    return CASH if i == 0 else day_close(DAYS[i - 1])


def test_portfolio_at_the_end_of_the_day(run_dir: Path) -> None:
    report = daily_report(open_inputs(run_dir), DAYS[2])
    port = report.portfolio
    assert port["equity"] == VALUES[DAYS[2]][-1] and port["cash"] == VALUES[DAYS[2]][-1] * 0.5
    assert port["total_return"] == pytest.approx(VALUES[DAYS[2]][-1] / CASH - 1)
    (aaa,) = port["positions"]  # BBB went back to flat
    last = CLOSES["AAA"][-1] + 2
    assert aaa == {
        "symbol": "AAA",
        "qty": 10,
        "avg_price": 105.0,
        "last_price": last,
        "market_value": 10 * last,
        "unrealized_pnl": pytest.approx((last - 105) * 10),
    }
    assert report.period == {
        "label": "2024-01-04",
        "start": "2024-01-04",
        "end": "2024-01-04",
        "dates": ["2024-01-04"],
    }


def test_the_days_pnl_trades_best_and_worst(run_dir: Path) -> None:
    inputs = open_inputs(run_dir)
    for day in DAYS:
        report = daily_report(inputs, day)
        assert report.pnl["pnl"] == pytest.approx(day_close(day) - prev_close(day))
        assert report.pnl["return"] == pytest.approx(day_close(day) / prev_close(day) - 1)
        assert report.trades["fill_count"] == sum(1 for f in FILLS if DAYS[f[0]] == day)
    day2 = daily_report(inputs, DAYS[1]).trades
    (closed,) = day2["closed"]
    assert closed["symbol"] == "AAA" and closed["pnl_net"] == pytest.approx(10 * 10 - 2)
    assert day2["best"] == day2["worst"] == closed
    day3 = daily_report(inputs, DAYS[2]).trades
    assert day3["closed"][0]["pnl_net"] == pytest.approx(-5 * 10 - 2)
    day1 = daily_report(inputs, DAYS[0])
    assert day1.trades["closed"] == [] and day1.trades["best"] is None
    assert "none (no closed trades in the period)" in to_text(day1)


def test_performance_to_date_matches_an_independent_calculation(run_dir: Path) -> None:
    perf = daily_report(open_inputs(run_dir), DAYS[2]).performance
    closes = np.array([day_close(d) for d in DAYS])
    returns = closes / np.concatenate([[CASH], closes[:-1]]) - 1
    assert perf["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252))
    curve = np.concatenate([[CASH], closes])
    assert perf["max_drawdown"] == pytest.approx((curve / np.maximum.accumulate(curve)).min() - 1)
    pnls = np.array([98.0, -52.0])
    assert perf["trades"] == 2 and perf["win_rate"] == 0.5
    assert perf["profit_factor"] == pytest.approx(pnls[pnls > 0].sum() / -pnls[pnls < 0].sum())
    assert perf["total_return"] == pytest.approx(closes[-1] / CASH - 1)
    # as of day 2 there is one winner and no loser: profit factor null with a flag, not a cap
    early = json.loads(to_json(daily_report(open_inputs(run_dir), DAYS[1])))["performance"]
    assert early["profit_factor"] is None
    assert early["flags"]["profit_factor"] == "no_losing_trades"


def test_limits_near_breach_and_alerts_are_action_items(run_dir: Path) -> None:
    report = daily_report(open_inputs(run_dir), DAYS[1])
    limits = {item["limit"]: item for item in report.limits}
    start = prev_close(DAYS[1])
    loss = start - min(VALUES[DAYS[1]])
    assert limits["daily_loss"]["value"] == pytest.approx(loss)
    assert limits["daily_loss"]["usage"] == pytest.approx(loss / (0.03 * start))
    assert limits["daily_loss"]["near"] and not limits["daily_loss"]["breached"]  # 86 %
    assert limits["orders_per_day"]["value"] == 2 and limits["orders_per_day"]["breached"]
    assert limits["open_positions"]["value"] == 1 and not limits["open_positions"]["near"]
    peak = np.maximum.accumulate(np.concatenate([[CASH], *[VALUES[d] for d in DAYS[:2]]]))
    values = np.concatenate([[CASH], *[VALUES[d] for d in DAYS[:2]]])
    drawdown = (1 - values / peak)[-len(HOURS) :].max()
    assert limits["max_drawdown"]["value"] == pytest.approx(drawdown)
    kinds = [(a["severity"], a["kind"]) for a in report.actions]
    assert ("critical", "risk_limit") in kinds and ("warning", "risk_limit") in kinds
    # the two day-2 alerts (one key) are one item, at their worst level; day 1's is not here
    alerts = [a for a in report.actions if a["kind"] == "alert"]
    assert len(alerts) == 1 and alerts[0]["severity"] == "critical"
    assert "(2 alerts)" in alerts[0]["message"]
    assert [a["date"] for a in report.alerts] == ["2024-01-03", "2024-01-03"]
    assert [a["rule"] for a in daily_report(open_inputs(run_dir), DAYS[0]).alerts] == ["feed_stale"]
    assert [severity for severity, _ in kinds] == sorted(
        (s for s, _ in kinds), key=("critical", "warning", "info").index
    )


def test_kill_switch_from_the_risk_state(run_dir: Path) -> None:
    from parity.risk.state import JsonRiskStateStore, RiskState

    JsonRiskStateStore.in_run(run_dir).save(
        RiskState(killed=True, kill_reason="max drawdown 10% hit", killed_at="2024-01-03T11:00:00")
    )
    inputs = open_inputs(run_dir)
    assert any(a["kind"] == "kill_switch" for a in daily_report(inputs, DAYS[2]).actions)
    assert not any(a["kind"] == "kill_switch" for a in daily_report(inputs, DAYS[0]).actions)


def test_divergence_from_the_journal_then_from_compare(run_dir: Path) -> None:
    inputs = open_inputs(run_dir)
    assert daily_report(inputs, DAYS[0]).divergence["checked"] is False  # before any check
    assert "not checked" in to_text(daily_report(inputs, DAYS[0]))
    div = daily_report(inputs, DAYS[2]).divergence
    assert (div["source"], div["session"], div["status"]) == ("journal", "2024-01-03", "WARN")
    assert div["reasons"] == ["correlation 0.70 < 0.8"] and div["pnl_gap"] == -12.5
    assert any(a["kind"] == "divergence" for a in daily_report(inputs, DAYS[2]).actions)
    figures = {
        "verdict": {"status": "PASS", "reasons": []},
        "curves": {"per_bar": {"correlation": 0.99}, "final_equity": {"gap": 1.5}},
        "waterfall": {"total": 1.5},
        "ledger": {"counts": {"matched": 2}},
    }
    (run_dir / "divergence.json").write_text(json.dumps(figures))  # newer than the journal's
    div = daily_report(open_inputs(run_dir), DAYS[2]).divergence
    assert (div["source"], div["status"], div["correlation"]) == ("compare", "PASS", 0.99)
    assert div["path"].endswith("divergence.json")


def test_renderers(run_dir: Path) -> None:
    report = daily_report(open_inputs(run_dir), DAYS[1])
    data = json.loads(to_json(report))
    assert list(data) == [
        "schema",
        "kind",
        "generated_at",
        "run",
        "period",
        "portfolio",
        "pnl",
        "trades",
        "performance",
        "divergence",
        "limits",
        "actions",
        "alerts",
        "options",
        "days",
        "equity_curve",
    ]
    assert data["options"] == {}  # a run without options
    assert isinstance(data["pnl"]["pnl"], float) and isinstance(data["trades"]["fill_count"], int)
    page = to_html(report)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>2.6%</b>" not in page and "http" not in page.replace("http://www.w3.org", "")
    text = to_text(report)
    assert "Daily report 2024-01-03" in text and "Action items" in text and "[critical]" in text
    assert render(report, "text") == text


def test_weekly_report_per_day_rows_and_chart(run_dir: Path) -> None:
    inputs = open_inputs(run_dir)
    report = weekly_report(inputs)  # default: the week of the last bar
    assert report.period["label"] == "2024-W01" and report.period["dates"] == [
        d.isoformat() for d in DAYS
    ]
    assert [d["pnl"] for d in report.days] == pytest.approx(
        [day_close(d) - prev_close(d) for d in DAYS]
    )
    assert [d["trades"] for d in report.days] == [0, 1, 1]
    assert report.pnl["pnl"] == pytest.approx(day_close(DAYS[-1]) - CASH)
    assert len(report.equity_curve) == len(DAYS) * len(HOURS)
    assert {a["rule"] for a in report.alerts} == {"daily_loss", "feed_stale"}
    page = to_html(report)
    assert "<svg" in page and "polyline" in page and page.count("<tr>") >= 3 + len(DAYS)
    for day in DAYS:
        assert day.isoformat() in page
    assert "Equity  " in to_text(report)
    assert weekly_report(inputs, (2024, 1)).period == report.period
    assert weekly_report(inputs, day=DAYS[0]).period == report.period
    with pytest.raises(ReportError, match=r"no bars in week 2024-W05.*2024-W01"):
        weekly_report(inputs, (2024, 5))


def test_bad_input(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no bars on 2024-01-06; pick a date from 2024-01-02"):
        daily_report(open_inputs(run_dir), dt.date(2024, 1, 6))
    with pytest.raises(ConfigError, match="--date '2024-13-01' is not a date"):
        parse_day("2024-13-01")
    for bad in ("2024-W54", "2024-13", "W01"):
        with pytest.raises(ConfigError, match="not an ISO week"):
            parse_week(bad)
    assert parse_week("2013-W41") == (2013, 41)
    empty = tmp_path / "empty"
    journal = Journal.open(run_journal_target(empty), create=True)
    journal.start_run("empty", {"mode": "paper", "starting_cash": CASH}, "paper", "local")
    journal.close()
    with pytest.raises(ReportError, match="no bars yet"):
        daily_report(open_inputs(empty))


class Sink:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail

    def send_report(self, title: str, body: str) -> None:
        if self.fail:
            raise ConnectionError("smtp down")
        self.sent.append((title, body))


def test_checker_writes_journals_and_sends_and_never_raises(tmp_path: Path) -> None:
    run_dir = tmp_path / RUN
    journal = write_journal(run_dir)
    said: list[str] = []
    sink = Sink()
    check = daily_report_checker(
        journal=journal, run_id=RUN, run_dir=run_dir, notify=said.append, sender=sink
    )
    check(DAYS[0])
    for suffix in ("txt", "json", "html"):
        assert (run_dir / "reports" / f"daily-2024-01-02.{suffix}").is_file()
    saved = json.loads((run_dir / "reports" / "daily-2024-01-02.json").read_text())
    assert saved["pnl"]["pnl"] == pytest.approx(day_close(DAYS[0]) - CASH)
    assert len(sink.sent) == 1 and "2024-01-02" in sink.sent[0][0]
    assert sink.sent[0][1] == (run_dir / "reports" / "daily-2024-01-02.txt").read_text()
    daily_report_checker(
        journal=journal, run_id=RUN, run_dir=run_dir, notify=said.append, sender=Sink(fail=True)
    )(DAYS[1])
    check(dt.date(2024, 2, 1))  # no bars that day: a warning, no exception
    events = journal.reader.events(RUN, kind="daily_report")
    payloads, levels = list(events["payload"]), list(events["level"])
    assert [p["date"] for p in payloads] == ["2024-01-02", "2024-01-03", "2024-02-01"]
    assert [p["sent"] for p in payloads] == [True, False, False]
    assert levels == ["info", "warning", "warning"]
    assert set(payloads[0]["paths"]) == {"text", "json", "html"}
    assert "smtp down" in payloads[1]["send_error"] and "no bars on" in payloads[2]["error"]
    assert any("not sent" in s for s in said) and any("failed" in s for s in said)
    journal.close()


def test_events_without_a_tape_use_their_new_york_date(tmp_path: Path) -> None:
    import pandas as pd

    from parity.reports.periodic import session_dates

    events = pd.DataFrame(
        {
            "payload": [{}, {"session": "2024-01-03"}, {"when": "2024-01-04 10:00:00"}],
            "at": [dt.datetime(2024, 1, 3, 3, 0), dt.datetime(2024, 1, 9), dt.datetime(2024, 1, 9)],
        }
    )
    assert session_dates(events, None) == [
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 3),
        dt.date(2024, 1, 4),
    ]


def test_a_reader_beside_a_live_writer(run_dir: Path) -> None:
    """A report reads a run whose journal is still open for writing (a live paper run)."""
    journal = Journal.open(run_journal_target(run_dir), create=False)
    journal.resume_run(RUN)
    journal.equity([EquityRecord(99, at(2, 13) + dt.timedelta(minutes=30), 10_500.0, 5_000.0)])
    journal.flush()
    reader = JournalReader.open(run_journal_target(run_dir))
    try:
        report = daily_report(read_inputs(reader, RUN, run_dir))
    finally:
        reader.close()
        journal.close()
    assert report.portfolio["equity"] == 10_500.0 and report.run["status"] == "running"


def test_text_tables_keep_the_latest_rows_and_say_how_many_are_left_out():
    from parity.reports.render import TEXT_ROWS, _last_rows

    rows = [[str(i), "IBM"] for i in range(TEXT_ROWS + 7)]
    lines = _last_rows(["n", "symbol"], rows, "fills")
    assert lines[0].strip() == "(7 earlier fills in the JSON and HTML forms)"
    body = lines[1].splitlines()
    assert body[-1].split()[0] == str(TEXT_ROWS + 6) and len(body) == TEXT_ROWS + 1
    assert len(_last_rows(["n", "symbol"], rows[:3], "fills")) == 1
