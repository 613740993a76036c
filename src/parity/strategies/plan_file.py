"""Reading and validating a trade plan file (`trade_plan.csv`), the input of the `plan` strategy.

One row is one bracket: an entry (market, limit or stop) with a take-profit and a stop-loss
exit, one of which fills and cancels the other, valid until a date or for a number of sessions.

Columns (a header line, any order, names case-insensitive; `qty` or `risk` per row, not both):

| column | meaning |
|---|---|
| `date` | the decision date: the row is placed at the close of the first bar dated then or later |
| `symbol` | one of the run's `--symbols` |
| `side` | `long` (or `buy`) / `short` (or `sell`) |
| `qty` | shares (a positive number) |
| `risk` | the fraction of equity lost at the stop-loss: shares = risk x equity / stop distance |
| `entry_type` | `market` (default), `limit` or `stop` |
| `entry` | the limit or stop price (required for those; for market optional: the risk reference) |
| `tp`, `sl` | take-profit and stop-loss prices (a long: sl < entry < tp; a short: the reverse) |
| `valid_until` | the last date the bracket lives (entry unfilled: cancelled; held: closed) |
| `max_days` | or: the number of sessions it lives after it is placed |
| `tag`, `score` | free text and a number, recorded with the orders |

Every error is one line naming the file, the line, the column, the value and the fix, as the
bar files' are (`parity.feeds.validate`). Hand-written rather than a schema library because
the checks cross columns (sl against entry and side) and the messages are the contract.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from parity.errors import DataError

COLUMNS = (
    "date",
    "symbol",
    "side",
    "qty",
    "risk",
    "entry_type",
    "entry",
    "tp",
    "sl",
    "valid_until",
    "max_days",
    "tag",
    "score",
)
REQUIRED = ("date", "symbol", "side", "tp", "sl")
SIDES = {"long": "long", "buy": "long", "short": "short", "sell": "short"}
ENTRY_TYPES = ("market", "limit", "stop")


@dataclass(frozen=True, kw_only=True)
class PlanRow:
    """One validated plan row (`line`: its line in the file, the header being line 1)."""

    line: int
    date: dt.date
    symbol: str
    side: Literal["long", "short"]
    qty: float | None
    risk: float | None
    entry_type: Literal["market", "limit", "stop"]
    entry: float | None
    tp: float
    sl: float
    valid_until: dt.date | None
    max_days: int | None
    tag: str
    score: float | None

    @property
    def long(self) -> bool:
        return self.side == "long"

    def reason(self, qty: float) -> str:
        """Its entry's reason: the row it executes, e.g. `plan 2013-10-07 line 3: long 10 BAC
        limit 15.2, tp 16 sl 14 (bac-dip, score 0.8)` (the journal's decisions, `trades.csv`'s
        `entry_reason` and the dashboard show it)."""
        price = "" if self.entry is None else f" {self.entry:g}"
        why = self.tag or "no tag"
        if self.score is not None:
            why += f", score {self.score:g}"
        return (
            f"plan {self.date.isoformat()} line {self.line}: {self.side} {qty:g} {self.symbol} "
            f"{self.entry_type}{price}, tp {self.tp:g} sl {self.sl:g} ({why})"
        )

    def record(self) -> dict[str, object]:
        """The row as JSON-ready values (what the journal keeps with its orders)."""
        return {
            "line": self.line,
            "date": self.date.isoformat(),
            "symbol": self.symbol,
            "side": self.side,
            "qty": self.qty,
            "risk": self.risk,
            "entry_type": self.entry_type,
            "entry": self.entry,
            "tp": self.tp,
            "sl": self.sl,
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
            "max_days": self.max_days,
            "tag": self.tag,
            "score": self.score,
        }


class _Row:
    """One raw row being checked: its cells by column, and where it is, for the messages."""

    def __init__(self, origin: str, line: int, cells: Mapping[str, str]) -> None:
        self.origin, self.line, self.cells = origin, line, cells

    def fail(self, column: str, problem: str, fix: str) -> DataError:
        value = self.cells.get(column, "")
        return DataError(f"{self.origin} line {self.line}: {column} {value!r} {problem}; {fix}")

    def text(self, column: str) -> str:
        return self.cells.get(column, "").strip()

    def number(self, column: str, *, required: bool = False) -> float | None:
        text = self.text(column)
        if not text:
            if required:
                raise self.fail(column, "is empty", f"give the {column} price")
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.fail(column, "is not a number", "write it like 101.5") from None
        if not math.isfinite(value):
            raise self.fail(column, "is not a finite number", "write it like 101.5")
        return value

    def positive(self, column: str, fix: str, *, required: bool = False) -> float | None:
        value = self.number(column, required=required)
        if value is not None and value <= 0:
            raise self.fail(column, "must be positive", fix)
        return value

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        text = self.text(column)
        if not text:
            if required:
                raise self.fail(column, "is empty", "give a date like 2012-01-31")
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise self.fail(column, "is not a date", "use YYYY-MM-DD, e.g. 2012-01-31") from None


def read_plan(
    path: str | Path, *, symbols: Collection[str] | None = None, allow_empty: bool = False
) -> tuple[PlanRow, ...]:
    """Read and validate the plan at `path`; `symbols`: the run's (a row naming another is an
    error). Rows come back in file order. `allow_empty`: a header alone is a day without
    trades (one day's plan of a replay), not an error."""
    file = Path(path).expanduser()
    origin = str(path)
    if not file.is_file():
        raise DataError(f"plan file {origin} does not exist; check --param plan=PATH")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(
            f"plan file {origin} cannot be read ({exc}); save it as UTF-8 CSV"
        ) from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise DataError(f"{origin} line 1: no header; the first line names the columns: "
                        f"{', '.join(COLUMNS)}")  # fmt: skip
    names = [h.strip().lower() for h in header]
    _check_header(origin, names)
    known = {s.upper() for s in symbols} if symbols is not None else None
    rows: list[PlanRow] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) > len(names):
            raise DataError(
                f"{origin} line {line}: {len(cells)} cells for {len(names)} columns; "
                "remove the extra commas or quote the text"
            )
        row = _Row(origin, line, dict(zip(names, cells, strict=False)))
        rows.append(_parse(row, known))
    if not rows and not allow_empty:
        raise DataError(
            f"{origin}: the plan has no rows; add one bracket per line under the header"
        )
    return tuple(rows)


def _check_header(origin: str, names: list[str]) -> None:
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise DataError(
            f"{origin} line 1: unknown column {unknown[0]!r}; the columns are {', '.join(COLUMNS)}"
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"{origin} line 1: column {twice[0]!r} appears twice; keep one")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise DataError(
            f"{origin} line 1: missing column(s) {', '.join(missing)}; a plan needs "
            f"{', '.join(REQUIRED)} and qty or risk"
        )
    if "qty" not in names and "risk" not in names:
        raise DataError(f"{origin} line 1: no qty or risk column; size each row by one of them")


def _parse(row: _Row, known: set[str] | None) -> PlanRow:
    date = row.date("date", required=True)
    assert date is not None
    symbol = row.text("symbol").upper()
    if not symbol:
        raise row.fail("symbol", "is empty", "name one of the run's --symbols")
    if known is not None and symbol not in known:
        raise row.fail(
            "symbol", "is not a symbol of this run",
            f"add it to --symbols (trading: {', '.join(sorted(known))}) or remove the row",
        )  # fmt: skip
    side = SIDES.get(row.text("side").lower())
    if side is None:
        raise row.fail("side", "is not a side", "use long or short (buy/sell)")
    qty = row.positive("qty", "give a positive number of shares (the side says long or short)")
    risk = row.positive("risk", "give a fraction of equity, e.g. 0.01 for 1%")
    if (qty is None) == (risk is None):
        problem = "and risk are both given" if qty is not None else "and risk are both empty"
        raise row.fail("qty", problem, "size the row by qty (shares) or by risk, not both")
    if risk is not None and risk > 1:
        raise row.fail("risk", "is more than all of equity", "use a fraction, e.g. 0.01 for 1%")
    kind = row.text("entry_type").lower() or "market"
    if kind not in ENTRY_TYPES:
        raise row.fail("entry_type", "is not an entry type", "use market, limit or stop")
    fix = "give a positive price"
    entry = row.positive("entry", fix, required=kind != "market")
    tp = row.positive("tp", fix, required=True)
    sl = row.positive("sl", fix, required=True)
    assert tp is not None and sl is not None
    _check_prices(row, side == "long", entry, tp, sl)
    valid_until = row.date("valid_until")
    if valid_until is not None and valid_until < date:
        raise row.fail("valid_until", f"is before the row's date {date}", "use a later date")
    max_days = _max_days(row)
    score = row.number("score")
    return PlanRow(
        line=row.line, date=date, symbol=symbol, side="long" if side == "long" else "short",
        qty=qty, risk=risk, entry_type=kind,  # type: ignore[arg-type]  # checked above
        entry=entry, tp=tp, sl=sl, valid_until=valid_until, max_days=max_days,
        tag=row.text("tag"), score=score,
    )  # fmt: skip


def _check_prices(row: _Row, long: bool, entry: float | None, tp: float, sl: float) -> None:
    if long:
        if sl >= tp:
            raise row.fail("sl", f"is not below the take-profit {tp:g} of a long", "lower it")
        if entry is not None and sl >= entry:
            raise row.fail("sl", f"is not below the entry {entry:g} of a long", "lower it")
        if entry is not None and tp <= entry:
            raise row.fail("tp", f"is not above the entry {entry:g} of a long", "raise it")
    else:
        if sl <= tp:
            raise row.fail("sl", f"is not above the take-profit {tp:g} of a short", "raise it")
        if entry is not None and sl <= entry:
            raise row.fail("sl", f"is not above the entry {entry:g} of a short", "raise it")
        if entry is not None and tp >= entry:
            raise row.fail("tp", f"is not below the entry {entry:g} of a short", "lower it")


def _max_days(row: _Row) -> int | None:
    text = row.text("max_days")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise row.fail("max_days", "is not a whole number", "give sessions, e.g. 5") from None
    if value < 1:
        raise row.fail("max_days", "must be at least 1", "give sessions, e.g. 5")
    return value
