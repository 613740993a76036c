"""`OptionRecorder`: the options desk's orders, fills and events as the run's orders and fills.

The `Recorder` subscribes one to the desk (`OptionsDesk.listen`), so option orders live where
equity orders do: in the journal (`order_intents`, `order_events`, `fills`, `events`) and in
`orders.csv`/`fills.csv`/`trades.csv`, numbered from the run's one `OrderIds` counter.

- A single-leg order is one order on its contract (OCC symbol, `asset_class` option).
- A combo is a parent order on the underlying (`side` buy for a net debit, sell for a credit;
  `limit_price` and the average fill price signed as Alpaca signs an `mleg` order: + debit,
  - credit; `qty` in combo units) and one order per leg (`CID-L1`, ...; `leg` from 1,
  `parent` the combo's id, `qty` the leg's contracts). Fills are the legs'.
- An expiry, exercise, assignment or cash settlement is an order of that `type` on the
  contract, filled at once (`kind` of its fill; price 0, or the intrinsic value paid in cash,
  as Alpaca's OPEXP/OPEXC/OPASN activities), its `parent` the order that opened the position;
  shares delivered are a second order on the underlying at the strike (Alpaca's OPTRD), so the
  share position in the fills is the broker's. Each is also an `option_<kind>` event, and each
  session's Greeks, exposure and marks an `options_session` event (what the daily report reads).

States are Backtrader's words, as the `Recorder` writes them (completed, canceled, rejected,
expired; accepted or partial while open)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from parity.instruments import instrument_of
from parity.journal.hook import OrderJournal, fill_bar
from parity.journal.ids import OrderIds
from parity.options.book import COSTS
from parity.options.orders import AccountFee, OptionFill, OptionOrder

_STATUS = {
    "filled": "completed",
    "rejected": "rejected",
    "cancelled": "canceled",
    "expired": "expired",
}
_LEVEL = {"assignment": "warning"}  # an assignment is worth a look; the rest is routine


class OptionRecorder:
    """Turns desk events into order records (`orders`, keyed by client order id, shared with
    the `Recorder`), fill rows (`fills`) and journal rows."""

    def __init__(
        self,
        desk: Any,
        ids: OrderIds,
        journal: OrderJournal | None,
        *,
        orders: dict[Any, dict[str, Any]],
        fills: list[dict[str, Any]],
        keep: bool,
        live: bool,
    ) -> None:
        self.desk = desk  # its underlying's feed gives the bar times and numbers
        self.ids = ids
        self.journal = journal
        self.orders = orders
        self.fills = fills
        self.keep = keep
        self.live = live
        self.multipliers: dict[str, float] = {}  # contract symbol -> multiplier (round trips)
        # order ref -> its client order id, number, its legs' ids and their contracts' symbols
        self._cids: dict[int, tuple[str, int, tuple[str, ...], tuple[str, ...]]] = {}
        self._openers: dict[int, int] = {}  # group -> the ref of the order that opened it
        # what trading cost so far (the sessions' events carry it: the reports' cost lines)
        self._costs = {**dict.fromkeys(COSTS, 0.0), "contracts": 0.0}

    @property
    def data(self) -> Any:
        return self.desk.underlying_data

    # ------------------------------------------------------------------ desk events
    def submitted(self, order: OptionOrder) -> None:
        cid, number = self.ids.mint()
        order.client_order_id = cid
        stamp = float(self.data.datetime[0])
        single = len(order.legs) == 1
        limit = order.debit if order.debit is not None else order.credit
        if single:
            leg = order.legs[0]
            self._open(
                cid, number, leg.contract.symbol, "buy" if leg.ratio > 0 else "sell",
                abs(leg.ratio) * order.qty, order.kind,
                None if limit is None else limit / abs(leg.ratio), stamp, leg.contract.multiplier,
                option=True,
            )  # fmt: skip
            self._cids[order.ref] = (cid, number, (cid,), (leg.contract.symbol,))
            return
        signed = None if limit is None else (limit if order.debit is not None else -limit)
        multiplier = order.legs[0].contract.multiplier
        underlying = str(self.data._name)
        self._open(cid, number, underlying, order.side, order.qty, order.kind, signed, stamp,
                   multiplier, option=True)  # fmt: skip
        legs = []
        for i, leg in enumerate(order.legs, 1):
            leg_cid = f"{cid}-L{i}"
            legs.append(leg_cid)
            self._open(
                leg_cid, number, leg.contract.symbol, "buy" if leg.ratio > 0 else "sell",
                abs(leg.ratio) * order.qty, "leg", None, stamp, leg.contract.multiplier,
                leg=i, parent=cid, option=True,
            )  # fmt: skip
        symbols = tuple(leg.contract.symbol for leg in order.legs)
        self._cids[order.ref] = (cid, number, tuple(legs), symbols)

    def filled(self, order: OptionOrder, fills: Sequence[OptionFill]) -> None:
        cid, number, legs, _ = self._cids[order.ref]
        self._openers.setdefault(order.group, order.ref)
        for leg_cid, fill in zip(legs, fills, strict=True):
            self._fill(leg_cid, number, fill, fill.price, fill.commission + fill.fees, "trade")
            for name in COSTS:
                self._costs[name] += getattr(fill, name)
            self._costs["contracts"] += abs(fill.qty)
        if len(legs) > 1:  # the combo's own state: units filled at the average net price
            record = self.orders[cid]
            record["filled_qty"] = float(order.filled)
            record["avg_fill_price"] = None if order.net is None else round(order.net, 6)
        if order.filled < order.qty:
            for each in dict.fromkeys((cid, *legs)):
                self.orders[each]["status"] = "partial"

    def finished(self, order: OptionOrder) -> None:
        cid, _, legs, _ = self._cids[order.ref]
        status = _STATUS.get(order.status, order.status)
        for each in dict.fromkeys((cid, *legs)):
            record = self.orders[each]
            record["status"] = status
            if order.reason:
                record["reason"] = order.reason
            self._journal_state(record, durable=self.live)
            if not self.keep:
                del self.orders[each]

    def fee_charged(self, fee: AccountFee) -> None:
        """A day's fee naming no order is no order's: the desk's book keeps it (a row of
        `options_fills.csv`) and its journal (`runners.option_book`), the cash the account's."""

    def settled(self, event: OptionFill) -> None:
        contract = event.contract
        opener = self._openers.get(event.group)
        parent, leg = None, None
        if opener is not None:  # the order that opened it, and the leg it was there
            parent, _, _, symbols = self._cids[opener]
            if len(symbols) > 1 and contract.symbol in symbols:
                leg = symbols.index(contract.symbol) + 1
        # the bar the event belongs to: this one in a backtest; the expiry session's last bar
        # for a venue's activity read at a later bar (the desk knows which)
        stamp = float(self.desk.event_stamp(event))
        # the contract leaves at 0 (its value moves as shares), or at the intrinsic value paid
        price = event.price if event.kind == "cash_settlement" else 0.0
        cid, number = self.ids.mint()
        side = "buy" if event.qty > 0 else "sell"
        self._open(cid, number, contract.symbol, side, abs(event.qty), event.kind, None, stamp,
                   contract.multiplier, leg=leg, parent=parent, option=True)  # fmt: skip
        self._fill(cid, number, event, price, 0.0, event.kind, stamp=stamp)
        self._done(cid)
        if event.shares:
            share_cid, share_number = self.ids.mint()
            symbol = str(self.data._name)
            self._open(
                share_cid, share_number, symbol, "buy" if event.shares > 0 else "sell",
                abs(event.shares), event.kind, None, stamp,
                instrument_of(self.data).multiplier, parent=cid,
            )  # fmt: skip
            self._fill(share_cid, share_number, event, contract.strike, 0.0, event.kind,
                       symbol=symbol, qty=event.shares, stamp=stamp)  # fmt: skip
            self._done(share_cid)
        if self.journal is not None:
            self.journal.journal.event(
                f"option_{event.kind}",
                {
                    "symbol": contract.symbol,
                    "qty": event.qty,
                    "price": event.price,
                    "cash": round(event.cash, 6),
                    "shares": event.shares,
                    "underlying_price": event.underlying_price,
                    "group": event.group,
                    "client_order_id": cid,
                    "parent": parent,
                    "session": self._session(stamp),
                },
                _LEVEL.get(event.kind, "info"),
                at=self.journal.bar_time(stamp),
                durable=self.live,
            )

    def marked(
        self,
        row: Mapping[str, Any],
        marks: Mapping[str, float],
        positions: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        if self.journal is None:
            return
        stamp = float(self.data.datetime[0])
        payload = {k: (str(v) if k == "datetime" else v) for k, v in row.items()}
        self.journal.journal.event(
            "options_session",
            {
                **payload,
                "marks": dict(marks),
                # each open contract's Greeks (position-sized, as the portfolio's)
                "positions": [
                    {k: (str(v) if k == "datetime" else v) for k, v in p.items()} for p in positions
                ],
                "costs": {k: round(v, 6) for k, v in self._costs.items()},
                "session": self._session(stamp),
            },
            at=self.journal.bar_time(stamp),
            durable=self.live,
        )

    def _session(self, stamp: float) -> str:
        """The trading date of the bar at `stamp` (what the reports file an event under)."""
        assert self.journal is not None
        return self.journal.bar_time(stamp).date().isoformat()

    def stop(self) -> None:
        """The run ended: journal the state of option orders still open."""
        for cid, _, legs, _ in self._cids.values():
            record = self.orders.get(cid)
            if record is None or record["status"] not in ("accepted", "partial"):
                continue
            for each in dict.fromkeys((cid, *legs)):
                self._journal_state(self.orders[each], durable=self.live)

    # ------------------------------------------------------------------ rows
    def _open(
        self,
        cid: str,
        number: int,
        symbol: str,
        side: str,
        qty: float,
        kind: str,
        limit: float | None,
        stamp: float,
        multiplier: float,
        *,
        leg: int | None = None,
        parent: str | None = None,
        option: bool = False,
    ) -> None:
        self.orders[cid] = {
            "order_id": number,
            "client_order_id": cid,
            "symbol": symbol,
            "side": side,
            "type": kind,
            "qty": float(qty),
            "limit_price": limit,
            "stop_price": None,
            "submitted_at": stamp,
            "status": "accepted",
            "reason": "",
            "filled_qty": 0.0,
            "avg_fill_price": None,
            "commission": 0.0,
            "leg": leg,
            "parent": parent,
            "_notional": 0.0,
        }
        if option and symbol != str(self.data._name):
            self.multipliers[symbol] = float(multiplier)
        if self.journal is not None:
            self.journal.journal.intent(
                cid, seq=number, symbol=symbol, side=side, qty=float(qty), type=kind,
                limit_price=limit, decided_at=self.journal.bar_time(stamp), leg=leg,
                parent=parent,
                asset_class="option" if option else instrument_of(self.data).asset_class,
                multiplier=multiplier,
                durable=self.live,
            )  # fmt: skip

    def _fill(
        self,
        cid: str,
        number: int,
        fill: OptionFill,
        price: float,
        commission: float,
        kind: str,
        *,
        symbol: str | None = None,
        qty: float | None = None,
        stamp: float | None = None,
    ) -> None:
        record = self.orders[cid]
        size = abs(float(fill.qty if qty is None else qty))
        stamp = float(self.data.datetime[0]) if stamp is None else stamp
        record["filled_qty"] += size
        record["commission"] += commission
        record["_notional"] += size * price
        record["avg_fill_price"] = record["_notional"] / record["filled_qty"]
        row = {
            "datetime": stamp,
            "bar": fill_bar(self.data, stamp),
            "symbol": symbol or fill.contract.symbol,
            "side": record["side"],
            "qty": size,
            "price": price,
            "commission": commission,
            "order_id": number,
            "client_order_id": cid,
            "kind": kind,
        }
        if self.keep:
            self.fills.append(row)
        if self.journal is not None:
            leg = kind == "trade"  # a leg's fill: what it paid against its quote (the alerts')
            self.journal.journal.fill(
                cid, order_seq=number, symbol=row["symbol"], side=row["side"],
                cum_qty=record["filled_qty"], qty=size, price=price, commission=commission,
                at=self.journal.bar_time(stamp), bar=row["bar"], kind=kind,
                mid=fill.mid if leg else None, spread_cost=fill.spread_cost if leg else None,
                slippage_cost=fill.slippage_cost if leg else None, durable=self.live,
            )  # fmt: skip

    def _done(self, cid: str) -> None:
        record = self.orders[cid]
        record["status"] = "completed"
        self._journal_state(record, durable=self.live)
        if not self.keep:
            del self.orders[cid]

    def _journal_state(self, record: dict[str, Any], *, durable: bool) -> None:
        if self.journal is None:
            return
        self.journal.journal.order_event(
            record["client_order_id"],
            record["status"],
            filled_qty=record["filled_qty"],
            avg_price=record["avg_fill_price"],
            reason=record["reason"] or None,
            at=self.journal.bar_time(float(self.data.datetime[0])),
            source="strategy",
            durable=durable,
        )
