"""One run's data as frames: from its journal (`JournalSource`) or, for a run without one, from
its CSV artifacts (`ArtifactSource`). Both answer the same few questions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa

from parity.analyzers.ledger import round_trips
from parity.analyzers.reasons import annotate_trades
from parity.dashboard.catalog import read_json
from parity.engine.ambiguity import PLACED_FIRST
from parity.journal.codec import to_datetimes
from parity.journal.reader import JournalReader
from parity.journal.schema import (
    Bar,
    Decision,
    EquitySnapshot,
    Event,
    Fill,
    OrderEvent,
    OrderIntent,
    table_of,
)
from parity.manifest import Manifest

_EVENT_COLUMNS = ["kind", "level", "payload", "at"]


class RunSource(Protocol):
    def manifest(self) -> Manifest: ...

    def equity(self) -> pd.DataFrame: ...

    def last_equity(self) -> tuple[float, pd.Timestamp] | None: ...

    def fills(self) -> pd.DataFrame: ...

    def from_fills(self, name: str, derive: Callable[[pd.DataFrame], Any]) -> Any: ...

    def orders(self) -> pd.DataFrame: ...

    def trades(self) -> pd.DataFrame: ...

    def order_reasons(self) -> dict[str, str]: ...

    def events(self) -> pd.DataFrame: ...

    def tape_size(self) -> int: ...

    def tape(self) -> pd.DataFrame: ...

    def last_prices(self) -> dict[str, float]: ...

    def option_fills(self) -> pd.DataFrame | None: ...


class JournalSource:
    """A run read through its journal (read-only)."""

    def __init__(
        self,
        reader: JournalReader,
        run_id: str,
        manifest: Manifest,
        cache: dict[str, tuple[Any, Any]] | None = None,
    ) -> None:
        self.reader = reader
        self.run_id = run_id
        self._manifest = manifest
        self._cache = {} if cache is None else cache
        self._key = f"{reader.target.label}#{run_id}"

    def manifest(self) -> Manifest:
        return self._manifest

    def equity(self) -> pd.DataFrame:
        """The whole curve; only the rows written since the last call are read."""
        last_id = self.reader.equity_last_id(self.run_id)
        frame, seen = self._cache.get(self._key, (None, 0))
        if frame is None or last_id < seen:  # first read, or a journal written anew
            frame, seen = None, 0
        if frame is None or last_id > seen:
            new = self.reader.equity(self.run_id, after_id=seen)
            frame = new if frame is None else pd.concat([frame, new])
            frame = frame[~frame.index.duplicated(keep="last")]  # a resumed run's overlap
            self._cache[self._key] = (frame, last_id)
        return frame

    def _scalar_row(self, query: Any) -> Any:
        with self.reader.engine.connect() as conn:
            return conn.execute(query).first()

    def last_equity(self) -> tuple[float, pd.Timestamp] | None:
        table = table_of(EquitySnapshot)
        row = self._scalar_row(
            sa.select(table.c.value, sa.type_coerce(table.c.at, sa.types.NullType()))
            .where(table.c.run_id == self.run_id)
            .order_by(table.c.id.desc())
            .limit(1)
        )
        if row is None:
            return None
        return float(row[0]), to_datetimes([row[1]])[0]

    def _version(self, *models: Any) -> tuple[int, ...]:
        """The newest row id of each table for this run: unchanged ids, unchanged data."""
        tables = [table_of(m) for m in models]
        query = sa.select(
            *(sa.select(sa.func.max(t.c.id)).where(t.c.run_id == self.run_id).scalar_subquery()
              for t in tables)
        )  # fmt: skip
        row = self._scalar_row(query)
        return tuple(int(v or 0) for v in row) if row is not None else ()

    def _memo(self, name: str, models: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        """`load()` again only when one of `models`' tables got rows for the run since."""
        key, version = f"{self._key}:{name}", self._version(*models)
        hit = self._cache.get(key)
        if hit is not None and hit[1] == version:
            return hit[0]
        value = load()
        self._cache[key] = (value, version)
        return value

    def fills(self) -> pd.DataFrame:
        return self._memo("fills", (Fill,), lambda: self.reader.fills(self.run_id))

    def from_fills(self, name: str, derive: Callable[[pd.DataFrame], Any]) -> Any:
        """`derive(fills)`, computed again only when the run has new fills."""
        return self._memo(f"fills:{name}", (Fill,), lambda: derive(self.fills()))

    def orders(self) -> pd.DataFrame:
        return self._memo(
            "orders", (OrderIntent, OrderEvent), lambda: self.reader.orders(self.run_id)
        )

    def option_fills(self) -> pd.DataFrame | None:
        """Each option leg's fill with its quote's mid and what it paid (schema 4)."""
        return self._memo(
            "option_fills", (Fill,), lambda: self.reader.option_fill_costs(self.run_id)
        )

    def trades(self) -> pd.DataFrame:
        """Closed round trips with the strategy's reasons (`trades.csv`'s columns), as they
        stand now."""
        rule = (self._manifest.config or {}).get("ambiguous") or PLACED_FIRST

        def load() -> pd.DataFrame:
            fills = self.fills()
            return annotate_trades(round_trips(fills), fills, self._decisions(), rule=rule)

        return self._memo("trades", (Fill, Decision), load)

    def order_reasons(self) -> dict[str, str]:
        """Client order id -> the reason the strategy gave the order (when it gave one)."""
        out: dict[str, str] = {}
        for action, payload in zip(
            self._decisions()["action"], self._decisions()["payload"], strict=True
        ):
            cid = payload.get("client_order_id") if isinstance(payload, dict) else None
            if cid is not None and action != "ambiguous":
                out[str(cid)] = str(action)
        return out

    def _decisions(self) -> pd.DataFrame:
        return self._memo("decisions", (Decision,), lambda: self.reader.decisions(self.run_id))

    def events(self) -> pd.DataFrame:
        return self._memo("events", (Event,), lambda: self.reader.events(self.run_id))

    def tape_size(self) -> int:
        table = table_of(Bar)
        row = self._scalar_row(
            sa.select(sa.func.count(table.c.id)).where(table.c.run_id == self.run_id)
        )
        return int(row[0]) if row else 0

    def tape(self) -> pd.DataFrame:
        return self.reader.tape(self.run_id)

    def last_prices(self) -> dict[str, float]:
        """The last close received per symbol (one row per symbol, not the whole tape)."""
        table = table_of(Bar)
        last = (
            sa.select(sa.func.max(table.c.id))
            .where(table.c.run_id == self.run_id)
            .group_by(table.c.symbol)
        )
        query = sa.select(table.c.symbol, table.c.close).where(table.c.id.in_(last))
        with self.reader.engine.connect() as conn:
            return {str(s): float(c) for s, c in conn.execute(query).all()}


