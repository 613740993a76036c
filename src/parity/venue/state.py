"""`VenueState`: everything one running venue holds (engine, bars, clock, faults, stream
connections) and the replay loop. Lives on the server's event loop; nothing here is
thread-safe, `VenueServer` crosses threads with `run_coroutine_threadsafe`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgpack
from aiohttp import web

from parity.errors import ConfigError
from parity.venue.clock import rfc3339
from parity.venue.config import ALPACA_OPTION_FILLS, VenueConfig
from parity.venue.engine import Engine
from parity.venue.faults import FaultState, plan_from_json
from parity.venue.marketdata import MarketData
from parity.venue.models import order_json, trade_update_json
from parity.venue.options import VenueOptions, stream_quotes
from parity.venue.orders import Order, Position, TradeEvent
from parity.venue.persist import SavedVenue, VenueStore, orders_from_records
from parity.venue.ticks import stream_ticks

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
    """The venue's state and replay loop. With a `store`, every state change is saved before
    anyone hears of it (see `parity.venue.persist`), and `restore` continues a saved venue."""

    def __init__(self, config: VenueConfig, store: VenueStore | None = None) -> None:
        self.config = config
        self.store = store
        self.data = MarketData(config.data, config.start)
        self.calendar = self.data.calendar  # the bars' exchange: its zone, sessions and hours
        self.now: datetime = self.calendar.aware(self.data.steps[0].time)
        # option contracts and quotes: the model chain of each replayed equity
        self.options = VenueOptions(
            self.data.frames,
            config.data.calendar,
            params=config.option_chain,
            daily=self.data.bar_seconds >= 86400,
            costs=config.option_costs or ALPACA_OPTION_FILLS,
            charges=config.option_costs is not None,
            fee_report=config.option_fee_report,
        )
        self.faults = FaultState(self.calendar)
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
            options=self.options,
            ambiguous=config.ambiguous,
            finer=config.finer,
            bar=config.data.series[0].timeframe,
        )
        self.engine.reject_ids = self.faults.reject_orders
        self.step = 0
        self.current: datetime | None = None
        self.finished = False
        self.trading_conns: set[TradingConn] = set()
        self.data_conns: set[DataConn] = set()
        self.option_conns: set[DataConn] = set()  # `/v1beta1/{indicative,opra}`: quotes
        self.started = asyncio.Event()
        self.subscriber = asyncio.Event()
        self.acked = asyncio.Event()

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
            "option_connections": sum(1 for c in self.option_conns if c.subs.get("quotes")),
        }

    def ack(self, through: datetime) -> dict[str, Any]:
        """The client is done with every bar up to `through` (naive exchange time)."""
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

    # ----------------------------------------------------------------- persistence
    def replay_key(self) -> dict[str, Any]:
        """What identifies the replay a saved state belongs to."""
        steps = self.data.steps
        return {
            "symbols": self.data.symbols,
            "steps": len(steps),
            "first": steps[0].time.isoformat(),
            "last": steps[-1].time.isoformat(),
        }

    def account_record(self) -> dict[str, Any]:
        """Cash, positions, prices, the replay cursor and the faults still to come."""
        engine = self.engine
        return {
            "cash": engine.cash,
            "initial_cash": engine.initial_cash,
            "last_equity": engine.last_equity,
            "equity_date": engine.equity_date.isoformat() if engine.equity_date else None,
            "last_price": engine.last_price,
            "positions": {s: [p.qty, p.avg_price] for s, p in engine.positions.items()},
            "now": self.now.isoformat(),
            "step": self.step,
            "current": self.current.isoformat() if self.current else None,
            "finished": self.finished,
            "faults": self.faults.describe(),
            # option expiries, exercises and assignments applied (the OPEXC/OPASN/OPEXP rows)
            "option_events": engine.option_events,
        }

    def save(self, events: list[TradeEvent]) -> None:
        """Save the account, every order (with its legs and parent) that `events` report
        changed, and the new fills. The engine changes an order only with an event, except a
        stop-limit order's trigger: open stop-limit orders are saved each time."""
        if self.store is None:
            return
        orders = self.engine.orders
        touched: dict[str, Order] = {
            o.id: o for o in orders.values() if o.type == "stop_limit" and o.is_open
        }
        for event in events:
            order = event.order
            for one in (order, *order.legs, orders.get(order.parent_id or "")):
                if one is not None:
                    touched[one.id] = one
        self.store.save(
            replay=self.replay_key(),
            account=self.account_record(),
            orders=touched.values(),
            fills=self.engine.fills,
        )

    def restore(self, saved: SavedVenue) -> None:
        """Continue from `saved`: orders, fills, cash, positions, clock, replay cursor, faults."""
        if not _continues(saved.replay, self.replay_key()):
            raise ConfigError(
                f"the saved venue replayed other bars ({saved.replay}) than this one "
                f"({self.replay_key()}); resume with the run's own --data, --from and --to"
            )
        account, engine = saved.account, self.engine
        self.step = int(account["step"])
        if self.step and self.data.steps[self.step - 1].time.isoformat() != account["current"]:
            raise ConfigError(
                f"the saved venue's cursor (step {self.step} at {account['current']}) is not on "
                "this replay's bars; resume with the run's own data"
            )
        self.current = datetime.fromisoformat(account["current"]) if account["current"] else None
        self.now = datetime.fromisoformat(account["now"]).astimezone(self.calendar.zone)
        # a replay continued on a later day (`run paper --continue`) goes on past the old end
        self.finished = bool(account["finished"]) and self.step >= len(self.data.steps)
        self.faults = FaultState(self.calendar)
        self.faults.add(plan_from_json(account["faults"]))
        engine.reject_ids = self.faults.reject_orders
        engine.now = self.now
        engine.cash = float(account["cash"])
        engine.initial_cash = float(account["initial_cash"])
        engine.last_equity = float(account["last_equity"])
        day = account["equity_date"]
        engine.equity_date = date.fromisoformat(day) if day else None
        engine.last_price = {s: float(p) for s, p in account["last_price"].items()}
        engine.positions = {s: Position(q, a) for s, (q, a) in account["positions"].items()}
        engine.orders = orders_from_records(saved.orders)
        engine.by_client_id = {o.client_order_id: o for o in engine.orders.values()}
        engine.fills = [dict(f) for f in saved.fills]
        engine.option_events = [dict(e) for e in account.get("option_events", [])]

    # ----------------------------------------------------------------- trade updates
    def flush_events(self) -> None:
        """Save the state (a client hears of nothing that is not on disk), then queue the
        engine's pending trade updates on every trading connection, in order."""
        events = self.engine.drain_events()
        self.save(events)
        for event in events:
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
        steps = self.data.steps
        resumed_at = self.step  # > 0: a restored venue goes on after the last step it published
        if resumed_at and config.speed is None:
            # the step in flight when the venue stopped: the client acknowledges it on its return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.acked.wait(), timeout)
        loop = asyncio.get_running_loop()
        wall0 = loop.time()
        first = steps[min(resumed_at, len(steps) - 1)].time
        for index in range(resumed_at, len(steps)):
            step = steps[index]
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
        self.save([])
        log.info("replay finished after %d steps", len(steps))

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
        self.now = self.calendar.aware(step.time) + self.data.bar_length
        self.engine.advance(self.now)
        self.engine.on_step(self.calendar.aware(step.time), step.bars)
        self.flush_events()
        await self._drain_trading()
        sent = False
        if step.time not in self.faults.dropped:
            sent = await self._send_bars(step.time, step.bars)
            await self._send_option_quotes(step.time, step.bars)
        else:  # the step's bars and option quotes are lost
            self.faults.dropped.discard(step.time)
        if self.step in self.faults.disconnect_data:
            self.faults.disconnect_data.discard(self.step)
            await self.close_data(reason="fault: data stream disconnect")
        if self.step in self.faults.disconnect_trading:
            self.faults.disconnect_trading.discard(self.step)
            await self.close_trading(reason="fault: trading stream disconnect")
        return sent

    async def _send_bars(self, when: datetime, bars: dict[str, Any]) -> bool:
        stamp = msgpack.Timestamp.from_datetime(self.calendar.aware(when))
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
            messages += stream_ticks(conn.subs, self.data, self.config.costs, when, bars)
            if not messages:
                continue
            try:
                await asyncio.wait_for(conn.send(messages), SEND_TIMEOUT)
                sent = True
            except (TimeoutError, ConnectionError, RuntimeError) as exc:
                log.warning("dropping data connection: %s", exc)
                self.data_conns.discard(conn)
        return sent

    async def _send_option_quotes(self, when: datetime, bars: dict[str, Any]) -> None:
        for conn in list(self.option_conns):
            messages = stream_quotes(self.options, conn.subs.get("quotes", set()), when, bars)
            for message in messages:
                message["t"] = msgpack.Timestamp.from_datetime(self.calendar.aware(message["t"]))
            if messages:
                try:
                    await asyncio.wait_for(conn.send(messages), SEND_TIMEOUT)
                except (TimeoutError, ConnectionError, RuntimeError) as exc:
                    log.warning("dropping option data connection: %s", exc)
                    self.option_conns.discard(conn)

    async def close_data(self, *, reason: str) -> None:
        conns = [*self.data_conns, *self.option_conns]
        self.data_conns, self.option_conns = set(), set()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=reason.encode())

    async def close_trading(self, *, reason: str) -> None:
        await self._drain_trading()
        conns, self.trading_conns = list(self.trading_conns), set()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=reason.encode())


def _continues(saved: dict[str, Any], key: dict[str, Any]) -> bool:
    """`key`'s replay is the saved one, or the saved one extended to later bars (a paper run
    continued on the next day replays through that day; `restore` checks the cursor lies on
    the same bars)."""
    if saved == key:
        return True
    same_start = (
        list(saved.get("symbols") or ()) == list(key["symbols"])
        and saved.get("first") == key["first"]
    )
    return (
        same_start
        and int(saved.get("steps", 0)) <= key["steps"]
        and (str(saved.get("last", "")) <= key["last"])
    )
