"""One run's data as frames: from its journal (`JournalSource`) or, for a run without one, from
its CSV artifacts (`ArtifactSource`). Both answer the same few questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa

from parity.dashboard.catalog import read_json
from parity.journal.codec import to_datetimes
from parity.journal.reader import JournalReader
from parity.journal.schema import Bar, EquitySnapshot, table_of

_EVENT_COLUMNS = ["kind", "level", "payload", "at"]


class RunSource(Protocol):
    def manifest(self) -> dict[str, Any]: ...

    def equity(self) -> pd.DataFrame: ...

    def last_equity(self) -> tuple[float, pd.Timestamp] | None: ...

    def fills(self) -> pd.DataFrame: ...

    def orders(self) -> pd.DataFrame: ...

    def events(self) -> pd.DataFrame: ...

    def tape_size(self) -> int: ...

    def tape(self) -> pd.DataFrame: ...

    def last_prices(self) -> dict[str, float]: ...


class JournalSource:
    """A run read through its journal (read-only)."""

    def __init__(self, reader: JournalReader, run_id: str, manifest: dict[str, Any]) -> None:
        self.reader = reader
        self.run_id = run_id
        self._manifest = manifest

    def manifest(self) -> dict[str, Any]:
        return self._manifest

    def equity(self) -> pd.DataFrame:
        equity = self.reader.equity(self.run_id)
        return equity[~equity.index.duplicated(keep="last")]  # a resumed run's overlap

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

    def fills(self) -> pd.DataFrame:
        return self.reader.fills(self.run_id)

    def orders(self) -> pd.DataFrame:
        return self.reader.orders(self.run_id)

    def events(self) -> pd.DataFrame:
        return self.reader.events(self.run_id)

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

    def manifest(self) -> dict[str, Any]:
        return read_json(self.run_dir / "manifest.json") or {}

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

    def orders(self) -> pd.DataFrame:
        return self._csv("orders.csv")

    def events(self) -> pd.DataFrame:
        return pd.DataFrame(columns=_EVENT_COLUMNS)

    def tape_size(self) -> int:
        return 0

    def tape(self) -> pd.DataFrame:
        return pd.DataFrame()

    def last_prices(self) -> dict[str, float]:
        return {}
