"""Security at the edges: the dashboard answers only requests for its own names (no DNS
rebinding) and says so loudly when it listens beyond this machine; the venue's control endpoints
take the API keys when `--key-id` is set and only JSON POSTs (a cross-origin `text/plain` POST,
which a web page may send without asking, is refused)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests
from venue_support import PARITY

from parity.feeds.loader import load_bars
from parity.runners.dashboard import dashboard_server
from parity.venue import VenueConfig, VenueServer

pytestmark = pytest.mark.timeout(300)

KEYS = ("control-key", "control-secret")
AUTH = {"APCA-API-KEY-ID": KEYS[0], "APCA-API-SECRET-KEY": KEYS[1]}
PLAIN = {"Content-Type": "text/plain"}


def _get(url: str, host: str) -> int:
    return requests.get(url, headers={"Host": host}, timeout=30).status_code


def test_the_dashboard_answers_only_its_own_names(tmp_path: Path) -> None:
    with dashboard_server(tmp_path) as server:
        port = server.port
        base = f"http://127.0.0.1:{port}"
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
            assert _get(f"{base}/api/runs", host) == 200, host
            assert _get(f"{base}/", host) == 200, host
        for host in (
            f"evil.example:{port}",  # a rebound name
            "evil.example",
            f"127.0.0.1.evil.example:{port}",
            f"127.0.0.1:{port + 1}",  # another port
            f"localhost:{port}x",
        ):
            for path in ("/api/runs", "/", "/static/app.css"):
                response = requests.get(f"{base}{path}", headers={"Host": host}, timeout=30)
                assert response.status_code == 403, (host, path)
                assert "is not this dashboard's address" in response.text


def test_the_dashboard_beyond_loopback_warns_loudly_and_still_checks_hosts(
    tmp_path: Path,
) -> None:
    proc = subprocess.Popen(
        [*PARITY, "dashboard",
         "--host", "0.0.0.0", "--port", "0", "--runs-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        warning = proc.stderr.readline()
        line = proc.stdout.readline()
        assert line.startswith("dashboard: http://0.0.0.0:"), line
        port = int(line.split(":")[3].split("/")[0])
        base = f"http://127.0.0.1:{port}/api/runs"
        assert _get(base, f"localhost:{port}") == 200
        assert _get(base, f"192.0.2.7:{port}") == 200  # an address of the machine: no rebinding
        assert _get(base, f"evil.example:{port}") == 403
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert warning.startswith("warning: THE DASHBOARD IS OPEN BEYOND THIS MACHINE: it listens on ")
    assert f"anyone who can reach port {port} reads every run in {tmp_path}" in warning
    assert "use --host 127.0.0.1" in warning


@pytest.fixture(scope="module")
def minute():
    return load_bars("sample:minute", ["IBM"])


def test_venue_control_takes_the_keys_and_json_only(minute) -> None:
    config = VenueConfig(data=minute, start="2013-10-07T10:00:00", keys=KEYS)
    with VenueServer(config) as venue:
        url = f"{venue.base_url}/parity/v1"
        fault = '{"rest_errors": [[503, 1]]}'
        assert requests.get(f"{url}/status", timeout=30).status_code == 401
        assert requests.get(f"{url}/snapshot", timeout=30).status_code == 401
        assert requests.get(f"{url}/snapshot", headers={**AUTH, "APCA-API-SECRET-KEY": "no"},
                            timeout=30).status_code == 401  # fmt: skip
        no_keys = requests.post(f"{url}/faults", json={"rest_errors": [[503, 1]]}, timeout=30)
        assert no_keys.status_code == 401
        plain = requests.post(f"{url}/faults", data=fault, headers={**AUTH, **PLAIN}, timeout=30)
        assert plain.status_code == 415
        assert plain.json()["message"] == "control requests must be application/json"
        form = requests.post(f"{url}/ack", data={"through": "2013-10-07T10:00:00"}, headers=AUTH,
                             timeout=30)  # fmt: skip
        assert form.status_code == 415
        assert venue.snapshot()["faults"]["rest_errors"] == []  # nothing refused took effect
        ok = requests.post(f"{url}/faults", json={"rest_errors": [[503, 1]]}, headers=AUTH,
                           timeout=30)  # fmt: skip
        assert ok.status_code == 200
        assert venue.snapshot()["faults"]["rest_errors"] == [[503, 1]]
        assert requests.get(f"{url}/status", headers=AUTH, timeout=30).status_code == 200
        assert requests.get(f"{url}/snapshot", headers=AUTH, timeout=30).status_code == 200


def test_venue_without_keys_still_refuses_a_cross_origin_text_post(minute) -> None:
    with VenueServer(VenueConfig(data=minute, start="2013-10-07T10:00:00")) as venue:
        url = f"{venue.base_url}/parity/v1"
        plain = requests.post(
            f"{url}/faults", data='{"rest_errors": [[503, 1]]}', headers=PLAIN, timeout=30
        )
        assert plain.status_code == 415
        assert venue.snapshot()["faults"]["rest_errors"] == []
        assert requests.get(f"{url}/status", timeout=30).status_code == 200  # no keys: open
        ok = requests.post(f"{url}/faults", json={"rest_errors": [[503, 1]]}, timeout=30)
        assert ok.status_code == 200
        assert venue.snapshot()["faults"]["rest_errors"] == [[503, 1]]
