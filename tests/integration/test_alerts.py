"""Alerts delivered for real: a local SMTP server (aiosmtpd) and a local HTTP webhook receiver on
loopback, paper runs on the local venue that raise alerts, sinks that fail or hang, a flapping
feed, and the engine reading a journal another process writes."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from venue_support import free_port

from parity.alerts import AlertConfig, AlertDispatcher, AlertEngine, Cursor, Delivery, Rules
from parity.cli import cli
from parity.feeds.sample import sample_path
from parity.journal import Journal, run_journal_target
from parity.journal.reader import JournalReader
from parity.runners.paper import PaperConfig, run_paper
from parity.venues.local.session import LocalVenueSession

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.timeout(120),
]

DAY = ["--from", "2013-10-07", "--to", "2013-10-07"]


# ---------------------------------------------------------------------- local servers


class Webhook:
    """An HTTP server keeping every POSTed JSON body; the first `failures` POSTs get a 502."""

    def __init__(self, failures: int = 0) -> None:
        received: list[dict] = []
        self.received = received
        self.attempts = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                outer.attempts += 1
                if outer.attempts <= failures:
                    self.send_response(502)
                else:
                    received.append({"path": self.path, **body})
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp() -> Iterator[tuple[str, list]]:
    from aiosmtpd.controller import Controller

    messages: list = []

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):
            messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 Message accepted for delivery"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    url = f"mailto://127.0.0.1:{port}?from=parity@example.com&to=ops@example.com&mode=insecure"
    yield url, messages
    controller.stop()


@pytest.fixture
def hanging() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield f"json://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    for conn in held:
        conn.close()
    server.close()


def events(run_dir: Path, kind: str) -> pd.DataFrame:
    reader = JournalReader.open(run_journal_target(run_dir))
    try:
        return reader.events(run_dir.name, kind=kind)
    finally:
        reader.close()


# ---------------------------------------------------------------------- delivery


def test_email_reaches_a_local_smtp_server(smtp):
    url, messages = smtp
    (outcome,) = Delivery([url]).send_now("[parity] drawdown 16%", "equity 84,000 below peak")
    assert outcome.ok, outcome.reason
    ((mail_from, rcpt, content),) = messages
    mail = message_from_bytes(content)
    assert mail_from == "parity@example.com" and rcpt == ["ops@example.com"]
    assert mail["Subject"] == "[parity] drawdown 16%"
    body = (mail.get_payload(0) if mail.is_multipart() else mail).get_payload(decode=True)
    assert b"equity 84,000 below peak" in body


def test_alerts_test_command_delivers_to_every_sink(smtp, webhook):
    url, messages = smtp
    result = CliRunner().invoke(cli, ["alerts", "test", "--alert-url", url], env={
        "PARITY_ALERT_URLS": webhook.url})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count(": sent") == 2
    assert len(messages) == 1
    (posted,) = webhook.wait(1)
    assert posted["title"] == "[parity] test alert" and "parity alerts test" in posted["message"]


def test_alerts_test_command_fails_in_one_line_when_delivery_fails():
    closed = f"json://127.0.0.1:{free_port()}/hook"
    result = CliRunner().invoke(cli, ["alerts", "test", "--alert-url", closed])
    assert result.exit_code == 9
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "alert delivery failed for json://127.0.0.1" in lines[0]
    assert "Connection error" in lines[0]


def test_alerts_test_command_without_sinks():
    result = CliRunner().invoke(cli, ["alerts", "test"], env={"PARITY_ALERT_URLS": ""})
    assert result.exit_code == 2 and "no alert sink" in result.output


def test_a_bad_alert_flag_stops_run_paper_before_anything_starts(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["run", "paper", "--venue", "local", "--slippage", "0", "--symbols", "IBM", *DAY,
         "--alert-drawdown", "lots", "--runs-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "alerts drawdown 'lots' (--alert-drawdown) must be a percent" in result.output
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------- paper runs


def test_paper_run_alerts_end_to_end(tmp_path, webhook):
    """A tight risk limit blocks every entry and a tiny drawdown threshold trips: the alerts are
    journaled and arrive at the webhook; the URL itself is never journaled."""
    url = webhook.url + "?token=s3cret"
    result = CliRunner().invoke(
        cli,
        ["run", "paper", "sma_cross", "--venue", "local", "--data", "sample:minute",
         "--slippage", "0", "--symbols", "IBM", *DAY, "-p", "fast=5", "-p", "slow=20",
         "--max-orders-per-day", "3", "--alert-url", url, "--alert-drawdown", "0.05%",
         "--runs-dir", str(tmp_path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.output.splitlines()[-1])["run_dir"])
    alerts = events(run_dir, "alert")
    rules = [p["rule"] for p in alerts["payload"]]
    assert "risk" in rules and "drawdown" in rules
    risk = events(run_dir, "risk")
    assert len(risk) > 0 and {p["event"] for p in risk["payload"]} == {"risk.rejected"}
    assert set(risk["level"]) == {"warning"}
    sent = [p for p in alerts["payload"] if not p["suppressed"]]
    posted = webhook.wait(len(sent))
    assert len(posted) == len(sent)  # no more, no fewer
    assert any("order blocked by a risk limit" in p["title"] for p in posted)
    assert any("drawdown" in p["title"] and "below its peak" in p["message"] for p in posted)
    assert all(p["path"] == "/hook" for p in posted)
    # the secret is in no journal row and in no artifact
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert b"s3cret" not in path.read_bytes(), path
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["alerts"]["drawdown_pct"] == 0.05
    assert manifest["config"]["alerts"]["sinks"] == [webhook.url]
    listed = CliRunner().invoke(
        cli, ["alerts", "list", run_dir.name, "--runs-dir", str(tmp_path), "--json"]
    )
    assert listed.exit_code == 0
    assert len(json.loads(listed.output)["alerts"]) == len(alerts)
    text = CliRunner().invoke(cli, ["alerts", "list", run_dir.name, "--runs-dir", str(tmp_path)])
    assert f"{len(alerts)} alert(s), {len(sent)} sent" in text.output
    status = CliRunner().invoke(cli, ["status", run_dir.name, "--runs-dir", str(tmp_path)])
    assert status.exit_code == 0, status.output
    assert f"alerts     {len(alerts)}, latest 5:" in status.output
    newest = alerts["payload"].iloc[-1]["title"]
    assert newest in status.output.split("alerts     ")[1].splitlines()[1]
    assert f"log        {run_dir / 'logs' / 'parity.log'}" in status.output
    assert "report     " in status.output and "daily-2013-10-07.txt" in status.output


def _paper(tmp_path: Path, name: str, urls: tuple[str, ...]) -> tuple[float, Path]:
    config = PaperConfig(
        slippage="0",
        strategy="sma_cross",
        params={"fast": "5", "slow": "20"},
        symbols=("IBM",),
        venue="local",
        start=dt.date(2013, 10, 7),
        end=dt.date(2013, 10, 7),
        runs_dir=tmp_path / name,
        alerts=AlertConfig(urls=urls, drawdown_pct=0.02, daily_loss_pct=0.02),
    )
    started = time.monotonic()
    result = run_paper(config)
    return time.monotonic() - started, result.run_dir


def test_failing_and_hanging_sinks_neither_stop_nor_slow_the_run(tmp_path, hanging, caplog):
    baseline, _ = _paper(tmp_path, "baseline", ())
    closed = f"json://127.0.0.1:{free_port()}/hook"
    elapsed, run_dir = _paper(tmp_path, "failing", (closed, hanging))
    reader = JournalReader.open(run_journal_target(run_dir))
    assert reader.run(run_dir.name).status == "finished"
    reader.close()
    alerts = events(run_dir, "alert")
    assert "drawdown" in {p["rule"] for p in alerts["payload"]}
    # the hanging sink costs at most the bounded wait at the end (5 s), never the trading
    assert elapsed < baseline + 6.0, (elapsed, baseline)
    for url in (closed, hanging):
        assert f"alert sink {url} failed: " in caplog.text


FLAPPING = """
import backtrader as bt

