"""The matched-trade ledger: live round trips paired with their twin's by decision.

A round trip (from :func:`parity.analyzers.ledger.round_trips`) is keyed by ``(symbol, side,
decision bar)``, where the decision bar is ``orders.submitted_at`` of the order whose fill opened
the trade (the bar on which the strategy decided). Keys present on both sides are *matched*, twin
only *missed*, live only *extra*. Duplicated keys pair in order of occurrence.

Per matched trade (signs: a positive ``*_gap_bps`` is worse for the trader):

* ``entry_gap_bps = dir * (live entry - twin entry) / twin entry * 1e4`` and
  ``exit_gap_bps = dir * (twin exit - live exit) / twin exit * 1e4`` with ``dir = +1`` long,
  ``-1`` short: 10 bps of slippage on every fill shows as ``+10`` on both;
* ``latency_s``: live entry fill time minus the moment the decision could first be sent and
  filled: the end of the decision bar (its label plus the bar length), or, when the market
  printed no bar then, the start of the first bar the run received after it (a replay fills
  there), in seconds; ``0`` means "filled at the next bar's open", as the backtest does, so a
  zero-latency lock-step replay shows 0 across gaps, nights and weekends;
* ``qty_shortfall = twin qty - live qty`` and ``unfilled_qty = ordered - filled`` of the live
  entry order (a partial fill);
* ``fee_diff = live commission - twin commission``;
* ``wall_latency_s``: wall-clock seconds from sending the entry order to its first fill report,
  when the run recorded them (``orders.sent_at`` and ``fills.reported_at``, UTC), else None.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from parity.analyzers.ledger import open_positions, round_trips

LEDGER_COLUMNS = (
    "symbol",
    "side",
    "decision_bar",
    "entry_order",
    "entry_time",
    "exit_time",
    "exit_decision_bar",
    "entry_price",
    "exit_price",
    "qty",
    "ordered_qty",
    "wall_latency_s",
    "open_at_end",
    "commission",
    "pnl_gross",
    "pnl_net",
    "entry_reason",
    "exit_reason",
)


def _times(values: Any) -> pd.Series:
    return pd.to_datetime(pd.Series(values), format="mixed")


def decision_trades(
    fills: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    mark: Mark | None = None,
    reasons: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Round trips of ``fills`` with the decision bar of their entry and exit orders.

    ``fills`` needs the ledger columns plus ``order_id``; ``orders`` needs ``order_id, qty,
    submitted_at``. Returns :data:`LEDGER_COLUMNS` (``decision_bar`` is NaT when the entry fill
    names no known order). With ``mark = (time, {symbol: price})`` a position still open at the
    end is closed at that price (``open_at_end`` true, no exit decision), as the final equity
    values it; otherwise it is left out. ``reasons``: the run's ``trades.csv`` rows, whose
    ``entry_reason``/``exit_reason`` (the strategy's, when it gave them) each trade takes.
    """
    if fills is None or not len(fills):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LEDGER_COLUMNS})
    fills = fills.reset_index(drop=True).copy()
    fills["datetime"] = _times(fills["datetime"])
    if mark is not None:
        fills = _with_marks(fills, mark)
    trades = round_trips(fills)
    submitted = dict(zip(orders["order_id"], _times(orders["submitted_at"]), strict=True))
    ordered = dict(zip(orders["order_id"], orders["qty"].astype(float), strict=True))
    sent = _wall(orders, "sent_at")
    reported = _wall(fills.drop_duplicates("order_id"), "reported_at")
    by_fill = _fill_orders(fills)
    why = _reasons(reasons)
    rows = []
    for trade in trades.itertuples(index=False):
        entry_side = "buy" if trade.side == "long" else "sell"
        entry = _first(by_fill.get((trade.symbol, entry_side, trade.entry_time)), 0)
        exit_side = "sell" if entry_side == "buy" else "buy"
        exit_ = _first(by_fill.get((trade.symbol, exit_side, trade.exit_time)), -1)
        rows.append(
            {
                "symbol": trade.symbol,
                "side": trade.side,
                "decision_bar": submitted.get(entry, pd.NaT),
                "entry_order": entry,
                "entry_time": pd.Timestamp(trade.entry_time),
                "exit_time": pd.Timestamp(trade.exit_time),
                "exit_decision_bar": submitted.get(exit_, pd.NaT),
                "entry_price": float(trade.entry_price),
                "exit_price": float(trade.exit_price),
                "qty": float(trade.qty),
                "ordered_qty": abs(ordered.get(entry, math.nan)),
                "wall_latency_s": _seconds(reported.get(entry), sent.get(entry)),
                "open_at_end": exit_ == MARK_ORDER,
                "commission": float(trade.commission),
                "pnl_gross": float(trade.pnl_gross),
                "pnl_net": float(trade.pnl_net),
                **why.get(_trade_key(trade), {"entry_reason": "", "exit_reason": ""}),
            }
        )
    return pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))


