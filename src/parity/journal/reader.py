"""Reading a journal back: runs, orders, fills, equity, the tape, events, positions.

Frames have the columns of the CSV run artifacts (`parity.journal.columns`), so the artifacts
are plain exports of these frames and other code can read either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.compiler import SQLCompiler

from parity.errors import JournalError
from parity.journal.codec import Codec, to_datetimes
from parity.journal.columns import FILL_COLUMNS, ORDER_COLUMNS, TAPE_COLUMNS, placement_dtypes
from parity.journal.database import Target, check_file, make_engine, prepare_schema
from parity.journal.schema import (
    Bar,
    Base,
    Decision,
    EquitySnapshot,
    Event,
    Fill,
    OrderEvent,
    OrderIntent,
    Run,
    table_of,
)

# an order's state as a resume's reconciliation read it at the venue (Alpaca's words), in the
# words the strategy's own events use (Backtrader's status names, lower case)
_RESUMED_STATUS = {
    "new": "accepted",
    "pending_new": "accepted",
    "accepted": "accepted",
    "held": "accepted",
    "partially_filled": "partial",
    "filled": "completed",
    "cancelled": "canceled",
    "done_for_day": "expired",
}
_RAW = sa.types.NullType()  # select driver values as they come (no per-row processing)


@dataclass(frozen=True)
class RunInfo:
    """One row of `runs`."""

    run_id: str
    mode: str
    venue: str
    strategy: str
    status: str
    pid: int | None
    heartbeat_at: dt.datetime | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    manifest: dict[str, Any]


def integral(values: Sequence[Any]) -> list[Any]:
    """Quantities as the strategy gave them: whole numbers as ints (the artifacts print `100`,
    not `100.0`, for share counts), anything fractional or missing left as it is."""
    if values and all(v is not None and float(v).is_integer() for v in values):
        return [int(v) for v in values]
    return list(values)


class JournalReader:
    """Read access to one journal (a SQLite file or a database)."""

    def __init__(self, engine: Engine, target: Target) -> None:
        self.engine = engine
        self.target = target
        self.codec = Codec(engine.dialect.name)

    @classmethod
    def open(cls, url_or_path: str | Path) -> JournalReader:
        """Open an existing journal for reading (a status command, compare, resume)."""
        target = Target.of(url_or_path)
        check_file(target, create=False)
        engine = make_engine(target)
        try:
            prepare_schema(engine, target, create=False)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, target)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ plumbing

    def _columns(
        self,
        model: type[Base],
        names: Sequence[str],
        run_id: str,
        *,
        after_id: int = 0,
        **where: Any,
    ) -> dict[str, list[Any]]:
        """`names` of `model`'s rows of `run_id` in insertion order, column by column (only the
        rows after the row `after_id`, if given)."""
        table = table_of(model)
        cols = [sa.type_coerce(table.c[n], _RAW).label(n) for n in names]
        query = sa.select(*cols).where(table.c.run_id == run_id)
        if after_id:
            query = query.where(table.c.id > after_id)
        for key, value in where.items():
            query = query.where(table.c[key] == value)
        rows = self._fetch(query.order_by(table.c.id))
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return {n: list(c) for n, c in zip(names, columns, strict=True)}

    def _frame(
        self, model: type[Base], names: list[str], run_id: str, *, times: tuple[str, ...]
    ) -> pd.DataFrame:
        """`names` of `model`'s rows of `run_id` as a frame, the `times` columns as datetimes."""
        cols = self._columns(model, names, run_id)
        frame = pd.DataFrame(cols, columns=names)
        for name in times:
            frame[name] = to_datetimes(cols[name])
        return frame

    def _fetch(self, query: sa.ClauseElement) -> list[Any]:
        """Rows as the driver returns them: the hot reads (an equity row per bar) skip
        SQLAlchemy's per-row result processing."""
        compiled = cast(SQLCompiler, query.compile(dialect=self.engine.dialect))
        params: Any = compiled.params
        if compiled.positional:
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
        try:
            with self.engine.connect() as conn:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.execute(compiled.string, params)
                    return list(cursor.fetchall())
                finally:
                    cursor.close()
        except (sa.exc.SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error) as exc:
            raise self._error("reading", exc) from None

    def _fetch_chunks(self, query: Any, size: int = 50_000) -> Iterator[list[Any]]:
        """Like `_fetch`, `size` rows at a time."""
        compiled = query.compile(dialect=self.engine.dialect)
        params: Any = compiled.params
        if compiled.positional:
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
        try:
            with self.engine.connect() as conn:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.execute(compiled.string, params)
                    while rows := cursor.fetchmany(size):
                        yield list(rows)
                finally:
                    cursor.close()
        except (sa.exc.SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error) as exc:
            raise self._error("reading", exc) from None

    def _error(self, what: str, exc: Exception) -> JournalError:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return JournalError(
            f"journal {self.target.label}: {what} failed ({detail}); check the file or database "
            "is reachable and not full"
        )

    # ------------------------------------------------------------------ runs

    def runs(self) -> list[RunInfo]:
        """Every run in the journal, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table_of(Run)).order_by(Run.created_at, Run.id)).all()
        return [self._info(row) for row in rows]

    def run(self, run_id: str) -> RunInfo:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(table_of(Run)).where(Run.id == run_id)).first()
        if row is None:
            raise JournalError(
                f"run {run_id!r} is not in journal {self.target.label}; see `parity runs list`"
            )
        return self._info(row)

    @staticmethod
    def _info(row: Any) -> RunInfo:
        m = row._mapping
        return RunInfo(
            run_id=m["id"],
            mode=m["mode"],
            venue=m["venue"],
            strategy=m["strategy"],
            status=m["status"],
            pid=m["pid"],
            heartbeat_at=m["heartbeat_at"],
            created_at=m["created_at"],
            finished_at=m["finished_at"],
            manifest=Codec.unjson(m["manifest"]) or {},
        )

    # ------------------------------------------------------------------ orders and fills

    def intents(self, run_id: str) -> pd.DataFrame:
        """Order intents in the order they were journaled."""
        names = [
            "client_order_id",
            "seq",
            "symbol",
            "side",
            "qty",
            "type",
            "limit_price",
            "stop_price",
            "decided_at",
            "created_at",
            "leg",
            "parent",
            "asset_class",
            "multiplier",
        ]
        return self._frame(OrderIntent, names, run_id, times=("decided_at", "created_at"))

    def multipliers(self, run_id: str) -> dict[str, float]:
        """Each traded symbol's multiplier as its filled orders recorded it (an option contract's
        lot size: what its round trips are booked with); symbols without one are left out."""
        cols = self._columns(OrderIntent, ["client_order_id", "symbol", "multiplier"], run_id)
        # orders that filled: a combo's own order names its underlying and its legs' multiplier
        filled = set(self._columns(Fill, ["client_order_id"], run_id)["client_order_id"])
        return {
            str(s): float(m)
            for c, s, m in zip(*cols.values(), strict=True)
            if m is not None and c in filled
        }

    def decisions(self, run_id: str) -> pd.DataFrame:
        """The strategy's decisions (`at, symbol, action, payload`) in the order journaled: an
        order's reason and what came with it (`payload.client_order_id` names the order), and
        notes such as an ambiguous exit."""
        frame = self._frame(Decision, ["at", "symbol", "action", "payload"], run_id, times=("at",))
        frame["payload"] = [Codec.unjson(p) for p in frame["payload"]]
        return frame

    def has_intent(self, run_id: str, client_order_id: str) -> bool:
        """Whether `run_id` journaled an intent with this client order id."""
        query = (
            sa.select(OrderIntent.seq)
            .where(OrderIntent.run_id == run_id, OrderIntent.client_order_id == client_order_id)
            .limit(1)
        )
        return bool(self._fetch(query))

    def next_order_number(self, run_id: str) -> int:
        """One more than the highest order number (`seq`) `run_id` journaled (1 if none)."""
        query = sa.select(sa.func.max(OrderIntent.seq)).where(OrderIntent.run_id == run_id)
        rows = self._fetch(query)
        return int(rows[0][0] or 0) + 1 if rows else 1

    def order_events(self, run_id: str) -> pd.DataFrame:
        names = [
            "client_order_id",
            "source",
            "event",
            "status",
            "filled_qty",
            "avg_price",
            "reason",
            "at",
            "recorded_at",
        ]
        return self._frame(OrderEvent, names, run_id, times=("at", "recorded_at"))

    def orders(self, run_id: str) -> pd.DataFrame:
        """One row per order (`orders.csv`): its intent and its last state. A resume's
        reconciliation is the latest view of an order sent before a crash; else the strategy's
        view is preferred; the venue's is used for orders the strategy never saw."""
        intents = self._columns(
            OrderIntent,
            ["client_order_id", "seq", "symbol", "side", "type", "qty", "limit_price",
             "stop_price", "decided_at", "leg", "parent"],
            run_id,
        )  # fmt: skip
        events = self._columns(
            OrderEvent,
            ["client_order_id", "source", "status", "filled_qty", "avg_price", "reason"],
            run_id,
        )
        fills = self._columns(Fill, ["client_order_id", "commission"], run_id)
        state: dict[tuple[str, str], dict[str, Any]] = {}
        for cid, source, status, filled, avg, reason in zip(*events.values(), strict=True):
            last = state.setdefault((cid, source), {"reason": ""})
            if source == "resume":  # the venue's word, in the strategy's vocabulary
                status = _RESUMED_STATUS.get(status, status)
            last.update(status=status, filled_qty=filled, avg_fill_price=avg)
            if reason:
                last["reason"] = reason
        commission: dict[str, float] = {}
        for cid, comm in zip(fills["client_order_id"], fills["commission"], strict=True):
            commission[cid] = commission.get(cid, 0.0) + comm
        rows = []
        for i, cid in enumerate(intents["client_order_id"]):
            # a resume reconciles an order after the strategy that sent it is gone: its view
            # is the latest (e.g. a fill made while the run was down)
            last = (
                state.get((cid, "resume"))
                or state.get((cid, "strategy"))
                or state.get((cid, "venue"))
                or {}
            )
            rows.append(
                [
                    intents["seq"][i],
                    cid,
                    intents["symbol"][i],
                    intents["side"][i],
                    intents["type"][i],
                    intents["qty"][i],
                    intents["limit_price"][i],
                    intents["stop_price"][i],
                    intents["decided_at"][i],
                    last.get("status", "new"),
                    last.get("reason", ""),
                    float(last.get("filled_qty") or 0.0),
                    last.get("avg_fill_price"),
                    commission.get(cid, 0.0),
                    intents["leg"][i],
                    intents["parent"][i],
                ]
            )
        frame = pd.DataFrame(rows, columns=ORDER_COLUMNS)
        if len(frame):
            frame["qty"] = integral(frame["qty"].tolist())
            frame["submitted_at"] = to_datetimes(intents["decided_at"])
        return placement_dtypes(frame)

    def fills(self, run_id: str) -> pd.DataFrame:
        """Every fill once, in the order they were journaled (`fills.csv`)."""
        names = ["at", "bar", "symbol", "side", "qty", "price", "commission", "order_seq",
                 "client_order_id", "kind"]  # fmt: skip
        cols = self._columns(Fill, names, run_id)
        cols["kind"] = [k or "trade" for k in cols["kind"]]  # NULL: written before schema 3
        frame = pd.DataFrame(dict(zip(FILL_COLUMNS, cols.values(), strict=True)))
        frame = frame.reindex(columns=FILL_COLUMNS)
        if len(frame):
            frame["datetime"] = to_datetimes(cols["at"])
            frame["qty"] = integral(cols["qty"])
        return frame

    def option_fill_costs(self, run_id: str) -> pd.DataFrame:
        """What each option leg's fill paid against its quote (schema 4): `client_order_id`,
        `symbol`, `side`, `qty`, `price`, `commission`, `mid`, `spread_cost`, `slippage_cost`
        (NaN for a fill written before), in journal order; trades only."""
        names = ["client_order_id", "symbol", "side", "qty", "price", "commission", "mid",
                 "spread_cost", "slippage_cost", "kind"]  # fmt: skip
        cols = self._columns(Fill, names, run_id)
        frame = pd.DataFrame(cols, columns=names)
        frame = frame[frame["kind"].fillna("trade") == "trade"].drop(columns="kind")
        from parity.instruments import instrument_for

        option = frame["symbol"].map(lambda s: instrument_for(str(s)).asset_class == "option")
        return frame[option.astype(bool)].reset_index(drop=True)

    def positions(self, run_id: str) -> dict[str, float]:
        """Net position per symbol, derived from the fills (symbols back to flat are 0)."""
        cols = self._columns(Fill, ["symbol", "side", "qty"], run_id)
        held: dict[str, float] = {}
        for symbol, side, qty in zip(cols["symbol"], cols["side"], cols["qty"], strict=True):
            held[symbol] = held.get(symbol, 0.0) + (qty if side == "buy" else -qty)
        return {s: (0.0 if abs(q) < 1e-9 else q) for s, q in held.items()}

    # ------------------------------------------------------------------ bars and equity

    def equity_last_id(self, run_id: str) -> int:
        """The id of the run's newest equity row (0 without one): what `equity(after_id=)` takes
        to read only what is new."""
        table = table_of(EquitySnapshot)
        query = sa.select(sa.func.max(table.c.id)).where(table.c.run_id == run_id)
        rows = self._fetch(query)
        return int(rows[0][0] or 0) if rows else 0

    def equity(self, run_id: str, *, after_id: int = 0) -> pd.DataFrame:
        """`value` and `cash` per bar on a `datetime` index (`equity.csv`); with `after_id`,
        only the rows written after that row."""
        table = table_of(EquitySnapshot)
        query = sa.select(*(sa.type_coerce(table.c[n], _RAW) for n in ("at", "value", "cash")))
        dtype = [("at", "datetime64[us]"), ("value", "f8"), ("cash", "f8")]
        # chunk by chunk, each in one C pass (SQLite's text times and PostgreSQL's datetimes
        # alike): a million rows never exist as Python tuples all at once
        parts = [
            np.array(rows, dtype=dtype)
            for rows in self._fetch_chunks(
                query.where(table.c.run_id == run_id, table.c.id > after_id).order_by(table.c.id)
            )
        ]
        array = np.concatenate(parts) if parts else np.array([], dtype=dtype)
        index = pd.DatetimeIndex(array["at"].astype("datetime64[ns]"))
        frame = pd.DataFrame({"value": array["value"], "cash": array["cash"]}, index=index)
        frame.index.name = "datetime"
        return frame

    def tape(self, run_id: str, *, after_id: int = 0) -> pd.DataFrame:
        """Every bar received, in arrival order (`tape.csv`); `received_at` in UTC. With
        `after_id` (see `tape_last_id`), only the bars journaled after that row."""
        names = ["symbol", "start", "open", "high", "low", "close", "volume", "source",
                 "received_at"]  # fmt: skip
        cols = self._columns(Bar, names, run_id, after_id=after_id)
        frame = pd.DataFrame(dict(zip(TAPE_COLUMNS, cols.values(), strict=True)))
        frame = frame.reindex(columns=TAPE_COLUMNS)
        if len(frame):
            frame["datetime"] = to_datetimes(cols["start"])
            frame["received_at"] = to_datetimes(cols["received_at"]).tz_localize("UTC")
        return frame

    def tape_last_id(self, run_id: str) -> int:
        """The id of the run's newest tape row (0 without one): what `tape(after_id=)` takes."""
        table = table_of(Bar)
        query = sa.select(sa.func.max(table.c.id)).where(table.c.run_id == run_id)
        rows = self._fetch(query)
        return int(rows[0][0] or 0) if rows else 0

    def last_equity(self, run_id: str) -> tuple[dt.datetime, int] | None:
        """The time and bar number of the run's newest equity row: the last bar the strategy
        fully processed (the recorder writes it after the bar's decisions). None without one."""
        table = table_of(EquitySnapshot)
        query = (
            sa.select(sa.type_coerce(table.c.at, _RAW), table.c.bar)
            .where(table.c.run_id == run_id)
            .order_by(table.c.id.desc())
            .limit(1)
        )
        rows = self._fetch(query)
        if not rows:
            return None
        at = to_datetimes([rows[0][0]])[0].to_pydatetime()
        return at, int(rows[0][1])

    def tape_ends(self, run_id: str) -> dict[str, tuple[dt.datetime, float]]:
        """Per symbol, the start and close of the newest bar on the tape."""
        table = table_of(Bar)
        newest = (
            sa.select(table.c.symbol, sa.func.max(table.c.start).label("start"))
            .where(table.c.run_id == run_id)
            .group_by(table.c.symbol)
            .subquery()
        )
        query = (
            sa.select(table.c.symbol, sa.type_coerce(table.c.start, _RAW), table.c.close)
            .join(
                newest, sa.and_(table.c.symbol == newest.c.symbol, table.c.start == newest.c.start)
            )
            .where(table.c.run_id == run_id)
            .order_by(table.c.id)
        )
        rows = self._fetch(query)
        starts = to_datetimes([r[1] for r in rows])
        return {
            str(r[0]): (start.to_pydatetime(), float(r[2]))
            for r, start in zip(rows, starts, strict=True)
        }

    def last_bar(self, run_id: str) -> dt.datetime | None:
        """The start of the last bar received (the tape), else of the last equity bar."""
        for model, column in ((Bar, "start"), (EquitySnapshot, "at")):
            table = table_of(model)
            query = sa.select(sa.func.max(sa.type_coerce(table.c[column], _RAW)))
            with self.engine.connect() as conn:
                value = conn.execute(query.where(table.c.run_id == run_id)).scalar()
            if value is not None:
                return to_datetimes([value])[0].to_pydatetime()  # type: ignore[no-any-return]
        return None

    # ------------------------------------------------------------------ events

    def events(self, run_id: str, kind: str | None = None) -> pd.DataFrame:
        """Events of `run_id` (of one `kind` if given): kind, level, payload (dict), at."""
        names = ["kind", "level", "payload", "at"]
        where: dict[str, Any] = {"kind": kind} if kind is not None else {}
        cols = self._columns(Event, names, run_id, **where)
        frame = pd.DataFrame(cols, columns=names)
        frame["payload"] = [Codec.unjson(p) for p in cols["payload"]]
        frame["at"] = to_datetimes(cols["at"])
        return frame
