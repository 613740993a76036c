"""Library versions recorded in every manifest."""

from __future__ import annotations

import platform
from importlib import metadata

import parity

_LIBRARIES = ("backtrader", "pandas", "numpy", "quantstats", "alpaca-py", "yfinance")


def library_versions() -> dict[str, str]:
    versions = {"parity": parity.__version__, "python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
