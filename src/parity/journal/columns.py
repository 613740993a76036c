"""Columns of the CSV run artifacts that are exported from the journal (a public contract)."""

from __future__ import annotations

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
