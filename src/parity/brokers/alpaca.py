"""`AlpacaBroker`: a Backtrader broker whose orders go to an Alpaca-compatible venue.

Every trade update (`new, accepted, partial_fill, fill, canceled, expired, rejected, replaced,
done_for_day, pending_*`) becomes the matching Backtrader order state and notification, including
partial fills and the legs of bracket orders (also after a leg is replaced). Fills are applied
exactly once, keyed by the order's cumulative filled quantity, whether they arrive on the stream
or are found by the REST sync that runs on every new bar while orders are open — so a dropped
stream loses nothing. Every final venue state ends the Backtrader order, whatever its type, with
the venue's reason. Client order ids come from the run's `OrderIds` (`PREFIX-000001`, ...), so
a submission left unanswered is looked up by its id, never blindly sent twice; the graceful stop's
cancels are read back, so they are journaled like any other update.

The shared parts are the run's `BrokerCore` (ids, review, journal) and `core.settle`; a fill's
fee is the one the venue reports for the order (`store.order_fees`), never the run's own cost
configuration. A finished order is kept for `RECENT` more finished orders (late updates of it
are recognised), then only the journal knows it: memory stays flat over a long run.

The order half is `alpaca_submit.AlpacaSubmission`, the update half `alpaca_updates.AlpacaUpdates`;
this class holds the state and the accounting.
"""

from __future__ import annotations

import collections
import queue
from typing import TYPE_CHECKING, Any

import backtrader as bt

from parity.brokers.alpaca_orders import refused_in
from parity.brokers.alpaca_submit import AlpacaSubmission
from parity.brokers.alpaca_updates import RECENT
from parity.brokers.core import BrokerCore, OrderIds
from parity.errors import BrokerError
from parity.instruments import instrument_of
from parity.venues.types import (
    OrderRequest,
    PositionInfo,
    TradeEvent,
)

if TYPE_CHECKING:  # the client builds this broker (`getbroker`): a type-only import back
    from parity.venues.alpaca.client import AlpacaStore

__all__ = ["RECENT", "AlpacaBroker"]


