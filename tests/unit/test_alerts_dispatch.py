"""De-duplication and rate limiting: what reaches the external sinks, what is only journaled."""

from __future__ import annotations

import logging

import pytest

from parity.alerts.config import AlertConfig
from parity.alerts.dispatch import AlertDispatcher
from parity.alerts.rules import Alert


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorded:
    """A `Delivery` stand-in that records instead of sending (delivery itself is tested against
    real servers in tests/integration/test_alerts.py)."""

    def __init__(self) -> None:
        self.sinks = ["json://127.0.0.1/hook"]
        self.names = list(self.sinks)
        self.sent: list[tuple[str, str, str]] = []

    def put(self, title: str, body: str, severity: str = "info") -> bool:
        self.sent.append((title, body, severity))
        return True


def alert(key: str = "feed_stale:IBM") -> Alert:
    return Alert("feed_stale", key, "warning", "IBM feed stale", "no bar", symbol="IBM")


def dispatcher(**config):
    clock, delivery, journal = Clock(), Recorded(), []
    d = AlertDispatcher(
        AlertConfig(**config),
        delivery=delivery,  # type: ignore[arg-type]
        record=lambda a, payload: journal.append(payload),
        clock=clock,
        run_label="run-1",
    )
    return d, clock, delivery, journal


def test_a_flapping_alert_is_sent_once_within_the_dedup_window():
    d, clock, delivery, journal = dispatcher(dedup_seconds=900)
    results = []
    for _ in range(100):
        results.append(d.submit(alert()))
        clock.now += 5
    assert results.count(True) == 1 and len(delivery.sent) == 1
    assert len(journal) == 100
    assert [p["suppressed"] for p in journal].count(False) == 1
    assert {p["suppressed_by"] for p in journal[1:]} == {"duplicate"}
    assert journal[0]["sinks"] == ["json://127.0.0.1/hook"] and journal[1]["sinks"] == []


def test_the_same_key_is_sent_again_after_the_window():
    d, clock, delivery, _ = dispatcher(dedup_seconds=900)
    assert d.submit(alert())
    clock.now += 899
    assert not d.submit(alert())
    clock.now += 2
    assert d.submit(alert())
    assert len(delivery.sent) == 2


def test_rate_limit_holds_back_and_the_next_message_says_how_many():
    d, clock, delivery, journal = dispatcher(rate_limit=3)
    sent = [d.submit(alert(f"k{i}")) for i in range(8)]
    assert sent == [True, True, True, False, False, False, False, False]
    assert [p["suppressed_by"] for p in journal[3:]] == ["rate_limit"] * 5
    clock.now += 60  # the window has passed
    assert d.submit(alert("k9"))
    title, body, severity = delivery.sent[-1]
    assert "5 more alert(s) were held back by the rate limit (3/min)" in body
    assert title == "[parity run-1] WARNING: IBM feed stale" and severity == "warning"


def test_summary_at_the_end():
    d, _clock, delivery, _ = dispatcher(rate_limit=1)
    d.submit(alert("a"))
    d.submit(alert("b"))
    d.submit(alert("c"))
    assert d.flush_summary()
    assert "2 more alert(s) were held back" in delivery.sent[-1][1]
    assert not d.flush_summary()  # nothing more held back


def test_every_alert_is_logged(caplog: pytest.LogCaptureFixture):
    d, *_ = dispatcher()
    with caplog.at_level(logging.INFO, logger="parity.alerts"):
        d.submit(alert())
        d.submit(alert())
    texts = [r.getMessage() for r in caplog.records if r.name == "parity.alerts"]
    assert texts[0] == "alert feed_stale: IBM feed stale: no bar"
    assert texts[1].endswith("(not sent: duplicate)")


def test_a_failing_journal_does_not_stop_dispatch(caplog: pytest.LogCaptureFixture):
    def broken(_alert, _payload):
        raise RuntimeError("journal closed")

    delivery = Recorded()
    d = AlertDispatcher(AlertConfig(), delivery=delivery, record=broken)  # type: ignore[arg-type]
    assert d.submit(alert())
    assert "alert not journaled (journal closed)" in caplog.text


def test_without_sinks_alerts_are_journaled_and_not_rate_limited():
    journal: list = []
    d = AlertDispatcher(AlertConfig(rate_limit=1), record=lambda a, p: journal.append(p))
    for i in range(5):
        assert not d.submit(alert(f"k{i}"))
    assert [p["suppressed"] for p in journal] == [False] * 5
