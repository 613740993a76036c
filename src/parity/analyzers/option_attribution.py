"""An options paper run against its two twins: the matched ledger per combo and per leg, and the
P&L gap split into components that sum to it exactly.

Three runs: the paper run (P), the twin on the quotes the run received (T: the backtest on its
option tape, `options.taped`) and the twin on the model chain (M: the backtest's assumptions).
Combos are matched by when they opened and their legs; a matched combo's legs by fill time,
contract and side. ``gap = P&L(P) - P&L(M)`` (final equity minus starting cash) is split into:

* leg by leg, for each trade fill of a combo both P and M made, with T's fill of the same leg
  giving the quote the run received, carried to the fill (`mid_T`, touch `t_T`: the ask for a
  buy, the bid for a sell), M's the model's (`mid_M`, `t_M`), and ``k = contracts x multiplier``
  (signed, + bought) of P's fill:

  - ``quotes``   = -k (mid_T - mid_M): the received quote's mid against the model's;
  - ``spread``   = -k ((t_T - mid_T) - (t_M - mid_M)): the half spread paid against assumed;
  - ``slippage`` = -k ((price_P - t_T) - (price_M - t_M)): the fill past its quote against the
    assumed slippage (a leg without a received quote: its whole price difference);
  - ``fees``     = -((commission + fees of P) - (those of M, per contract x P's contracts)).

  They add up to the leg's cash difference, by construction of each term, not by a plug;
* ``missed_partial``: minus the P&L of M's combos P did not make, plus the P&L of P's combos M
  did not make, plus a matched combo's quantity effect (M's P&L x (P's contracts / M's - 1));
* ``exit_timing``: per matched combo, P's P&L at M's prices and costs (its P&L minus its legs'
  components above) minus M's P&L on P's quantity: what the combo's other fills (an exit on
  another day, a settlement) made differently;
* ``residual``: the gap minus all of the above (shares, marks of contracts still open, cash
  outside the option book): 0.00 when the only differences are the option fills'.

``data_divergence = P&L(T) - P&L(M)`` (received quotes vs the model) and ``execution_divergence
= P&L(P) - P&L(T)`` (fills vs the quotes received) are reported beside them.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

COMPONENTS = (
    "quotes",
    "spread",
    "slippage",
    "fees",
    "missed_partial",
    "exit_timing",
    "residual",
)
LEG_COMPONENTS = ("quotes", "spread", "slippage", "fees")


@dataclass(frozen=True)
class OptionRun:
    """One run's option artifacts and P&L (`options_*.csv`, equity)."""

    name: str
    fills: pd.DataFrame
    trades: pd.DataFrame
    orders: pd.DataFrame
    equity: pd.DataFrame
    cash: float

    @property
    def pnl(self) -> float:
        return float(self.equity["value"].iloc[-1]) - self.cash if len(self.equity) else 0.0


@dataclass
class Leg:
    """A paper trade fill and the same leg's fill in the tape twin and the model twin."""

    row: dict[str, Any]
    tape: dict[str, Any] | None
    model: dict[str, Any] | None


def _key(trade: dict[str, Any]) -> tuple[str, str]:
    return (str(trade["opened"]), str(trade["legs"]))


def _match_trades(
    ours: pd.DataFrame, theirs: pd.DataFrame
) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """Our group id -> their combo with the same opening time and legs; their unmatched."""
    pool: dict[tuple[str, str], deque[dict[str, Any]]] = defaultdict(deque)
    for trade in theirs.to_dict("records"):
        pool[_key(trade)].append(trade)
    matched = {}
    for trade in ours.to_dict("records"):
        queue = pool.get(_key(trade))
        if queue:
            matched[int(trade["group"])] = queue.popleft()
    return matched, [t for q in pool.values() for t in q]


def _trade_fills(fills: pd.DataFrame, group: Any) -> list[dict[str, Any]]:
    rows = fills[(fills["group"] == group) & (fills["kind"] == "trade")]
    return list(rows.to_dict("records"))


