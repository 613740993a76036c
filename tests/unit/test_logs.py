"""Structured logging: formats, rotation, handler replacement, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from parity.errors import ConfigError
from parity.logs import (
    ConsoleFormatter,
    FileFormatter,
    JsonFormatter,
    configure_logging,
    file_handler,
    parse_level,
    run_log,
)


def _record(level: int, msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("parity.test", level, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("parity").level)
    yield
    for handler in list(root.handlers):
        if handler not in saved[0]:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved[1])
    logging.getLogger("parity").setLevel(saved[2])


def test_json_line_has_the_fields_and_the_extras():
    line = JsonFormatter().format(
        _record(logging.WARNING, "retry %d/%d", 1, 4, status=503, reason="service unavailable")
    )
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["logger"] == "parity.test"
    assert entry["message"] == "retry 1/4"
    assert entry["status"] == 503 and entry["reason"] == "service unavailable"
    assert entry["ts"].endswith("Z") and "T" in entry["ts"]


def test_json_line_carries_the_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exc"]


def test_console_voice_prefixes_warnings_only():
    fmt = ConsoleFormatter()
    assert fmt.format(_record(logging.INFO, "account ACTIVE")) == "account ACTIVE"
    assert fmt.format(_record(logging.WARNING, "feed stale")) == "warning: feed stale"
    assert fmt.format(_record(logging.ERROR, "gone", reason="x")) == "error: gone (reason=x)"


def test_file_lines_have_time_level_and_logger():
    line = FileFormatter().format(_record(logging.INFO, "hello", symbol="IBM"))
    stamp, level, name, rest = line.split(None, 3)
    assert stamp.endswith("Z") and level == "INFO" and name == "parity.test:"
    assert rest == 'hello {"symbol": "IBM"}'


def test_file_handler_rotates_and_keeps_the_backups(tmp_path: Path):
    path = tmp_path / "logs" / "parity.log"
    handler = file_handler(path, as_json=True, max_bytes=2_000, backups=2)
    log = logging.getLogger("parity.rotation-test")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for i in range(200):
            log.info("line %d", i)
    finally:
        log.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["parity.log", "parity.log.1", "parity.log.2"]
    assert all(p.stat().st_size <= 2_000 for p in path.parent.iterdir())
    last = [json.loads(x) for x in path.read_text().splitlines()]
    assert last[-1]["message"] == "line 199"


def test_configure_twice_installs_one_console_handler(capsys):
    configure_logging(as_json=False)
    configure_logging(as_json=True, level="warning")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_parity_handler", False)]
    assert len(ours) == 1
    logging.getLogger("parity.x").info("hidden")
    logging.getLogger("parity.x").warning("shown")
    err = capsys.readouterr().err.splitlines()
    assert [json.loads(x)["message"] for x in err] == ["shown"]


def test_run_log_writes_the_run_file_and_detaches(tmp_path: Path):
    configure_logging(as_json=True, level="warning")
    with run_log(tmp_path) as path:
        logging.getLogger("parity.run").info("inside")
    logging.getLogger("parity.run").info("outside")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["message"] for x in lines] == ["inside"]
    assert logging.getLogger("parity").level == logging.WARNING  # restored


@pytest.mark.parametrize("text", ["loud", "", "WARN"])
def test_bad_level_is_one_clear_error(text: str):
    with pytest.raises(ConfigError, match="--log-level"):
        parse_level(text)


def test_unwritable_log_file_is_one_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="--log-file"):
        file_handler(blocker / "sub" / "parity.log", as_json=False)


def test_a_libraries_logged_traceback_reaches_the_console_only_with_debug(capsys):
    logger = logging.getLogger("alpaca.trading.stream")
    for level, shown in (("info", False), ("debug", True)):
        configure_logging(level=level)
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except ConnectionRefusedError as exc:
            logger.exception("error during websocket communication: %s", exc)
        err = capsys.readouterr().err
        # a refused connection the stream retries is a warning, its traceback only with --debug
        assert err.startswith("warning: error during websocket communication: [Errno 111]")
        assert ("Traceback (most recent call last)" in err) is False
        try:
            raise ValueError("insufficient subscription")
        except ValueError:
            logger.exception("error during websocket communication")
        err = capsys.readouterr().err
        assert err.startswith("error: error during websocket communication")
        assert ("Traceback (most recent call last)" in err) is shown
