"""A paper run's heartbeat beats without bars (nights, weekends) and ends quietly with the run."""

from __future__ import annotations

import logging
import time

from parity.journal import Journal
from parity.runners.paper_events import Heartbeat


def test_beats_without_bars_and_stops_with_the_journal(tmp_path, caplog):
    journal = Journal.open(tmp_path / "journal.sqlite", create=True)
    journal.start_run("hb", {"run_id": "hb"}, mode="paper", venue="local")
    first = journal.reader.run("hb").heartbeat_at
    beat = Heartbeat(journal, interval=0.05).start()
    deadline = time.monotonic() + 5
    while journal.reader.run("hb").heartbeat_at == first and time.monotonic() < deadline:
        time.sleep(0.02)
    assert journal.reader.run("hb").heartbeat_at > first
    with caplog.at_level(logging.WARNING):
        journal.close()  # the run ends before the heartbeat is stopped
        time.sleep(0.2)
        beat.stop()
    assert not beat._thread.is_alive()
    assert "heartbeat not journaled" not in caplog.text
