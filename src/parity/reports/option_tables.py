"""The options tables every report shows, as plain rows (the tearsheet, the daily and weekly
reports and the dashboard render them):

- each option order (a combo or a single leg) with its legs: the order's strategy tag, legs,
  net price (+ debit / - credit per unit, as `options_orders.csv`'s `net`), quantity, status
  and its trade's P&L; each leg's contract, side, ratio, average fill price, the quote's mid,
  the spread and slippage it paid and its fees (from `options_fills.csv`, or the journal's
  fills with their mid and costs, schema 4);
- the Greeks of the open positions (`options_positions.csv`, or the journal's
  `options_session` events) beside the portfolio's (`options_greeks.csv`);
- the assumptions table `parity compare` writes (`RUN/compare/assumptions.csv`: each cost
  assumption of the backtest beside what was measured, with its verdict).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from parity.errors import ReportError

ASSUMPTION_COLUMNS = ("item", "assumed", "measured", "p10", "p50", "p90", "n", "deviation",
                      "verdict")  # fmt: skip
VERDICTS = ("excellent", "acceptable", "concerning")
LEG_KEYS = ("symbol", "side", "ratio", "price", "mid", "spread_cost", "slippage_cost", "fees")
GREEKS = ("delta", "gamma", "theta", "vega")
MAX_POSITION_ROWS = 200


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def parse_legs(text: str) -> list[tuple[int, str]]:
    """`-1xIBM120202P00192000 +1xIBM120202P00187000` -> [(-1, symbol), (1, symbol)]."""
    legs = []
    for token in str(text).split():
        ratio, _, symbol = token.partition("x")
        legs.append((int(ratio), symbol))
    return legs


def leg_rows(legs: list[tuple[int, str]], fills: pd.DataFrame) -> list[dict[str, Any]]:
    """Each leg with what its fills paid (`fills`: one order's trade fills, `leg` from 1,
    `qty` signed, `price`, `mid`, the costs in cash); a leg that never filled has no price."""
    rows = []
    for i, (ratio, symbol) in enumerate(legs, 1):
        own = fills[fills["leg"] == i] if len(fills) else fills
        size = float(own["qty"].abs().sum()) if len(own) else 0.0
        filled = size > 0

        def avg(column: str, own: pd.DataFrame = own, size: float = size) -> float | None:
            return float((own[column] * own["qty"].abs()).sum() / size) if size else None

        rows.append(
            {
                "symbol": symbol,
                "side": "buy" if ratio > 0 else "sell",
                "ratio": abs(ratio),
                "qty": size,
                "price": avg("price"),
                "mid": avg("mid"),
                "spread_cost": float(own["spread_cost"].sum()) if filled else None,
                "slippage_cost": float(own["slippage_cost"].sum()) if filled else None,
                "fees": float((own["commission"] + own["fees"]).sum()) if filled else None,
            }
        )
    return rows


def combos_from_files(run_dir: Path) -> list[dict[str, Any]] | None:
    """Every option order of a run that wrote its options CSVs, with its legs and its trade's
    P&L (on the order that opened the trade); None without `options_orders.csv`."""
    orders_path = run_dir / "options_orders.csv"
    if not orders_path.is_file():
        return None
    orders = pd.read_csv(orders_path)
    fills = _csv(run_dir / "options_fills.csv")
    trades = _csv(run_dir / "options_trades.csv")
    pnl = dict(zip(trades["group"], trades["pnl"], strict=True)) if len(trades) else {}
    outcome = dict(zip(trades["group"], trades["outcome"], strict=True)) if len(trades) else {}
    traded = fills[fills["kind"] == "trade"] if len(fills) else fills
    seen: set[int] = set()
    out = []
    for row in orders.itertuples(index=False):
        opens = row.group not in seen
        seen.add(row.group)
        own = traded[traded["order"] == row.order] if len(traded) else traded
        out.append(
            {
                "order": int(row.order),
                "group": int(row.group),
                "tag": _text(row.tag),
                "submitted_at": _text(row.submitted_at),
                "legs_text": _text(row.legs),
                "net": _num(row.net),
                "qty": int(row.qty),
                "filled": int(row.filled),
                "type": _text(row.type),
                "status": _text(row.status),
                "reason": _text(row.reason),
                "pnl": _num(pnl.get(row.group)) if opens else None,
                "outcome": _text(outcome.get(row.group)) if opens else "",
                "legs": leg_rows(parse_legs(row.legs), own),
            }
        )
    return out


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def greeks_from_files(run_dir: Path) -> dict[str, Any] | None:
    """The open positions' Greeks at the last mark and the portfolio's (then its history per
    session); None for a run without `options_greeks.csv`."""
    path = run_dir / "options_greeks.csv"
    if not path.is_file():
        return None
    portfolio = pd.read_csv(path)
    positions = _csv(run_dir / "options_positions.csv")
    if not len(portfolio):
        return {"as_of": None, "positions": [], "portfolio": None, "history": [],
                "position_history": [], "position_rows": 0}  # fmt: skip
    last = portfolio.iloc[-1]
    at = str(last["datetime"])
    open_now = positions[positions["datetime"] == at] if len(positions) else positions
    daily = portfolio.assign(day=pd.to_datetime(portfolio["datetime"]).dt.date)
    daily = daily.groupby("day", sort=True).last()
    recent = positions.tail(MAX_POSITION_ROWS) if len(positions) else positions
    return {
        "as_of": at,
        "positions": [position_row(p) for p in open_now.to_dict("records")],
        # each contract's Greeks at each mark (the latest `MAX_POSITION_ROWS`)
        "position_history": [
            {"datetime": str(p["datetime"]), **position_row(p)} for p in recent.to_dict("records")
        ],
        "position_rows": len(positions),
        "portfolio": portfolio_row(last.to_dict()),
        "history": [
            {"session": str(day), **portfolio_row(row.to_dict())} for day, row in daily.iterrows()
        ],
    }


def position_row(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "symbol": str(p.get("symbol")),
        "qty": int(float(p.get("qty") or 0)),
        "mark": _num(p.get("mark")),
        "value": _num(p.get("value")),
        **{k: _num(p.get(k)) for k in GREEKS},
    }


def portfolio_row(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "contracts": int(float(p.get("contracts") or 0)),
        "option_value": _num(p.get("option_value")),
        "underlying_price": _num(p.get("underlying_price")),
        **{k: _num(p.get(k)) for k in GREEKS},
    }


def read_assumptions(run_dir: Path) -> list[dict[str, Any]] | None:
    """`RUN/compare/assumptions.csv` as rows, or None when the run was not compared; a file
    without its columns or with an unknown verdict is a one-line `ReportError`."""
    path = run_dir / "compare" / "assumptions.csv"
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: not a readable CSV ({exc}); run parity compare again") from None
    missing = [c for c in ASSUMPTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ReportError(
            f"{path} lacks column(s) {', '.join(missing)}; it needs "
            f"{', '.join(ASSUMPTION_COLUMNS)} (run parity compare again)"
        )
    bad = sorted({str(v) for v in frame["verdict"].dropna()} - set(VERDICTS))
    if bad:
        raise ReportError(
            f"{path}: verdict {bad[0]!r} is not one of {', '.join(VERDICTS)}; "
            "run parity compare again"
        )
    return [
        {
            "item": _text(r["item"]),
            **{k: _num(r[k]) for k in ("assumed", "measured", "p10", "p50", "p90", "deviation")},
            "n": None if _num(r["n"]) is None else int(float(r["n"])),
            "verdict": _text(r["verdict"]),
        }
        for r in frame.to_dict("records")
    ]