class AlpacaBroker(AlpacaSubmission):
    """Backtrader broker on an `AlpacaStore`.

    `cash` caps the capital the strategy may use (default: the account's cash). Positions held
    in the run's symbols at start are taken over through `adopt()`; the runner decides the policy.
    """

    params = (
        ("cash", None),
        ("starting_cash", None),
        ("marks", None),  # symbol -> last known price, for a position before its first bar
        ("next_bar", None),  # a `valid.NextBar`: when the venue's next bar starts, if it says
    )
    refused_in = staticmethod(refused_in)  # the runner refuses such a strategy before it starts

    def __init__(
        self, store: AlpacaStore, core: BrokerCore | None = None, options: Any = None
    ) -> None:
        """`options`: the venue's options desk (`venues.alpaca.option_desk.VenueOptionsDesk`,
        the backtest desk's API) for a strategy that trades options, else None."""
        super().__init__()
        self.store = store
        self.options = options
        self.core = core or BrokerCore(OrderIds("parity"))
        self.notifs: collections.deque[bt.Order] = collections.deque()
        self._events: queue.SimpleQueue[TradeEvent] = queue.SimpleQueue()
        self._orders: dict[str, bt.Order] = {}  # client order id -> order (open or recent)
        self._finished: collections.deque[str] = collections.deque()  # recent final, oldest 1st
        self._fees_seen: dict[str, int] = {}  # venue order id -> its fees applied
        self._cid_of_venue_id: dict[str, str] = {}  # venue order id -> client order id
        self._filled: dict[str, float] = {}  # client order id -> cumulative qty applied
        self._notional: dict[str, float] = {}  # client order id -> cumulative notional applied
        self._held: list[bt.Order] = []  # bracket parts waiting for the transmitting order
        self._adopted: dict[str, PositionInfo] = {}
        self.positions: collections.defaultdict[Any, bt.Position] = collections.defaultdict(
            bt.Position
        )
        self._synced_len: dict[Any, int] = {}
        self._catching_up: set[str] = set()  # client ids of bracket parents being read back
        # sent, but neither the answer nor a look-up came back: looked up again on each new
        # bar, never resent blindly (client id -> the request, its orders, the bar last tried)
        self._unconfirmed: dict[str, tuple[OrderRequest, bt.Order, list[bt.Order], int]] = {}
        self.cash = 0.0
        self.startingcash = 0.0
        self.account_cash = 0.0
        store.subscribe_trade_updates(self._events.put)  # registration only; no I/O here
        self._superseded: set[str] = set()  # venue ids of orders re-sent in an oco pair
        self._expiring: set[str] = set()  # `valid=` reached: cancelled by us, ended as Expired
        self._with_valid: dict[str, bt.Order] = {}  # open orders with `valid=` (client id ->)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        super().start()
        account = self.store.account()
        self.account_cash = account.cash
        wanted = self.p.cash
        self.cash = self.startingcash = float(wanted if wanted is not None else account.cash)
        if self.p.starting_cash is not None:  # resumed: `cash` is what is left, this the start
            self.startingcash = float(self.p.starting_cash)

    def adopt(self, positions: dict[str, PositionInfo]) -> None:
        """Start with these positions (symbol → qty and average price) as the run's own."""
        self._adopted = dict(positions)

    # ------------------------------------------------------------------ accounting

    def getcash(self) -> float:
        return self.cash

    get_cash = getcash

    def getvalue(self, datas: Any = None, mkt: bool = False, lever: bool = False) -> float:
        """As Backtrader's `BackBroker.get_value`: no `datas`, cash plus every position (`mkt`:
        the positions only); one data, that position's value alone (negative when short);
        several, cash plus those positions. A position is valued at its bar's close, or before
        the symbol's first bar at its last known price (`marks`, else the average cost); an
        adopted position counts before the strategy first asks for it."""
        marks = self.p.marks or {}
        positions = {d: self._position(d) for d in datas} if datas else dict(self.positions.items())
        held = 0.0
        for data, position in positions.items():
            if position.size:
                price = data.close[0] if len(data) else marks.get(data._name, position.price)
                held += position.size * price * instrument_of(data).multiplier
        names = None if not datas else {d._name for d in datas}
        for symbol, adopted in self._adopted.items():
            if names is None or symbol in names:
                held += adopted.qty * marks.get(symbol, adopted.avg_entry_price)
        if datas and len(datas) == 1:
            return held
        if not datas and self.options is not None:
            held += float(self.options.marked_value())  # open option positions at mid
        return held if mkt and not datas else self.cash + held

    get_value = getvalue

    def refresh_value(self) -> None:
        """(The options desk's end of bar asks; values are computed when read.)"""

    def move_cash(self, amount: float) -> None:
        """Premium, fees and settlements of the options desk (its `OptionAccount`)."""
        self.cash += amount

    def shares(self, data: Any) -> float:
        return float(self._position(data).size)

    def deliver(self, data: Any, size: float, price: float) -> None:
        """Shares delivered by an exercise or assignment at the venue: `size` (+ received) at
        `price` (the strike); the cash moves separately (`move_cash`)."""
        self._position(data).update(size, price)

    def getposition(self, data: Any, clone: bool = False) -> bt.Position:
        """The live position of `data` (Backtrader's brokers return the object itself)."""
        position = self._position(data)
        return position.clone() if clone else position

    def get_fundmode(self) -> bool:
        return False

    def set_fundmode(self, fundmode: bool, fundstartval: float | None = None) -> None:
        if fundmode:
            raise BrokerError(
                "set_fundmode(True) is not supported in paper: remove it from the strategy "
                "(fund-like value tracking exists only in a backtest)"
            )

    fundmode = property(get_fundmode, set_fundmode)

    def set_coc(self, coc: bool) -> None:
        """Cheat-on-close cannot be honoured by a venue: refused (False is what it does)."""
        if coc:
            raise BrokerError(
                "set_coc(True) is not supported in paper: a venue fills market orders at the "
                "next bar's open; remove set_coc from the strategy"
            )

    def set_coo(self, coo: bool) -> None:
        """Cheat-on-open cannot be honoured by a venue: refused (False is what it does)."""
        if coo:
            raise BrokerError(
                "set_coo(True) is not supported in paper: a venue fills market orders at the "
                "next bar's open; remove set_coo from the strategy"
            )

    def _position(self, data: Any) -> bt.Position:
        if data not in self.positions and data._name in self._adopted:
            held = self._adopted.pop(data._name)
            self.positions[data] = bt.Position(size=held.qty, price=held.avg_entry_price)
        return self.positions[data]

    def get_orders_open(self, safe: bool = False) -> list[bt.Order]:
        return [*(o for o in self._orders.values() if o.alive()), *self._held]

    def get_notification(self) -> bt.Order | None:
        return self.notifs.popleft() if self.notifs else None

    # ------------------------------------------------------------------ updates

    def next(self) -> None:
        """Apply queued trade updates; on a new bar with orders open, sync them over REST."""
        if self.options is not None:  # settlements of past sessions first, option fills
            self.options.open_bar()
        self._drain_events()
        self._confirm()
        self.sync_open_orders(only_on_new_bar=True)
        self._expire_due()