def _match_legs(
    ours: Iterable[dict[str, Any]], theirs: Iterable[dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """Index in `ours` -> their fill of the same time, contract and side."""
    pool: dict[tuple[str, str, bool], deque[dict[str, Any]]] = defaultdict(deque)
    for fill in theirs:
        pool[(str(fill["datetime"]), str(fill["symbol"]), fill["qty"] > 0)].append(fill)
    out = {}
    for i, fill in enumerate(ours):
        queue = pool.get((str(fill["datetime"]), str(fill["symbol"]), fill["qty"] > 0))
        if queue:
            out[i] = queue.popleft()
    return out


def touch(fill: dict[str, Any], multiplier: float) -> float:
    """The quote's side a fill met (the ask for a buy, the bid for a sell): its mid moved by
    the spread cost it recorded (`|qty| x multiplier x |touch - mid|`)."""
    half = float(fill["spread_cost"]) / (abs(float(fill["qty"])) * multiplier)
    return float(fill["mid"]) + (half if fill["qty"] > 0 else -half)


def leg_components(
    paper: dict[str, Any], tape: dict[str, Any] | None, model: dict[str, Any], multiplier: float
) -> dict[str, float]:
    """The module doc's four leg terms of one paper fill against the model twin's."""
    n = float(paper["qty"])
    k = n * multiplier
    per = abs(n) / abs(float(model["qty"]))
    paid = float(paper["commission"]) + float(paper["fees"])
    assumed = (float(model["commission"]) + float(model["fees"])) * per
    out = {"quotes": 0.0, "spread": 0.0, "fees": -(paid - assumed)}
    price_p, price_m = float(paper["price"]), float(model["price"])
    if tape is None:
        out["slippage"] = -k * (price_p - price_m)
        return out
    mid_t, mid_m = float(tape["mid"]), float(model["mid"])
    t_t, t_m = touch(tape, multiplier), touch(model, multiplier)
    out["quotes"] = -k * (mid_t - mid_m)
    out["spread"] = -k * ((t_t - mid_t) - (t_m - mid_m))
    out["slippage"] = -k * ((price_p - t_t) - (price_m - t_m))
    return out


def attribute(
    paper: OptionRun, tape: OptionRun, model: OptionRun, multiplier: float
) -> tuple[dict[str, Any], pd.DataFrame, list[Leg]]:
    """(the figures: P&L of the three runs, gap, components, divergences; the ledger rows per
    combo and per leg; every paper trade leg with its tape and model fills)."""
    by_model, missed = _match_trades(paper.trades, model.trades)
    by_tape, _ = _match_trades(paper.trades, tape.trades)
    parts: dict[str, list[float]] = {name: [] for name in COMPONENTS if name != "residual"}
    rows: list[dict[str, Any]] = []
    legs: list[Leg] = []
    for trade in paper.trades.to_dict("records"):
        group = int(trade["group"])
        twin, taped = by_model.get(group), by_tape.get(group)
        fills = _trade_fills(paper.fills, group)
        model_fills = (
            _match_legs(fills, _trade_fills(model.fills, int(twin["group"]))) if twin else {}
        )
        tape_fills = (
            _match_legs(fills, _trade_fills(tape.fills, int(taped["group"]))) if taped else {}
        )
        combo_costs = {name: 0.0 for name in LEG_COMPONENTS}
        for i, fill in enumerate(fills):
            leg = Leg(fill, tape_fills.get(i), model_fills.get(i))
            legs.append(leg)
            terms = (
                leg_components(fill, leg.tape, leg.model, multiplier)
                if leg.model is not None
                else None
            )
            if terms is not None:
                for name, value in terms.items():
                    combo_costs[name] += value
                    parts[name].append(value)
            rows.append(_leg_row(group, twin, leg, terms, multiplier))
        combo = {"level": "combo", "group": group, "model_group": None, "status": "extra",
                 "opened": trade["opened"], "closed": trade["closed"], "model_closed": None,
                 "legs": trade["legs"], "contracts": trade["contracts"], "model_contracts": None,
                 "pnl": trade["pnl"], "model_pnl": None, **combo_costs}  # fmt: skip
        if twin is None:
            combo["missed_partial"] = float(trade["pnl"])
        else:
            scale = float(trade["contracts"]) / float(twin["contracts"])
            combo.update(
                status="matched" if scale == 1 else "partial",
                model_group=int(twin["group"]),
                model_closed=twin["closed"],
                model_contracts=twin["contracts"],
                model_pnl=twin["pnl"],
                missed_partial=float(twin["pnl"]) * (scale - 1),
                exit_timing=(float(trade["pnl"]) - math.fsum(combo_costs.values()))
                - float(twin["pnl"]) * scale,
            )
            parts["exit_timing"].append(combo["exit_timing"])
        parts["missed_partial"].append(combo["missed_partial"])
        rows.append(combo)
    for twin in missed:
        parts["missed_partial"].append(-float(twin["pnl"]))
        rows.append({"level": "combo", "group": None, "model_group": int(twin["group"]),
                     "status": "missed", "opened": twin["opened"], "closed": None,
                     "model_closed": twin["closed"], "legs": twin["legs"], "contracts": 0,
                     "model_contracts": twin["contracts"], "pnl": None,
                     "model_pnl": twin["pnl"], "missed_partial": -float(twin["pnl"])})  # fmt: skip
    gap = paper.pnl - model.pnl
    components = {name: math.fsum(values) for name, values in parts.items()}
    components["residual"] = gap - math.fsum(components.values())
    figures = {
        "pnl": {"paper": paper.pnl, "tape_twin": tape.pnl, "model_twin": model.pnl},
        "gap": gap,
        "components": {name: components[name] for name in COMPONENTS},
        "data_divergence": tape.pnl - model.pnl,
        "execution_divergence": paper.pnl - tape.pnl,
        "combos": {
            status: sum(1 for r in rows if r["level"] == "combo" and r["status"] == status)
            for status in ("matched", "partial", "missed", "extra")
        },
    }
    ledger = pd.DataFrame(rows, columns=LEDGER_COLUMNS)
    money = [*COMPONENTS[:-1], "tape_touch", "model_touch"]
    ledger[money] = ledger[money].astype(float).round(6) + 0.0  # float noise, and no -0.0
    return figures, ledger, legs


LEDGER_COLUMNS = [
    "level", "group", "model_group", "status", "opened", "closed", "model_closed", "legs",
    "datetime", "symbol", "contracts", "model_contracts", "price", "tape_price", "model_price",
    "tape_mid", "model_mid", "tape_touch", "model_touch", "commission", "model_commission",
    "pnl", "model_pnl", *COMPONENTS[:-1],
]  # fmt: skip


def _leg_row(
    group: int,
    twin: dict[str, Any] | None,
    leg: Leg,
    terms: dict[str, float] | None,
    multiplier: float,
) -> dict[str, Any]:
    fill, tape, model = leg.row, leg.tape, leg.model
    return {
        "level": "leg",
        "group": group,
        "model_group": None if twin is None else int(twin["group"]),
        "status": "matched" if model is not None else "unmatched",
        "datetime": fill["datetime"],
        "symbol": fill["symbol"],
        "contracts": fill["qty"],
        "model_contracts": None if model is None else model["qty"],
        "price": fill["price"],
        "tape_price": None if tape is None else tape["price"],
        "model_price": None if model is None else model["price"],
        "tape_mid": None if tape is None else tape["mid"],
        "model_mid": None if model is None else model["mid"],
        "tape_touch": None if tape is None else touch(tape, multiplier),
        "model_touch": None if model is None else touch(model, multiplier),
        "commission": float(fill["commission"]) + float(fill["fees"]),
        "model_commission": None
        if model is None
        else float(model["commission"]) + float(model["fees"]),
        **(terms or {}),
    }
