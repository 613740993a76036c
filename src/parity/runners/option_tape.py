"""The option tape written as the run goes: `option_tape.csv` in the run directory, appended
as the desk receives chain snapshots and quotes, flushed at the end of every bar, so that a
crashed run keeps what it received up to its last bar (a resumed run appends to it; its
warm-up bars ask the venue nothing, so nothing is taped twice).

Columns are the desk's `TAPE_COLUMNS` (readable as recorded quotes, `--option-quotes`)."""

from __future__ import annotations

import csv
import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import backtrader as bt

from parity.venues.alpaca.option_desk import TAPE_COLUMNS

TAPE_FILE = "option_tape.csv"


class OptionTapeFile:
    """Rows appended to `path` (its header written once); `flush` makes them the file's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # quotes can arrive on a stream's thread
        self._file: IO[str] | None = None
        self._writer: Any = None

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            if self._writer is None:
                new = not self.path.is_file() or self.path.stat().st_size == 0
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", newline="", encoding="utf-8")
                self._writer = csv.DictWriter(self._file, TAPE_COLUMNS, extrasaction="ignore")
                if new:
                    self._writer.writeheader()
            self._writer.writerows({k: _text(v) for k, v in row.items()} for row in rows)

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file, self._writer = None, None


def _text(value: Any) -> Any:
    """As pandas writes it (`option_tape.csv` was `DataFrame.to_csv`): times ISO with a space."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return "" if value is None else value


class FlushOptionTape(bt.Analyzer):
    """The tape's rows of a bar reach the file at the bar's end (before its equity row)."""

    params = (("tape", None),)

    def next(self) -> None:
        self.p.tape.flush()

    def stop(self) -> None:
        self.p.tape.flush()


def tape_to_file(cerebro: bt.Cerebro, desk: Any, run_dir: Path) -> OptionTapeFile | None:
    """Send `desk`'s tape (a venue desk's) to `run_dir/option_tape.csv` as it is received;
    None for a desk that keeps no tape."""
    if not hasattr(desk, "tape_sink"):
        return None
    tape = OptionTapeFile(run_dir / TAPE_FILE)
    desk.tape_sink = tape.add
    cerebro.addanalyzer(FlushOptionTape, tape=tape)
    return tape
