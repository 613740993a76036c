"""Plan files around a run: the seeded example plan written for the sample (`parity plan
example`) and a plan checked against the symbols it will run on (`parity plan check`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from parity.errors import ConfigError, DataError
from parity.feeds.loader import load_bars
from parity.strategies.plan_example import EXAMPLE_SEED, example_plan
from parity.strategies.plan_file import PlanRow, read_plan

EXAMPLE_SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """`2012-09` -> its first and last day."""
    try:
        first = dt.date.fromisoformat(f"{month.strip()}-01")
    except ValueError:
        raise ConfigError(f"--month {month!r} is not a month; use YYYY-MM, e.g. 2012-09") from None
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def write_example_plan(
    out: Path,
    *,
    data: str = "sample",
    symbols: Sequence[str] = EXAMPLE_SYMBOLS,
    first: dt.date,
    last: dt.date,
    seed: int = EXAMPLE_SEED,
    per_day: bool = False,
) -> int:
    """Write the example plan of every session from `first` to `last` to `out` (`per_day`:
    `out` is a directory of one `YYYY-MM-DD.csv` a session), each day's rows from the bars up
    to that day only; returns the number of rows."""
    loaded = load_bars(data, list(symbols), end=last, adjustment="splits")
    frames = {s.symbol: s.frame for s in loaded.series}
    days = sorted({d for f in frames.values() for d in f.index.date if first <= d <= last})
    if not days:
        raise DataError(f"{data} has no bars from {first} to {last}; pick dates it covers")
    if per_day:  # one file a session, as a daily pipeline writes them: OUT/YYYY-MM-DD.csv
        out.mkdir(parents=True, exist_ok=True)
        total = 0
        for day in days:
            text = example_plan(frames, [day], seed=seed)
            (out / f"{day.isoformat()}.csv").write_text(text, encoding="utf-8")
            total += text.count("\n") - 1
        return total
    text = example_plan(frames, days, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text.count("\n") - 1


def check_plan(path: Path, symbols: Sequence[str] | None) -> tuple[PlanRow, ...]:
    """The plan's rows, validated (against `symbols` when given)."""
    return read_plan(path, symbols=[s.upper() for s in symbols] if symbols else None)