def _trade_key(trade: Any) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    return (str(trade.symbol), pd.Timestamp(trade.entry_time), pd.Timestamp(trade.exit_time))


def _reasons(trades: pd.DataFrame | None) -> dict[tuple[Any, ...], dict[str, str]]:
    """``(symbol, entry time, exit time) -> reasons`` of a ``trades.csv`` with reason columns."""
    if trades is None or not len(trades) or "entry_reason" not in trades.columns:
        return {}
    return {
        _trade_key(t): {"entry_reason": _text(t.entry_reason), "exit_reason": _text(t.exit_reason)}
        for t in trades.itertuples(index=False)
    }


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


MARK_ORDER = "mark-to-market"
Mark = tuple[pd.Timestamp, dict[str, float]]


def _with_marks(fills: pd.DataFrame, mark: Mark) -> pd.DataFrame:
    """``fills`` plus one closing fill per open position at the mark price."""
    when, prices = mark
    extra = []
    for symbol, position in open_positions(fills).items():
        if symbol not in prices:
            continue
        extra.append(
            {
                "datetime": pd.Timestamp(when),
                "bar": int(fills["bar"].max()) + 1,
                "symbol": symbol,
                "side": "sell" if position > 0 else "buy",
                "qty": abs(position),
                "price": float(prices[symbol]),
                "commission": 0.0,
                "order_id": MARK_ORDER,
            }
        )
    if not extra:
        return fills
    return pd.concat([fills, pd.DataFrame(extra)], ignore_index=True)


def equity_mark(equity: pd.DataFrame, fills: pd.DataFrame) -> Mark | None:
    """The price the final equity values a single open position at: ``(value - cash) /
    position`` on the last bar. ``None`` when flat or with several open symbols (their prices
    cannot be told apart from equity alone)."""
    if fills is None or not len(fills) or not len(equity):
        return None
    positions = open_positions(fills)
    if len(positions) != 1:
        return None
    (symbol, position), last = next(iter(positions.items())), equity.iloc[-1]
    return pd.Timestamp(equity.index[-1]), {
        symbol: (float(last["value"]) - float(last["cash"])) / position
    }


def _wall(frame: pd.DataFrame, column: str) -> dict[Any, pd.Timestamp]:
    """``order_id -> wall-clock time`` from an optional column (empty when absent)."""
    if column not in frame.columns or "order_id" not in frame.columns:
        return {}
    times = pd.to_datetime(frame[column], utc=True, errors="coerce", format="mixed")
    return dict(zip(frame["order_id"], times, strict=True))


def _seconds(later: Any, earlier: Any) -> float | None:
    if later is None or earlier is None or pd.isna(later) or pd.isna(earlier):
        return None
    return float((later - earlier).total_seconds())


def _fill_orders(fills: pd.DataFrame) -> dict[tuple[Any, Any, Any], list[Any]]:
    """``(symbol, side, time) -> order ids`` of the fills, in fill order (one pass, so matching
    a run's trades costs its fills once, not once per trade)."""
    if "order_id" not in fills.columns:
        return {}
    out: dict[tuple[Any, Any, Any], list[Any]] = {}
    keys = zip(fills["symbol"], fills["side"], fills["datetime"], strict=True)
    for key, order in zip(keys, fills["order_id"], strict=True):
        out.setdefault(key, []).append(order)
    return out


def _first(orders: list[Any] | None, at: int) -> Any:
    return orders[at] if orders else None


