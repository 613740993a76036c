"""Bar timeframes (`1Min`, `5Min`, `15Min`, `1Hour`, `1Day`) and their bar-label convention.

Convention used everywhere (files, sample, resampling, live aggregation): a bar is labelled with
the naive exchange-local (America/New_York for US equities) time at which it *starts*, as Alpaca
labels its bars. A daily bar is labelled with its session date at midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parity.errors import ConfigError

_UNITS = {"min": ("Min", 60), "hour": ("Hour", 3600), "day": ("Day", 86400)}
_PATTERN = re.compile(r"^\s*(\d+)\s*(min|minute|minutes|m|hour|hours|h|day|days|d)\s*$", re.I)
_ALIASES = {
    "m": "min",
    "minute": "min",
    "minutes": "min",
    "h": "hour",
    "hours": "hour",
    "d": "day",
    "days": "day",
}


@dataclass(frozen=True, order=True)
class Timeframe:
    """A bar length. `seconds` orders timeframes; `name` is the canonical spelling (`5Min`)."""

    seconds: int
    name: str

    @property
    def is_daily(self) -> bool:
        return self.seconds >= 86400

    def __str__(self) -> str:
        return self.name


def parse_timeframe(text: str) -> Timeframe:
    """Parse `1Min`, `5Min`, `15Min`, `1Hour`, `1Day` (any case; `5m`, `1h`, `1d` also)."""
    match = _PATTERN.match(str(text))
    if not match:
        raise ConfigError(
            f"timeframe {text!r} is not understood; use one of 1Min, 5Min, 15Min, 1Hour, 1Day"
        )
    count = int(match.group(1))
    unit = match.group(2).lower()
    unit = _ALIASES.get(unit, unit)
    label, seconds = _UNITS[unit]
    if count <= 0:
        raise ConfigError(f"timeframe {text!r} must have a positive length, e.g. 5Min")
    if unit == "day" and count != 1:
        raise ConfigError(f"timeframe {text!r}: only 1Day is supported for daily bars")
    if unit == "min" and count >= 60 and count % 60 == 0:
        return Timeframe(count * 60, f"{count // 60}Hour")
    return Timeframe(count * seconds, f"{count}{label}")


DAILY = Timeframe(86400, "1Day")
MINUTE = Timeframe(60, "1Min")

# Backtrader's float-day number of 1970-01-01 (`datetime.date(1970, 1, 1).toordinal()`): the
# offset between Unix-epoch days and the values on a feed's `datetime` line.
BT_EPOCH_ORDINAL = 719163.0
