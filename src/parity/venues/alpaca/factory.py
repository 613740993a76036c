"""The `alpaca` venue: Alpaca's paper API, keys and URL overrides from the environment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from parity.errors import DataError

if TYPE_CHECKING:
    from parity.venues.alpaca.client import AlpacaStore
    from parity.venues.protocol import Notify, Session, SessionConfig


def client_from_env() -> AlpacaStore:
    from parity.venues.alpaca.client import AlpacaStore
    from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints

    return AlpacaStore(AlpacaCredentials.from_env(), AlpacaEndpoints.from_env())


class AlpacaVenue:
    name = "alpaca"
    label = "alpaca-paper"
    help = "Alpaca's paper API (keys from the environment)"
    replays = False

    def open(
        self,
        config: SessionConfig,
        notify: Notify,
        *,
        run_dir: Path | None = None,
        resume: bool = False,
    ) -> Session:
        from parity.venues.alpaca.session import AlpacaSession
        from parity.venues.clock import exchange_now

        return AlpacaSession(client_from_env(), config.until, clock=exchange_now(config))

    def data_source(self, config: SessionConfig) -> str:
        return "alpaca"

    def history_source(
        self, recorded: str, symbols: Sequence[str], start: dt.date, end: dt.date, directory: Path
    ) -> str:
        """Alpaca's 1-minute history of the window into `directory` as SYMBOL.csv files."""
        import pandas as pd

        try:
            store = client_from_env()
            store.set_market(tuple(symbols))  # crypto pairs: the crypto client, UTC days
            first = dt.datetime.combine(start, dt.time())
            last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
            for symbol in symbols:
                bars = store.history_bars(symbol, first, last)
                frame = pd.DataFrame(
                    [(b.start, b.open, b.high, b.low, b.close, b.volume) for b in bars],
                    columns=["datetime", "open", "high", "low", "close", "volume"],
                )
                frame.to_csv(directory / f"{symbol}.csv", index=False)
        except Exception as exc:  # no keys, no network, API errors: all end in the same advice
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise DataError(f"Alpaca history is unreachable ({reason})") from exc
        return str(directory)

    def flatten_stopped(self, run_id: str, symbols: Sequence[str]) -> list[str] | None:
        """The run's open orders (by client order id prefix) cancelled, its symbols closed."""
        store = client_from_env()
        store.set_market(tuple(symbols))
        lines = []
        try:
            for order in store.open_orders():
                if order.client_order_id.startswith(f"{run_id}-"):
                    store.cancel_order(order.id)
                    lines.append(
                        f"cancelled {order.client_order_id} "
                        f"({order.side} {order.qty:g} {order.symbol})"
                    )
            for symbol in symbols:
                placed = store.close_position(symbol)
                if placed is not None:
                    lines.append(
                        f"closing {symbol}: order {placed.id} ({placed.side} {placed.qty:g})"
                    )
        finally:
            store.stop()
        return lines