@dataclass(frozen=True)
class LedgerRow:
    """One line of the matched ledger (``status`` matched / missed / extra)."""

    status: str
    symbol: str
    side: str
    decision_bar: str
    live_pnl: float | None = None
    twin_pnl: float | None = None
    live_qty: float | None = None
    twin_qty: float | None = None
    live_entry: float | None = None
    twin_entry: float | None = None
    live_exit: float | None = None
    twin_exit: float | None = None
    entry_gap_bps: float | None = None
    exit_gap_bps: float | None = None
    same_exit_decision: bool | None = None
    open_at_end: bool = False
    latency_s: float | None = None
    twin_latency_s: float | None = None
    wall_latency_s: float | None = None
    qty_shortfall: float | None = None
    unfilled_qty: float | None = None
    fee_diff: float | None = None
    price_pnl: float = 0.0
    qty_pnl: float = 0.0
    timing_pnl: float = 0.0
    live_order: str | None = None  # a missed trade: the live order that ended unfilled
    # why each side's trade was taken and closed (the strategy's reasons; "" when it gave none)
    live_entry_reason: str | None = None
    twin_entry_reason: str | None = None
    live_exit_reason: str | None = None
    twin_exit_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _key(row: Any) -> tuple[str, str, pd.Timestamp]:
    return (str(row.symbol), str(row.side), pd.Timestamp(row.decision_bar))


def match_trades(
    live: pd.DataFrame,
    twin: pd.DataFrame,
    *,
    bar_seconds: float,
    live_bars: pd.DatetimeIndex | None = None,
    twin_bars: pd.DatetimeIndex | None = None,
) -> list[LedgerRow]:
    """Pair ``live`` and ``twin`` (both from :func:`decision_trades`); rows in decision order.
    ``live_bars`` / ``twin_bars``: the bar labels each side received (its equity index), which
    date the moment an order could first fill (module doc, ``latency_s``)."""
    bars = (_sorted(live_bars), _sorted(twin_bars))
    pending: dict[tuple[str, str, pd.Timestamp], deque[Any]] = defaultdict(deque)
    for row in twin.itertuples(index=False):
        pending[_key(row)].append(row)
    out: list[LedgerRow] = []
    for row in live.itertuples(index=False):
        queue = pending.get(_key(row))
        if queue:
            out.append(_matched(row, queue.popleft(), bar_seconds, bars))
        else:
            out.append(_single("extra", row))
    for queue in pending.values():
        out.extend(_single("missed", row) for row in queue)
    return sorted(out, key=lambda r: (r.decision_bar, r.symbol, r.status))


def _single(status: str, row: Any) -> LedgerRow:
    live = status == "extra"
    values = {
        "pnl": float(row.pnl_net),
        "qty": float(row.qty),
        "entry": float(row.entry_price),
        "exit": float(row.exit_price),
        "entry_reason": _text(getattr(row, "entry_reason", "")),
        "exit_reason": _text(getattr(row, "exit_reason", "")),
    }
    prefix = "live_" if live else "twin_"
    return LedgerRow(
        status=status,
        symbol=str(row.symbol),
        side=str(row.side),
        decision_bar=_iso(row.decision_bar),
        open_at_end=bool(row.open_at_end),
        **{prefix + k: v for k, v in values.items()},  # type: ignore[arg-type]
    )


def _iso(value: Any) -> str:
    stamp = pd.Timestamp(value)
    return "" if pd.isna(stamp) else stamp.isoformat()


def _sorted(bars: pd.DatetimeIndex | None) -> pd.DatetimeIndex | None:
    return None if bars is None else pd.DatetimeIndex(bars).unique().sort_values()


def could_fill(
    decision_bar: Any, bar_seconds: float, bars: pd.DatetimeIndex | None, filled: Any
) -> pd.Timestamp:
    """The moment an order decided on ``decision_bar`` could first fill: the bar's end, or the
    start of the first bar received after it when none started then and that bar is not later
    than the fill (a replay fills at that bar's open)."""
    end = pd.Timestamp(decision_bar) + pd.Timedelta(seconds=bar_seconds)
    if bars is None or not len(bars):
        return end
    i = int(bars.searchsorted(end, side="left"))
    if i < len(bars) and bars[i] <= pd.Timestamp(filled):
        return pd.Timestamp(bars[i])
    return end