class Idle(bt.Strategy):
    def next(self):
        pass
"""


class QuickStale(LocalVenueSession):
    """The local venue, timed (not lock-step): quiet long enough between bars to go stale."""

    def feed(self, symbol, config, on_bar, finished, on_state=None):  # type: ignore[no-untyped-def]
        feed = super().feed(symbol, config, on_bar, finished, on_state)
        feed.p.stale_after = 0.15
        feed.p.qcheck = 0.05  # look for staleness often
        feed.p.market_open = lambda: True
        return feed


def test_a_flapping_feed_sends_one_message(tmp_path, webhook):
    (tmp_path / "idle.py").write_text(FLAPPING)
    bars = pd.read_csv(sample_path("IBM", "minute"), parse_dates=["datetime"])
    times = bars["datetime"]
    window = bars[(times >= "2013-10-07 09:30") & (times < "2013-10-07 09:38")]
    window.to_csv(tmp_path / "IBM.csv", index=False)
    config = PaperConfig(
        slippage="0",
        strategy=f"{tmp_path / 'idle.py'}:Idle",
        symbols=("IBM",),
        venue="local",
        data=str(tmp_path / "IBM.csv"),
        speed=120.0,  # a minute bar every half second
        runs_dir=tmp_path,
        alerts=AlertConfig(urls=(webhook.url,)),
    )
    result = run_paper(config, session=QuickStale(config, lambda _m: None))
    stale = [p for p in events(result.run_dir, "feed")["payload"] if p["state"] == "stale"]
    assert len(stale) >= 4  # it flapped
    alerts = [p for p in events(result.run_dir, "alert")["payload"] if p["rule"] == "feed_stale"]
    assert len(alerts) == len(stale)
    assert [a["suppressed"] for a in alerts].count(False) == 1
    time.sleep(0.3)
    posted = [p for p in webhook.received if "feed stale" in p["title"]]
    assert len(posted) == 1 and "IBM" in posted[0]["message"]


CRASH = """
import backtrader as bt

