"""`VenueState`: everything one running venue holds (engine, bars, clock, faults, stream
connections) and the replay loop. Lives on the server's event loop; nothing here is
thread-safe, `VenueServer` crosses threads with `run_coroutine_threadsafe`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgpack
from aiohttp import web

from parity.venue.clock import MarketCalendar, ny, rfc3339
from parity.venue.config import VenueConfig
from parity.venue.engine import Engine
from parity.venue.faults import FaultState
from parity.venue.marketdata import MarketData
from parity.venue.models import order_json, trade_update_json

log = logging.getLogger(__name__)
SEND_TIMEOUT = 5.0


@dataclass(eq=False)
class TradingConn:
    """An authenticated trading-stream connection listening to trade_updates."""

    ws: web.WebSocketResponse
    queue: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)


@dataclass(eq=False)
class DataConn:
    """An authenticated market-data connection and its subscriptions."""

    ws: web.WebSocketResponse
    binary: bool
    subs: dict[str, set[str]] = field(default_factory=dict)

    def encode(self, messages: list[dict[str, Any]]) -> bytes | str:
        if self.binary:
            return msgpack.packb(messages, use_bin_type=True)
        return json.dumps(messages, default=_json_default)

    async def send(self, messages: list[dict[str, Any]]) -> None:
        payload = self.encode(messages)
        if isinstance(payload, bytes):
            await self.ws.send_bytes(payload)
        else:
            await self.ws.send_str(payload)

    def wants(self, symbol: str) -> bool:
        bars = self.subs.get("bars", set())
        return symbol in bars or "*" in bars


def _json_default(value: Any) -> Any:
    if isinstance(value, msgpack.Timestamp):
        return rfc3339(value.to_datetime())
    raise TypeError(type(value).__name__)


class VenueState:
    """The venue's state and replay loop."""

    def __init__(self, config: VenueConfig) -> None:
        self.config = config
        self.data = MarketData(config.data, config.start)
        self.calendar = MarketCalendar(self.data.dates)
        self.now: datetime = ny(self.data.steps[0].time)
        self.faults = FaultState()
        self.faults.add(config.faults)
        self.engine = Engine(
            self.data.symbols,
            cash=config.cash,
            costs=config.costs,
            calendar=self.calendar,
            now=self.now,
            latency_ms=config.latency_ms,
            volume_share=config.volume_share,
            reference_prices=self.data.reference_prices,
        )
        self.engine.reject_ids = self.faults.reject_orders
        self.step = 0
        self.current: datetime | None = None
        self.finished = False
        self.trading_conns: set[TradingConn] = set()
        self.data_conns: set[DataConn] = set()
        self.started = asyncio.Event()
        self.subscriber = asyncio.Event()
        self.acked = asyncio.Event()
        self.stopping = False

    # ----------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        """The `/parity/v1/status` body."""
        return {
            "time": self.current.isoformat() if self.current else None,
            "step": self.step,
            "steps": len(self.data.steps),
            # the next two steps' times: a lock-step client knows a bucket (5Min, 1Day) is
            # complete before its acknowledgement lets the next step be matched
            "upcoming": [
                step.time.isoformat() for step in self.data.steps[self.step : self.step + 2]
            ],
            "finished": self.finished,
            "clock": self.now.isoformat(),
            "trading_connections": len(self.trading_conns),
            "data_connections": sum(1 for c in self.data_conns if c.subs.get("bars")),
        }

    def ack(self, through: datetime) -> dict[str, Any]:
        """The client is done with every bar up to `through` (naive NY)."""
        if self.current is not None and through == self.current:
            self.acked.set()
        return self.status()

    def snapshot(self) -> dict[str, Any]:
        """Account, positions, orders and fills (for tests and reconciliation)."""
        engine = self.engine
        return {
            **self.status(),
            "account": {
                "cash": engine.cash,
                "equity": engine.equity(),
                "buying_power": engine.buying_power(),
            },
            "positions": {
                symbol: {
                    "qty": p.qty,
                    "avg_entry_price": p.avg_price,
                    "market_value": p.qty * engine.last_price.get(symbol, p.avg_price),
                }
                for symbol, p in engine.positions.items()
            },
            "orders": [order_json(o) for o in engine.orders.values() if o.parent_id is None],
            "fills": [dict(f) for f in engine.fills],
            "faults": self.faults.describe(),
        }

    # ----------------------------------------------------------------- trade updates
    def flush_events(self) -> None:
        """Queue the engine's pending trade updates on every trading connection, in order."""
        for event in self.engine.drain_events():
            payload = json.dumps(trade_update_json(event)).encode()
            for conn in self.trading_conns:
                conn.queue.put_nowait(payload)

    async def _drain_trading(self) -> None:
        for conn in list(self.trading_conns):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.queue.join(), SEND_TIMEOUT)

    # ----------------------------------------------------------------- replay
    async def replay(self) -> None:
        """Publish every step: lock-step on acks, or paced by `speed`."""
        config = self.config
        timeout = config.ack_timeout
        if config.speed is None:
            await self.subscriber.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.subscriber.wait(), timeout)
        self.started.set()
        loop = asyncio.get_running_loop()
        wall0 = loop.time()
        first = self.data.steps[0].time
        for index, step in enumerate(self.data.steps):
            if config.speed is not None:
                due = wall0 + (step.time - first).total_seconds() / config.speed
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif not any(c.subs.get("bars") for c in self.data_conns):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_for_subscriber(), timeout)
            sent = await self.publish(index)
            if config.speed is None and sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.acked.wait(), timeout)
        self.finished = True
        log.info("replay finished after %d steps", len(self.data.steps))

    async def _wait_for_subscriber(self) -> None:
        while not any(c.subs.get("bars") for c in self.data_conns):
            await asyncio.sleep(0.01)

    async def publish(self, index: int) -> bool:
        """Publish step `index`: clock, matching, trade updates, then bars. True if any bar was
        sent to a client."""
        step = self.data.steps[index]
        self.acked.clear()
        self.current = step.time
        self.step = index + 1
        self.now = ny(step.time) + self.data.bar_length
        self.engine.advance(self.now)
        self.engine.on_step(ny(step.time), step.bars)
        self.flush_events()
        await self._drain_trading()
        sent = False
        if step.time not in self.faults.dropped:
            sent = await self._send_bars(step.time, step.bars)
        else:
            self.faults.dropped.discard(step.time)
        if self.step in self.faults.disconnect_data:
            self.faults.disconnect_data.discard(self.step)
            await self.close_data(reason="fault: data stream disconnect")
        if self.step in self.faults.disconnect_trading:
            self.faults.disconnect_trading.discard(self.step)
            await self.close_trading(reason="fault: trading stream disconnect")
        return sent

    async def _send_bars(self, when: datetime, bars: dict[str, Any]) -> bool:
        stamp = msgpack.Timestamp.from_datetime(ny(when))
        sent = False
        for conn in list(self.data_conns):
            messages = [
                {
                    "T": "b",
                    "S": symbol,
                    "o": bar.open,
                    "h": bar.high,
                    "l": bar.low,
                    "c": bar.close,
                    "v": int(bar.volume) if float(bar.volume).is_integer() else bar.volume,
                    "t": stamp,
                    "n": 0,
                    "vw": None,
                }
                for symbol, bar in bars.items()
                if conn.wants(symbol)
            ]
            if not messages:
                continue
            try:
                await asyncio.wait_for(conn.send(messages), SEND_TIMEOUT)
                sent = True
            except (TimeoutError, ConnectionError, RuntimeError) as exc:
                log.warning("dropping data connection: %s", exc)
                self.data_conns.discard(conn)
        return sent

    async def close_data(self, *, reason: str) -> None:
        conns, self.data_conns = list(self.data_conns), set()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=reason.encode())

    async def close_trading(self, *, reason: str) -> None:
        await self._drain_trading()
        conns, self.trading_conns = list(self.trading_conns), set()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=reason.encode())
