"""`BarSeries`: the validated, normalised bars of one symbol, as every part of parity sees them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from parity.timeframe import Timeframe

COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class BarSeries:
    """Bars of one symbol.

    `frame` has a naive exchange-local `DatetimeIndex` named `datetime` (bar-start labels, strictly
    increasing) and float64 columns `open, high, low, close, volume`, nothing else.
    `origin` names where the bars came from (a file path, `sample`, `yahoo`), for error messages
    and the manifest.
    """

    symbol: str
    frame: pd.DataFrame
    timeframe: Timeframe
    origin: str

    def __len__(self) -> int:
        return len(self.frame)

    def sha256(self) -> str:
        """A digest of exactly the bars used: timestamps (ns) and the five columns, in order."""
        digest = hashlib.sha256()
        digest.update(self.symbol.encode())
        digest.update(self.frame.index.as_unit("ns").asi8.tobytes())
        for column in COLUMNS:
            digest.update(self.frame[column].to_numpy(dtype="float64").tobytes())
        return digest.hexdigest()