class Crash(bt.Strategy):
    def next(self):
        if len(self) == 3:
            raise ValueError("boom at bar 3")
"""


def test_an_unhandled_error_is_journaled_and_alerted_before_the_process_ends(tmp_path, webhook):
    (tmp_path / "crash.py").write_text(CRASH)
    config = PaperConfig(
        slippage="0",
        strategy=f"{tmp_path / 'crash.py'}:Crash",
        symbols=("IBM",),
        venue="local",
        start=dt.date(2013, 10, 7),
        end=dt.date(2013, 10, 7),
        runs_dir=tmp_path,
        run_id="crashing",
        alerts=AlertConfig(urls=(webhook.url,)),
    )
    with pytest.raises(Exception, match="boom at bar 3"):
        run_paper(config)
    (error,) = events(tmp_path / "crashing", "error")["payload"]
    assert error["type"] == "StrategyError" and "boom at bar 3" in error["message"]
    (alert,) = events(tmp_path / "crashing", "alert")["payload"]
    assert alert["rule"] == "error" and not alert["suppressed"]
    (posted,) = webhook.received  # delivered before run_paper returned
    assert "run stopped by StrategyError" in posted["title"] and posted["type"] == "failure"


# ---------------------------------------------------------------------- another process


WRITER = """
import datetime as dt, sys, time
from parity.journal import EquityRecord, Journal
journal = Journal.open(sys.argv[1], create=False)
journal.run_id = "watched"
at = dt.datetime(2013, 10, 7, 9, 31)
for i, value in enumerate([100_000.0, 101_000.0, 99_000.0, 95_000.0]):
    journal.equity([EquityRecord(i, at + dt.timedelta(minutes=i), value, value)], durable=True)
    time.sleep(0.2)
