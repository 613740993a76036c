"""A small W3C WebDriver client for the browser tests: Debian's `chromedriver` driving Debian's
`chromium` headless, over loopback HTTP. Nothing is downloaded: both binaries are found on PATH
(`shutil.which`), and no driver manager is involved.

(Selenium 4.52 would do the same, but it pins certifi >= 2026.10.23, which the package index
here does not have; the protocol is a handful of JSON calls, so the tests speak it directly.)
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from venue_support import free_port

ENV_REQUIRE = "PARITY_REQUIRE_BROWSER_TESTS"
CHROME_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--window-size=1280,900",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
]


def browser_binaries() -> tuple[str, str]:
    """(chromium, chromedriver) paths; skips the test when either is missing, or fails it when
    PARITY_REQUIRE_BROWSER_TESTS=1 (CI installs them and must run these tests)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    missing = " and ".join(
        n for n, p in (("chromium", chromium), ("chromedriver", driver)) if not p
    )
    reason = (
        f"{missing} not found on PATH: install Debian's `chromium chromium-driver` to run the "
        "dashboard's browser tests"
    )
    if os.environ.get(ENV_REQUIRE) == "1":
        pytest.fail(f"{reason} ({ENV_REQUIRE}=1)")
    pytest.skip(reason)


class WebDriverError(RuntimeError):
    pass


class Chrome:
    """One chromedriver process and one headless Chromium session."""

    def __init__(self, chromium: str, driver: str, workdir: Path) -> None:
        self.chromium = chromium
        self.driver = driver
        self.workdir = workdir
        self.port = 0
        self.session = ""
        self.process: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Chrome:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        log = (self.workdir / "chromedriver.log").open("wb")
        self.process = subprocess.Popen(
            [self.driver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.quit()
                raise WebDriverError(f"chromedriver did not start; see {self.workdir}")
            time.sleep(0.1)
        options = {
            "binary": self.chromium,
            "args": [*CHROME_ARGS, f"--user-data-dir={self.workdir / 'profile'}"],
        }
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        value = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = value["sessionId"]
        return self

    def quit(self) -> None:
        if self.session:
            with contextlib.suppress(OSError, WebDriverError):
                self._call("DELETE", f"/session/{self.session}")
            self.session = ""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    # ------------------------------------------------------------------ protocol
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise WebDriverError(f"{method} {path}: {exc.code} {detail}") from None
        return payload.get("value", payload)

    def _session(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self._session("POST", "/url", {"url": url})

    def execute(self, script: str, *args: Any) -> Any:
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, script: str, *args: Any, timeout: float = 15.0, what: str = "") -> Any:
        """Poll `script` (a function body returning a value) until it returns a truthy value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.execute(script, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or script}")
            time.sleep(0.2)

    def resize(self, width: int, height: int) -> None:
        """The window's size (a full-page screenshot: the page's height)."""
        self._session("POST", "/window/rect", {"width": width, "height": height})

    def screenshot_png(self) -> bytes:
        return base64.b64decode(self._session("GET", "/screenshot"))

    def console(self) -> list[dict[str, Any]]:
        """Browser console entries since the last call (level, message, timestamp)."""
        try:
            entries = self._session("POST", "/se/log", {"type": "browser"})
        except WebDriverError:
            entries = self._session("POST", "/log", {"type": "browser"})
        return list(entries or [])
