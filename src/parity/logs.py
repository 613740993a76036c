"""Structured logging: human lines by default, JSON lines with `--log-json`, rotating files.

The console keeps parity's operator voice (`message` for information, `warning: message` and
`error: message` above it); a file gets a timestamp, level and logger on every line. JSON lines
carry `ts` (UTC, ISO 8601), `level`, `logger`, `message`, any `extra={...}` fields given at the call
site, and `exc` with the traceback when there is one. `configure_logging` is called once per CLI
invocation by the `parity` group and replaces the handlers it installed before (a test calling the
CLI many times in one process gets one set of handlers, writing to the current `sys.stderr`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import logging.handlers
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from parity.errors import ConfigError

LEVELS = ("debug", "info", "warning", "error")
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
_MARK = "_parity_handler"
# attributes every LogRecord has: anything else was passed with `extra=` and is structured data
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# chatty third-party loggers kept at WARNING whatever parity's level
_QUIET = ("asyncio", "urllib3", "websockets", "aiohttp.access", "matplotlib", "PIL", "apprise")


def _utc(created: float) -> str:
    moment = dt.datetime.fromtimestamp(created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# `extra=FILE_ONLY`: for the log files, not the console (e.g. the traceback of an error the CLI
# already reports in its one `error:` line)
FILE_ONLY = {"file_only": True}
# `extra=ROUTINE`: expected and frequent (a stream's first connection, a feed going live, each
# daily report written): in the log files, on the console only at --log-level debug; alpaca-py's
# own info lines (starting, connecting, connected, subscribed) are treated the same
ROUTINE = {"routine": True}


# alpaca-py's stream loggers: they log a refused (re)connection as an error with its traceback,
# then retry; parity's store reports the disconnect and a run that cannot go on ends with its own
# one-line error, so those are warnings
_STREAM_LOGGERS = ("alpaca.trading.stream", "alpaca.data.live.websocket")


class _RetriedConnection(logging.Filter):
    """An ERROR record carrying an `OSError` (connection refused or reset) becomes a WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.levelno == logging.ERROR and isinstance(error, OSError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call site attached with `extra=`."""
    return {
        k: v
        for k, v in vars(record).items()
        if k not in _STANDARD and not k.startswith("_") and k not in ("file_only", "routine")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(extras(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """parity's console voice: `message`, `warning: message`, `error: message`. A logged
    traceback (a library's `log.exception`) reaches the console only with `tracebacks` (the
    `--debug` level); the log files always keep it."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        fields = extras(record)
        if fields:
            text += " (" + ", ".join(f"{k}={v}" for k, v in fields.items()) + ")"
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if self.tracebacks and record.exc_info and record.levelno >= logging.ERROR:
            text += "\n" + self.formatException(record.exc_info)
        return text


class FileFormatter(logging.Formatter):
    """Human lines for files: UTC time, level, logger, message, structured fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc(record.created)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = extras(record)
        if fields:
            text += " " + json.dumps(fields, default=str, ensure_ascii=False)
        return text


def is_routine(record: logging.LogRecord) -> bool:
    """A routine record (see `ROUTINE`): the console shows it only at debug level."""
    chatter = record.name.startswith("alpaca") and record.levelno < logging.WARNING
    return chatter or bool(getattr(record, "routine", False))


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record (click's test runner swaps
    it per invocation)."""

    def __init__(self, *, routine: bool = False) -> None:
        super().__init__(sys.stderr)
        self.addFilter(lambda record: not getattr(record, "file_only", False))
        if not routine:
            self.addFilter(lambda record: not is_routine(record))

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def parse_level(text: str) -> int:
    name = str(text).strip().lower()
    if name not in LEVELS:
        raise ConfigError(
            f"log level {text!r} is not one of {', '.join(LEVELS)}; e.g. --log-level info"
        )
    return int(getattr(logging, name.upper()))


def file_handler(
    path: Path, *, as_json: bool, max_bytes: int = MAX_BYTES, backups: int = BACKUPS
) -> logging.Handler:
    """A rotating file handler (`path`, `path.1`, ... `path.N`) in the chosen format."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
        )
    except OSError as exc:
        raise ConfigError(
            f"log file {path}: {exc.strerror or exc}; choose a writable --log-file"
        ) from None
    handler.setFormatter(JsonFormatter() if as_json else FileFormatter())
    return handler


def configure_logging(
    *, as_json: bool = False, level: str = "info", file: Path | None = None
) -> None:
    """Install parity's console handler (and a rotating `file`), replacing earlier ones."""
    numeric = parse_level(level)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    console: logging.Handler = _CurrentStderr(routine=numeric <= logging.DEBUG)
    tracebacks = numeric <= logging.DEBUG
    console.setFormatter(JsonFormatter() if as_json else ConsoleFormatter(tracebacks=tracebacks))
    handlers = [console]
    if file is not None:
        handlers.append(file_handler(file, as_json=as_json))
    for handler in handlers:
        setattr(handler, _MARK, True)
        handler.setLevel(numeric)
        root.addHandler(handler)
    root.setLevel(min(numeric, logging.INFO))
    logging.getLogger("parity").setLevel(numeric)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    for name in _STREAM_LOGGERS:
        stream_log = logging.getLogger(name)
        if not any(isinstance(f, _RetriedConnection) for f in stream_log.filters):
            stream_log.addFilter(_RetriedConnection())


def console_is_json() -> bool:
    """Whether the installed console handler writes JSON lines (a run's log file follows it)."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, _MARK, False) and isinstance(handler, _CurrentStderr):
            return isinstance(handler.formatter, JsonFormatter)
    return False


@contextlib.contextmanager
def run_log(run_dir: Path, *, as_json: bool | None = None) -> Iterator[Path]:
    """Log everything (INFO and above) into `run_dir/logs/parity.log` while the block runs, in
    the console's format unless `as_json` says otherwise; rotated at 10 MB, 5 kept."""
    path = run_dir / "logs" / "parity.log"
    handler = file_handler(path, as_json=console_is_json() if as_json is None else as_json)
    handler.setLevel(logging.INFO)
    root, ours = logging.getLogger(), logging.getLogger("parity")
    previous = (root.level, ours.level)
    root.addHandler(handler)
    root.setLevel(min(previous[0] or logging.WARNING, logging.INFO))
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous[0])
        ours.setLevel(previous[1])