class ArtifactSource:
    """A finished run without a journal: its `equity.csv`, `fills.csv`, `orders.csv`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def manifest(self) -> Manifest:
        return Manifest.from_dict(
            read_json(self.run_dir / "manifest.json"), run_id=self.run_dir.name
        )

    def _csv(self, name: str, **kwargs: Any) -> pd.DataFrame:
        try:
            return pd.read_csv(self.run_dir / name, **kwargs)
        except (OSError, ValueError):
            return pd.DataFrame()

    def equity(self) -> pd.DataFrame:
        frame = self._csv("equity.csv", index_col="datetime", parse_dates=["datetime"])
        if "value" not in frame:
            return pd.DataFrame({"value": [], "cash": []}, index=pd.DatetimeIndex([]))
        return frame

    def last_equity(self) -> tuple[float, pd.Timestamp] | None:
        equity = self.equity()
        if not len(equity):
            return None
        return float(equity["value"].iloc[-1]), pd.Timestamp(equity.index[-1])

    def fills(self) -> pd.DataFrame:
        return self._csv("fills.csv", parse_dates=["datetime"])

    def from_fills(self, name: str, derive: Callable[[pd.DataFrame], Any]) -> Any:
        return derive(self.fills())

    def orders(self) -> pd.DataFrame:
        return self._csv("orders.csv")

    def trades(self) -> pd.DataFrame:
        return self._csv("trades.csv", keep_default_na=False)

    def order_reasons(self) -> dict[str, str]:
        return {}  # an artifact run's open orders ended with it

    def option_fills(self) -> pd.DataFrame | None:
        return None  # its `options_fills.csv` has them (`option_tables.combos_from_files`)

    def events(self) -> pd.DataFrame:
        return pd.DataFrame(columns=_EVENT_COLUMNS)

    def tape_size(self) -> int:
        return 0

    def tape(self) -> pd.DataFrame:
        return pd.DataFrame()

    def last_prices(self) -> dict[str, float]:
        return {}
