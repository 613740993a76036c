"""One exception hierarchy. The CLI maps each class to an exit code and a one-line message."""

from __future__ import annotations


class ParityError(Exception):
    """Base of every error parity reports to a user. The message is one line: what and the fix."""

    exit_code = 1


class ConfigError(ParityError):
    """A flag, config file or strategy parameter is invalid."""

    exit_code = 2


class DataError(ParityError):
    """Market data is missing, malformed or cannot be fetched."""

    exit_code = 3


class StrategyError(ParityError):
    """A strategy cannot be found, loaded or parameterised."""

    exit_code = 4


class BrokerError(ParityError):
    """The broker or venue refused or failed an operation."""

    exit_code = 5


class RunNotFoundError(ParityError):
    """A run id or directory does not exist."""

    exit_code = 6


class ReportError(ParityError):
    """A report could not be produced."""

    exit_code = 7


class JournalError(ParityError):
    """A run journal is missing, unreadable, of a newer schema, or would be overwritten."""

    exit_code = 8


class AlertError(ParityError):
    """An alert could not be delivered (`parity alerts test`; a run only logs it)."""

    exit_code = 9


class Interrupted(ParityError):
    """The user stopped a long command (Ctrl+C) after it saved what it had done."""

    exit_code = 130