def _matched(
    live: Any,
    twin: Any,
    bar_seconds: float,
    bars: tuple[pd.DatetimeIndex | None, pd.DatetimeIndex | None] = (None, None),
) -> LedgerRow:
    """Price, quantity and exit-timing parts of ``live pnl_gross - twin pnl_gross``.

    With ``d`` the direction, ``q`` quantities, ``E``/``X`` entry/exit prices (live ``l``, twin
    ``t``): ``gross_l - gross_t = d*q_l*[(X_l - X_t) - (E_l - E_t)] + d*(q_l - q_t)*(X_t - E_t)``,
    exactly. The first term is the fill-price effect, split into entry and exit; the exit part is
    *timing* rather than fill price when the two exits were decided on different bars. The
    second term is the quantity effect (partial fills, sizing on a different equity)."""
    d = 1.0 if live.side == "long" else -1.0
    q_l, q_t = float(live.qty), float(twin.qty)
    e_l, e_t = float(live.entry_price), float(twin.entry_price)
    x_l, x_t = float(live.exit_price), float(twin.exit_price)
    same_exit = _iso(live.exit_decision_bar) == _iso(twin.exit_decision_bar)
    entry_part = -d * q_l * (e_l - e_t)
    exit_part = d * q_l * (x_l - x_t)
    live_start = could_fill(live.decision_bar, bar_seconds, bars[0], live.entry_time)
    twin_start = could_fill(twin.decision_bar, bar_seconds, bars[1], twin.entry_time)
    ordered = float(live.ordered_qty)
    return LedgerRow(
        status="matched",
        symbol=str(live.symbol),
        side=str(live.side),
        decision_bar=_iso(live.decision_bar),
        live_pnl=float(live.pnl_net),
        twin_pnl=float(twin.pnl_net),
        live_qty=q_l,
        twin_qty=q_t,
        live_entry=e_l,
        twin_entry=e_t,
        live_exit=x_l,
        twin_exit=x_t,
        entry_gap_bps=d * (e_l - e_t) / e_t * 1e4 if e_t else None,
        exit_gap_bps=d * (x_t - x_l) / x_t * 1e4 if x_t else None,
        same_exit_decision=same_exit,
        open_at_end=bool(live.open_at_end or twin.open_at_end),
        latency_s=(pd.Timestamp(live.entry_time) - live_start).total_seconds(),
        twin_latency_s=(pd.Timestamp(twin.entry_time) - twin_start).total_seconds(),
        wall_latency_s=_optional(live.wall_latency_s),
        qty_shortfall=q_t - q_l,
        unfilled_qty=ordered - q_l if math.isfinite(ordered) else None,
        fee_diff=float(live.commission) - float(twin.commission),
        price_pnl=entry_part + (exit_part if same_exit else 0.0),
        qty_pnl=d * (q_l - q_t) * (x_t - e_t),
        timing_pnl=0.0 if same_exit else exit_part,
        live_entry_reason=_text(getattr(live, "entry_reason", "")),
        twin_entry_reason=_text(getattr(twin, "entry_reason", "")),
        live_exit_reason=_text(getattr(live, "exit_reason", "")),
        twin_exit_reason=_text(getattr(twin, "exit_reason", "")),
    )


def _optional(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def missing_fills(orders: pd.DataFrame, fills: pd.DataFrame) -> list[str]:
    """Orders whose recorded fills do not add up: one line per problem, empty when consistent.

    An order with ``filled_qty > 0`` (or status filled/completed) and no fill row, or whose fill
    rows' quantities do not sum to ``filled_qty``, is an unexplained missing fill."""
    if orders is None or not len(orders):
        return []
    by_order: dict[Any, float] = {}
    if fills is not None and len(fills) and "order_id" in fills.columns:
        by_order = fills.groupby("order_id")["qty"].sum().astype(float).to_dict()
    problems = []
    for order in orders.itertuples(index=False):
        filled = float(getattr(order, "filled_qty", 0.0) or 0.0)
        if not math.isfinite(filled):
            filled = 0.0
        status = str(getattr(order, "status", "")).lower()
        got = by_order.get(order.order_id, 0.0)
        label = getattr(order, "client_order_id", order.order_id)
        if got == 0.0 and (filled > 0 or status in ("filled", "completed")):
            problems.append(f"order {label} reported filled ({filled:g}) but has no fill row")
        elif abs(got - filled) > 1e-9 * max(1.0, abs(filled)):
            problems.append(f"order {label}: fills.csv qty {got:g} != orders filled_qty {filled:g}")
    return problems
