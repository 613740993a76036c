"""`parity`: the command line. Thin: parse, build the config, call a runner, print, map errors.

One module per command group; heavy modules (backtrader, pandas, quantstats, torch) are imported
inside the commands so that `parity --help` stays fast.
"""

from __future__ import annotations

import os
import sys

from parity.cli import alerts as _alerts  # noqa: F401 - registers `parity alerts`
from parity.cli import compare as _compare  # noqa: F401 - registers `parity compare`
from parity.cli import dashboard as _dashboard  # noqa: F401 - registers `parity dashboard`
from parity.cli import data as _data  # noqa: F401 - registers `parity data`
from parity.cli import operate as _operate  # noqa: F401 - registers `parity status`
from parity.cli import optimize as _optimize  # noqa: F401 - registers optimize, walk-forward
from parity.cli import options as _options  # noqa: F401 - registers `parity options`
from parity.cli import plan as _plan  # noqa: F401 - registers `parity plan`
from parity.cli import report, run, runs, strategies, train  # noqa: F401 - registers commands
from parity.cli import risk as _risk  # noqa: F401 - registers `parity halt`, `parity risk`
from parity.cli import venue as _venue  # noqa: F401 - registers `parity venue`
from parity.cli._base import ParityGroup, cli

__all__ = ["ParityGroup", "cli", "main"]


def main() -> None:
    """Console-script entry point. Output to a pipe closed early (`parity runs list | head -3`)
    ends quietly with exit code 1, as click does, also when it is only found when stdout is
    flushed at exit."""
    try:
        try:
            cli(prog_name="parity")
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # nothing left to flush at shutdown
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
