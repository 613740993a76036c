"""Columns of the CSV run artifacts that are exported from the journal (a public contract)."""

from __future__ import annotations

import pandas as pd

ORDER_COLUMNS = [
    "order_id",
    "client_order_id",
    "symbol",
    "side",
    "type",
    "qty",
    "limit_price",
    "stop_price",
    "submitted_at",
    "status",
    "reason",
    "filled_qty",
    "avg_fill_price",
    "commission",
    # an option combo's leg (from 1) and the client order id of its combo, or of the order a
    # bracket exit or an option event (expiry, assignment) belongs to
    "leg",
    "parent",
]
FILL_COLUMNS = [
    "datetime",
    "bar",
    "symbol",
    "side",
    "qty",
    "price",
    "commission",
    "order_id",
    "client_order_id",
    "kind",  # trade, or the option event that booked it (expiry, exercise, assignment, ...)
]
TAPE_COLUMNS = [
    "symbol",
    "datetime",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "source",
    "received_at",
]


def placement_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """`leg` as a nullable integer and `parent` as text or None, however the rows were built
    (the recorder's dicts, the journal's driver values): the two exports compare equal."""
    if "leg" in frame:
        frame["leg"] = pd.array(
            [None if pd.isna(v) else int(v) for v in frame["leg"]], dtype="Int64"
        )
    if "parent" in frame:
        frame["parent"] = pd.Series(
            [None if v is None or v is pd.NA or v != v else str(v) for v in frame["parent"]],
            index=frame.index,
            dtype=object,
        )
    return frame
