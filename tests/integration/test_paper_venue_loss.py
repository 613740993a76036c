"""A standalone venue (`parity venue serve`) that dies under a paper run, and a fresh one started
on the same port: the run stops with one line (exit 5, no traceback), and `--resume` does not
believe the fresh venue (it has none of the journal's fills, cash or positions) unless `--adopt`.

Venue and paper run are separate `parity` processes, so the venue's death is real."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from venue_support import PARITY, client_env, free_port, port_urls, write_slow_strategy

from parity.journal.reader import JournalReader

pytestmark = pytest.mark.timeout(600)


def serve(port: int, log: Path) -> subprocess.Popen[bytes]:
    """`parity venue serve` on `port`, lock-step and waiting for the client as long as it takes;
    returns once it answers."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*PARITY, "venue", "serve", "--data", "sample:minute", "--symbols", "IBM",
             "--from", "2013-10-04", "--to", "2013-10-04", "--port", str(port),
             "--ack-timeout", "3600"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            requests.get(f"http://127.0.0.1:{port}/parity/v1/status", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the venue did not answer within 120 s: {log.read_text()}")


def journal(runs: Path) -> tuple[dict[str, float], float, dict[str, float], list[str]]:
    """Filled qty per client order id, the cash the fills leave, positions, never_sent ids."""
    reader = JournalReader.open(runs / "v1" / "journal.sqlite")
    try:
        fills = reader.fills("v1")
        events = reader.order_events("v1")
        positions = reader.positions("v1")
    finally:
        reader.close()
    filled = fills.groupby("client_order_id")["qty"].sum().to_dict() if len(fills) else {}
    signed = fills["qty"] * fills["price"] * fills["side"].map({"buy": -1.0, "sell": 1.0})
    cash = 100_000.0 + float(signed.sum()) - float(fills["commission"].sum())
    never_sent = list(events.loc[events["event"] == "never_sent", "client_order_id"])
    return filled, cash, positions, never_sent


def fills_so_far(runs: Path) -> int:
    path = runs / "v1" / "journal.sqlite"
    if not path.is_file():
        return 0
    try:
        reader = JournalReader.open(path)
    except Exception:  # still being created
        return 0
    try:
        return len(reader.fills("v1"))
    except Exception:
        return 0
    finally:
        reader.close()


def test_a_dead_venue_stops_the_run_in_one_line_and_a_fresh_one_is_not_believed(
    tmp_path: Path,
) -> None:
    write_slow_strategy(tmp_path, 20, "the venue dies mid-run")
    runs = tmp_path / "runs"
    port = free_port()
    env = client_env(port_urls(port), "k", "s")
    venue = serve(port, tmp_path / "venue1.txt")
    client_err = tmp_path / "client.txt"
    try:
        with client_err.open("w") as err:
            client = subprocess.Popen(
                [*PARITY, "run", "paper", f"{tmp_path / 'slow.py'}:SlowSmaCross",
                 "--venue", "alpaca", "--symbols", "IBM", "-p", "fast=5", "-p", "slow=20",
                 "--cash", "100000", "--run-id", "v1", "--runs-dir", str(runs)],
                env=env, stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        deadline = time.monotonic() + 300
        while fills_so_far(runs) < 3 and time.monotonic() < deadline:
            assert client.poll() is None, client_err.read_text()[-3000:]
            time.sleep(0.2)
        venue.send_signal(signal.SIGKILL)  # the venue dies with its whole history
        venue.wait()
        code = client.wait(timeout=180)
    finally:
        venue.kill()
        if client.poll() is None:
            client.kill()

    # the run stops with one line and exit 5; no traceback
    stderr = client_err.read_text()
    assert code == 5, stderr[-3000:]
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == [lines[-1]], errors  # the error alert goes to the run's log file
    run_log = (runs / "v1" / "logs" / "parity.log").read_text()
    assert "alert error: run stopped by VenueUnavailable: a VenueUnavailable ended" in run_log
    assert lines[-1].startswith("error: venue ") and f"127.0.0.1:{port}" in lines[-1]

    filled, cash, positions, never_sent = journal(runs)
    assert len(filled) >= 2 and never_sent == []
    resume = [*PARITY, "run", "paper", "--resume", "v1", "--runs-dir", str(runs)]
    venue = serve(port, tmp_path / "venue2.txt")  # a fresh venue on the same port: no history
    try:
        refused = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=300)
        after_refusal = journal(runs)
        adopted = subprocess.run(
            [*resume, "--adopt"], env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        venue.kill()
        venue.wait()

    # refused without --adopt: each difference on its own line, one error line, nothing changed
    assert refused.returncode == 5, refused.stderr[-3000:]
    lines = refused.stderr.splitlines()
    assert lines[-1].startswith("error: resume refused: "), lines[-1]
    assert "pass --adopt" in lines[-1]
    expected = [
        f"  {cid}: the journal holds {qty:g} filled, the venue has no such order"
        for cid, qty in sorted(filled.items())
    ]
    held = positions.get("IBM", 0.0)
    if held:
        expected.append(f"  IBM: journal position {held:g}, venue 0")
    expected.append(
        f"  cash: the venue holds 100,000.00, the journal's fills leave {cash:,.2f} "
        "(the account had 100,000.00 at the start)"
    )
    start = lines.index("reconciliation: journal and venue disagree:")
    assert lines[start + 1 : start + 1 + len(expected)] == expected
    assert f"{len(expected)} differences" in lines[-1]
    assert after_refusal == (filled, cash, positions, [])

    # with --adopt the run goes on; an order with journaled fills is never rewritten as unsent
    assert adopted.returncode == 0, adopted.stderr[-3000:]
    for line in expected:
        assert f"adopted the venue's state: {line.strip()}" in adopted.stderr
    filled_after, _cash, _positions, never_sent = journal(runs)
    assert not set(never_sent) & set(filled)
    for cid, qty in filled.items():
        assert filled_after[cid] == qty
