"""`plan`: execute a trade plan file, one bracket per row (`--param plan=trade_plan.csv`).

Each row (see `parity.strategies.plan_file` for the columns) is placed at the close of the first
bar dated on or after its `date`: an entry (market at the next open, or a limit or stop at the
row's `entry`) with a take-profit limit and a stop-loss stop, one of which fills and cancels the
other. Market and limit entries are one bracket order (Backtrader's parent with two children;
Alpaca's `order_class=bracket`); a stop entry, which Alpaca's brackets do not take, is sent
alone and its two exits follow as an `oco` pair once it fills. Either way the exits work from
the bar after the entry fills.

Expiry: a row lives through the session `valid_until`, or `max_days` sessions after the one it
was placed in. Then an unfilled entry is cancelled; a filled one has its exits cancelled and,
once the venue confirms that, its shares sold at market (an exit never races a live exit, so a
backtest and a paper run do the same: the sale is decided on the bar after expiry).

Sizing: a row's `qty` shares, or by `risk`: shares = risk x equity / |entry - stop-loss| (the
entry price of a market row is the decision bar's close), rounded down to the instrument's step.

Every order carries a `decision` (its reason: an entry's names its row, `PlanRow.reason`;
an exit's is target, stop or expiry; with the row's tag, score and line), which the journal
keeps and `trades.csv` shows (`entry_reason`, `exit_reason`, `ambiguous`). A bar that reaches
both exits is ambiguous: the run's `--ambiguous` rule decides which fills (the fill model's,
`parity.engine.ambiguity`), and the strategy counts such exits (`ambiguous` in the summary).

A paper run carries its open brackets and its place in the plan (`carry`) to a later day
(`--continue`: sent again on the previous day's last bar, processed again live) and past a
crash (`--resume`: settled by what the venue filled meanwhile, sent again before the first
live bar's decisions); see `parity.strategies.plan_carry`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import backtrader as bt

from parity.engine.ambiguity import touches_both
from parity.engine.fills import round_quantity
from parity.errors import DataError
from parity.instruments import instrument_for
from parity.strategies.base import ParityStrategy
from parity.strategies.params import bt_params
from parity.strategies.plan_bracket import Bracket, bar_of, date_of, working_ids
from parity.strategies.plan_carry import (
    CARRIED_STATES,
    CarriedBracket,
    carry,
    first_dates_of,
    plan_digest,
    restore,
    settle,
)
from parity.strategies.plan_file import PlanRow, read_plan


@dataclass(frozen=True, kw_only=True)
class PlanParams:
    """`plan`: the plan file (CSV) to execute."""

    plan: str = ""

    def __post_init__(self) -> None:
        if not self.plan.strip():
            raise ValueError("plan needs the plan file: --param plan=trade_plan.csv")


class PlanStrategy(ParityStrategy):
    """Executes a plan file: one bracket per row, expiring at its validity."""

    Params: ClassVar[type] = PlanParams
    params = bt_params(PlanParams)
    per_symbol_warmup = True  # no indicators: a symbol trades from its own first bar

    def __init__(self) -> None:
        super().__init__()
        by_name = {d._name: d for d in self.datas}
        self.rows = sorted(read_plan(self.cfg.plan, symbols=by_name), key=lambda r: r.date)
        self.plan_sha = plan_digest(self.cfg.plan)  # which rows a carried `cursor` counts
        self.by_name = by_name
        self.daily = self.datas[0]._timeframe >= bt.TimeFrame.Days
        self.cursor = 0
        self.brackets: list[Bracket] = []
        self.of_order: dict[int, Bracket] = {}
        self.skipped: list[str] = []  # rows not placed (or cut), and why: also journaled
        self.ambiguous_exits = 0
        self.first_dates: dict[str, dt.date] = {}
        self.carried: list[CarriedBracket] = []  # from the previous day: sent on the first live bar
        self.resumed = False  # carried past a crash: sent before the first live bar's decisions

    # ------------------------------------------------------------------ each bar
    def next(self) -> None:
        live = self._live()
        if self.carried and self.resumed and live:  # the bar after the carry's: not yet seen
            self._resend_carried()
        for data in self.datas:  # the first session each symbol is traded in (not warm-up)
            if len(data) and live:
                self.first_dates.setdefault(data._name, date_of(data))
        for bracket in self.brackets:
            if bracket.state in ("done", "closing"):
                continue
            today = date_of(bracket.data)
            if today > bracket.placed:
                bracket.sessions.add(today)
            if bracket.state == "expiring":
                self._sell_after_expiry(bracket)
            elif self._expired(bracket, today):
                self._expire(bracket)
        self._place_due()
        if self.carried and self._live():
            self._resend_carried()

    def _place_due(self) -> None:
        if not self._live():  # a warm-up bar: a venue refuses what is decided on it (a row
            return  # dated then is skipped on the first live bar: not traded late)
        while self.cursor < len(self.rows):
            row = self.rows[self.cursor]
            data = self.by_name[row.symbol]
            if not len(data) or date_of(data) < row.date:
                return  # rows are in date order: the rest are later
            self.cursor += 1
            first = self.first_dates.setdefault(data._name, date_of(data))
            if row.date < first:  # a row of a day before the run: not traded late
                self._skip(row, f"dated {row.date}, before the run's first bar ({first})")
                continue
            self._place(row, data)

    def _expired(self, bracket: Bracket, today: dt.date) -> bool:
        """Past its validity: daily bars at the close of the last valid session's bar;
        intraday bars at the first bar of the session after it."""
        row = bracket.row
        sessions = len(bracket.sessions)
        if row.valid_until is not None and (
            today > row.valid_until or (self.daily and today >= row.valid_until)
        ):
            return True
        if row.max_days is None:
            return False
        return sessions > row.max_days or (self.daily and sessions >= row.max_days)

    # ------------------------------------------------------------------ placing a row
    def _place(self, row: PlanRow, data: Any) -> None:
        today = date_of(data)
        if row.valid_until is not None and row.valid_until < today:
            self._skip(row, f"valid until {row.valid_until}, before {today}")
            return
        qty = self._size(row, data)
        if qty <= 0:
            self._skip(row, "sized to no shares")
            return
        if row.long:
            qty = self._affordable(row, data, qty)
            if qty <= 0:
                self._skip(row, "no cash left for it")
                return
        bracket = Bracket(row=row, data=data, qty=qty, placed=today)
        self.brackets.append(bracket)
        self._send_bracket(bracket)

    def _send_bracket(self, bracket: Bracket) -> None:
        row, data, qty = bracket.row, bracket.data, bracket.qty
        long = row.long
        kind = {"market": bt.Order.Market, "limit": bt.Order.Limit, "stop": bt.Order.Stop}
        enter = self.buy if long else self.sell
        decision = self._decision(row, row.reason(qty))
        if row.entry_type == "stop":  # exits follow as an oco pair once it fills
            entry = enter(
                data=data, size=qty, exectype=bt.Order.Stop, price=row.entry, decision=decision
            )
            bracket.entry = entry
            self.of_order[entry.ref] = bracket
            return
        entry = enter(
            data=data, size=qty, exectype=kind[row.entry_type], price=row.entry,
            transmit=False, decision=decision,
        )  # fmt: skip
        bracket.entry = entry
        self.of_order[entry.ref] = bracket
        leave = self.sell if long else self.buy
        # the stop-loss first, as Backtrader's buy_bracket places them
        stop = leave(
            data=data, size=qty, exectype=bt.Order.Stop, price=row.sl, parent=entry,
            transmit=False, decision=self._decision(row, "stop"),
        )  # fmt: skip
        target = leave(
            data=data, size=qty, exectype=bt.Order.Limit, price=row.tp, parent=entry,
            transmit=True, decision=self._decision(row, "target"),
        )  # fmt: skip
        bracket.exits = [stop, target]
        for order in bracket.exits:
            self.of_order[order.ref] = bracket

    def _size(self, row: PlanRow, data: Any) -> float:
        step = instrument_for(data._name or "").quantity_step
        if row.qty is not None:
            qty = round_quantity(row.qty, step)
            if qty != row.qty:
                raise DataError(
                    f"{self.cfg.plan} line {row.line}: qty {row.qty:g} is not a multiple of "
                    f"{data._name}'s quantity step {step:g}; round it"
                )
            return int(qty) if step >= 1 else qty
        assert row.risk is not None
        reference = row.entry if row.entry is not None else float(data.close[0])
        distance = abs(reference - row.sl)
        if not (distance > 0 and math.isfinite(distance)):
            return 0
        qty = round_quantity(row.risk * self.broker.getvalue() / distance, step)
        return int(qty) if step >= 1 else qty

    def _affordable(self, row: PlanRow, data: Any, qty: float) -> float:
        """`qty` cut to what the cash not committed to the plan's other working entries buys,
        each priced at its limit or its symbol's last close, as a venue reserves buying power
        (so a backtest and a paper run place the same entries; a venue refuses the excess)."""
        committed = 0.0
        for other in self.brackets:
            entry = other.entry  # (one whose cancel is asked is not: a venue frees it first)
            if other.state != "working" or entry is None or not entry.alive():
                continue
            if not entry.isbuy():
                continue
            price = other.row.entry if other.row.entry_type == "limit" else other.data.close[0]
            committed += abs(entry.executed.remsize or entry.created.size) * float(price or 0.0)
        price = row.entry if row.entry_type == "limit" else float(data.close[0])
        if not price or price <= 0:
            return 0
        budget = self.broker.getcash() - committed
        step = instrument_for(data._name or "").quantity_step
        most = round_quantity(max(budget, 0.0) / price, step)
        if 0 < most < qty:
            self.note("cut", None, line=row.line, symbol=row.symbol, wanted=qty, qty=most)
            self.skipped.append(f"line {row.line}: cut from {qty:g} to {most:g} shares by cash")
        if most < qty:
            qty = int(most) if step >= 1 else most
        return qty

    def _skip(self, row: PlanRow, why: str) -> None:
        self.skipped.append(f"line {row.line}: {why}")
        self.note("skipped", None, line=row.line, symbol=row.symbol, why=why)

    def _decision(self, row: PlanRow, reason: str) -> dict[str, Any]:
        return {"reason": reason, "tag": row.tag, "score": row.score, "plan": row.record()}

    # ------------------------------------------------------------------ expiry
    def _expire(self, bracket: Bracket) -> None:
        entry = bracket.entry  # None: carried from the previous day with its entry filled
        if entry is not None and entry.alive() and not entry.executed.size:
            bracket.state, bracket.exit_reason = "done", "expiry"
            self.cancel(entry)  # a bracket parent takes its exits along
            return
        bracket.state = "expiring"
        for order in bracket.exits:
            if order.alive():
                self.cancel(order)

    def _sell_after_expiry(self, bracket: Bracket) -> None:
        if any(o.alive() for o in bracket.exits):
            return  # the venue has not confirmed the cancel yet
        row = bracket.row
        leave = self.sell if row.long else self.buy
        held = abs(self._filled(bracket))
        if held <= 0:
            bracket.state = "done"
            return
        bracket.state = "closing"
        bracket.closing = leave(
            data=bracket.data, size=held, decision=self._decision(row, "expiry")
        )
        self.of_order[bracket.closing.ref] = bracket

    @staticmethod
    def _filled(bracket: Bracket) -> float:
        entry = bracket.entry
        return float(entry.executed.size) if entry is not None else bracket.held

    # ------------------------------------------------------------------ day to day
    def carry(self) -> dict[str, Any] | None:
        """The brackets still alive, for the run continuing this one on the next day."""
        alive = [
            CarriedBracket(
                row=b.row,
                qty=b.qty,
                placed=b.placed,
                sessions=tuple(b.sessions),
                state=b.state,
                held=abs(self._filled(b)),
                orders=working_ids(b),
            )
            for b in self.brackets
            if b.state in CARRIED_STATES
        ]
        first = self.first_dates
        return carry(alive, first, self.ambiguous_exits, plan=self.plan_sha, cursor=self.cursor)

    def take_carried(self, state: Any) -> None:
        self.carried = settle(restore(state, self.by_name), state.get("filled") or {})
        self.resumed = bool(state.get("resumed"))
        if state.get("plan") == self.plan_sha:  # the same plan (resumed, or a day without a
            # new one): its rows placed or skipped already are not placed again
            self.cursor = int(state.get("cursor") or 0)
        for symbol, first in first_dates_of(state).items():
            seen = self.first_dates.get(symbol)
            self.first_dates[symbol] = first if seen is None else min(seen, first)
        self.ambiguous_exits = int(state.get("ambiguous_exits", 0))

    def _live(self) -> bool:
        """The current bar is live (a continued run's warm-up bars are not)."""
        return all(getattr(d, "bar_is_live", lambda: True)() for d in self.datas if len(d))

    def _resend_carried(self) -> None:
        """On the previous day's last bar, processed again live: send what its orders were
        (cancelled when that run stopped), so they work from the next bar as in one run."""
        for item in self.carried:
            data = self.by_name[item.row.symbol]
            if item.state == "done":  # an exit filled while a crashed run was down
                self._down_exit(item, data)
                continue
            bracket = Bracket(
                row=item.row, data=data, qty=item.qty, placed=item.placed,
                sessions=set(item.sessions), state=item.state, held=item.held,
            )  # fmt: skip
            self.brackets.append(bracket)
            if item.state == "working":
                self._send_bracket(bracket)
            elif item.state == "open":
                self._oco_exits(bracket, item.held)
            elif item.state == "closing":
                leave = self.sell if item.row.long else self.buy
                bracket.closing = leave(
                    data=data, size=item.held, decision=self._decision(item.row, "expiry")
                )
                self.of_order[bracket.closing.ref] = bracket
            # "expiring": its exits were cancelled; the next bar sells what it holds
        self.carried = []

    def _down_exit(self, item: CarriedBracket, data: Any) -> None:
        """Count an exit filled while the run was down as ambiguous if the bar it filled on
        (this one: in lock-step the venue matches one bar beyond the last one processed)
        reached both exits."""
        row = item.row
        if item.exit_reason in ("target", "stop") and touches_both(
            row.long, row.tp, row.sl, float(data.high[0]), float(data.low[0])
        ):
            self.ambiguous_exits += 1
            cid = item.orders[item.exit_reason]
            self.note("ambiguous", None, exit=item.exit_reason, line=row.line, client_order_id=cid)

    # ------------------------------------------------------------------ order events
    def notify_order(self, order: bt.Order) -> None:
        super().notify_order(order)
        bracket = self.of_order.get(order.ref)
        if bracket is None or order.alive():
            return
        if order is bracket.entry or order.ref == getattr(bracket.entry, "ref", None):
            self._entry_done(bracket, order)
        elif bracket.closing is not None and order.ref == bracket.closing.ref:
            if order.status == bt.Order.Completed:
                bracket.state, bracket.exit_reason = "done", "expiry"
        elif order.status == bt.Order.Completed:
            self._exit_filled(bracket, order)

    def _entry_done(self, bracket: Bracket, order: bt.Order) -> None:
        if order.status != bt.Order.Completed:
            if bracket.state == "working":
                bracket.state = "done"
                bracket.exit_reason = bracket.exit_reason or order.getstatusname().lower()
            return
        if bracket.state == "working":
            bracket.state = "open"
        if bracket.row.entry_type == "stop" and not bracket.exits:
            self._oco_exits(bracket, abs(float(order.executed.size)))

    def _oco_exits(self, bracket: Bracket, qty: float) -> None:
        row = bracket.row
        leave = self.sell if row.long else self.buy
        stop = leave(
            data=bracket.data, size=qty, exectype=bt.Order.Stop, price=row.sl,
            decision=self._decision(row, "stop"),
        )  # fmt: skip
        target = leave(
            data=bracket.data, size=qty, exectype=bt.Order.Limit, price=row.tp, oco=stop,
            decision=self._decision(row, "target"),
        )  # fmt: skip
        bracket.exits = [stop, target]
        for exit_order in bracket.exits:
            self.of_order[exit_order.ref] = bracket

    def _exit_filled(self, bracket: Bracket, order: bt.Order) -> None:
        row, data = bracket.row, bracket.data
        bracket.state = "done"
        bracket.exit_reason = "target" if order.exectype == bt.Order.Limit else "stop"
        ago = bar_of(data, order.executed.dt, self.daily)
        if ago is None:
            return
        if touches_both(row.long, row.tp, row.sl, float(data.high[ago]), float(data.low[ago])):
            bracket.ambiguous = True
            self.ambiguous_exits += 1
            self.note("ambiguous", order, exit=bracket.exit_reason, line=row.line)