journal.event("feed", {"symbol": "IBM", "state": "stale"}, level="warning")
journal.order_event("watched-000001", "rejected", reason="insufficient buying power", durable=True)
journal.close()
"""


def test_the_engine_watches_a_journal_another_process_writes(tmp_path, webhook):
    path = tmp_path / "journal.sqlite"
    journal = Journal.open(path, create=True)
    journal.start_run("watched", {"strategy": {"name": "x"}}, "paper", "local")
    journal.intent(
        "watched-000001", seq=1, symbol="IBM", side="buy", qty=10, type="market",
        decided_at=dt.datetime(2013, 10, 7, 9, 31),
    )  # fmt: skip
    reader = JournalReader.open(path)
    config = AlertConfig(urls=(webhook.url,), drawdown_pct=5.0, daily_loss_pct=4.5)
    recorded: list[dict] = []
    dispatcher = AlertDispatcher(config, record=lambda _a, payload: recorded.append(payload))
    engine = AlertEngine(reader, "watched", Rules(config), dispatcher, interval=0.1)
    engine.start()
    try:
        subprocess.run([sys.executable, "-c", WRITER, str(path)], check=True, timeout=60)
        deadline = time.monotonic() + 10
        while len(recorded) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        engine.stop()
        dispatcher.delivery.drain(5)
        reader.close()
        journal.close()
    rules = sorted(p["rule"] for p in recorded)
    assert rules == ["daily_loss", "drawdown", "feed_stale", "order_rejected"]
    rejected = next(p for p in recorded if p["rule"] == "order_rejected")
    assert rejected["symbol"] == "IBM" and "insufficient buying power" in rejected["message"]
    assert len(webhook.wait(4)) == 4


def test_a_resumed_run_alerts_the_restart_not_the_crashed_processs_history(tmp_path):
    path = tmp_path / "journal.sqlite"
    journal = Journal.open(path, create=True)
    journal.start_run("r", {"strategy": {"name": "x"}}, "paper", "alpaca-paper")
    journal.event("feed", {"symbol": "IBM", "state": "stale"}, level="warning")
    journal.close()  # killed: status stays "running"
    journal = Journal.open(path, create=False)
    journal.resume_run("r")
    config = AlertConfig()
    recorded: list[dict] = []
    dispatcher = AlertDispatcher(config, record=lambda _a, payload: recorded.append(payload))
    warm = Cursor.at_resume(journal.reader, "r")
    AlertEngine(journal.reader, "r", Rules(config), dispatcher, warm_until=warm).poll()
    journal.close()
    assert [p["rule"] for p in recorded] == ["restart"]
    assert "killed without cleanup" in recorded[0]["message"]


def test_daily_reports_go_through_the_alert_sinks(tmp_path, webhook):
    """`--send-daily-report`: each session's report is sent at its close (two sessions, two
    messages carrying the report's text), and the journal says it was handed to the sinks."""
    result = CliRunner().invoke(
        cli,
        ["run", "paper", "sma_cross", "--venue", "local", "--data", "sample:minute",
         "--slippage", "0", "--symbols", "IBM", "--from", "2013-10-07", "--to", "2013-10-08",
         "--alert-url", webhook.url, "--send-daily-report", "--alert-drawdown", "90%",
         "--alert-daily-loss", "90%", "--runs-dir", str(tmp_path), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.output.splitlines()[-1])["run_dir"])
    reports = events(run_dir, "daily_report")
    assert [p["date"] for p in reports["payload"]] == ["2013-10-07", "2013-10-08"]
    assert all(p["sent"] for p in reports["payload"])
    posted = [p for p in webhook.wait(2) if "Daily report" in p["message"]]
    assert len(posted) == 2
    for payload, day in zip(posted, ("2013-10-07", "2013-10-08"), strict=True):
        assert day in payload["title"]
        on_disk = (run_dir / "reports" / f"daily-{day}.txt").read_text()
        assert payload["message"].strip() == on_disk.strip()


def test_a_failed_delivery_is_retried_and_a_hanging_sink_delays_no_other(hanging, caplog):
    from parity.alerts.sinks import Delivery

    flaky = Webhook(failures=1)
    try:
        delivery = Delivery([hanging, flaky.url], retry_wait=0.1)
        started = time.monotonic()
        assert delivery.put("[parity] feed stale", "IBM: no bar for 3 intervals", "warning")
        received = flaky.wait(1, timeout=10)
        took = time.monotonic() - started
        assert [r["title"] for r in received] == ["[parity] feed stale"]
        assert flaky.attempts == 2  # one 502, one retry delivered
        assert took < 3.0  # the hanging sink's timeouts are its own worker's business
        assert f"alert sink {flaky.url} failed" in caplog.text
        delivery.stop()
    finally:
        flaky.close()
