"""Divergence of a paper run from its backtest twin: every figure of `parity compare`, pure.

Inputs are :class:`RunData` (equity, orders, fills, metrics and starting cash of one run, read
from a run directory or handed over in memory). Three runs may take part:

* ``live``: the paper run;
* ``tape``: the twin backtest on the bars the paper run received (optional);
* ``reference``: the twin on vendor history (or the `--against` backtest).

``reference`` vs ``tape`` is data divergence, ``tape`` vs ``live`` execution divergence; without a
tape twin the reference plays both parts. :func:`compute_divergence` returns one JSON-ready dict
(the ``divergence.json`` contract; see the keys there). :class:`DivergenceMonitor` computes the
same figures during a paper run at the end of each session.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parity.analyzers.attribution import waterfall
from parity.analyzers.curves import curve_agreement, paired_daily
from parity.analyzers.evidence import bootstrap_sharpe_diff, days_to_detect
from parity.analyzers.ledger import round_trips
from parity.analyzers.matching import (
    decision_trades,
    equity_mark,
    match_trades,
    missing_fills,
)
from parity.analyzers.metrics import compute_metrics
from parity.analyzers.unfilled import unfilled_orders
from parity.analyzers.verdict import (
    Thresholds,
    check_curves,
    check_return,
    check_sharpe,
    verdict,
)
from parity.errors import ReportError
from parity.manifest import Manifest

COMPARED_METRICS = (
    "sharpe",
    "sortino",
    "total_return",
    "cagr",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "trades",
    "exposure",
)

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RunData:
    """What divergence needs of one run. ``equity`` has ``value, cash`` on a DatetimeIndex."""

    run_id: str
    equity: pd.DataFrame
    orders: pd.DataFrame
    fills: pd.DataFrame
    cash: float
    metrics: Mapping[str, Any] = field(default_factory=dict)
    manifest: Manifest | None = None
    trades: pd.DataFrame | None = None  # `trades.csv`: the reasons the ledger shows

    @property
    def bar_times(self) -> pd.DatetimeIndex:
        """The labels of the bars the run received (its equity rows)."""
        return pd.DatetimeIndex(self.equity.index)

    @property
    def pnl(self) -> float:
        """Final equity minus starting cash (0 with no equity yet)."""
        return float(self.equity["value"].iloc[-1]) - self.cash if len(self.equity) else 0.0

    @classmethod
    def from_dir(cls, path: Path, manifest: Manifest | None = None) -> RunData:
        """Read a run directory's equity, orders, fills, metrics and manifest."""
        import json

        path = Path(path)
        try:
            if manifest is None:
                raw = json.loads((path / "manifest.json").read_text())
                manifest = Manifest.from_dict(raw, run_id=path.name)
            metrics = json.loads((path / "metrics.json").read_text())
            equity = pd.read_csv(path / "equity.csv", index_col="datetime", parse_dates=True)
            orders = pd.read_csv(path / "orders.csv")
            fills = pd.read_csv(path / "fills.csv")
            trades = (
                pd.read_csv(path / "trades.csv", keep_default_na=False)
                if (path / "trades.csv").is_file()
                else None
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ReportError(f"run {path} is incomplete or malformed ({exc})") from None
        return cls(
            run_id=manifest.run_id or path.name,
            equity=equity,
            orders=orders,
            fills=fills,
            cash=float(manifest.cash or 0.0),
            metrics=metrics,
            manifest=manifest,
            trades=trades,
        )

    def with_metrics(self) -> RunData:
        """A copy whose ``metrics`` are computed from equity and fills (if not given)."""
        if self.metrics or not len(self.equity):
            return self
        fills = self.fills
        metrics = compute_metrics(self.equity, round_trips(fills), fills, starting_cash=self.cash)
        return RunData(
            self.run_id, self.equity, self.orders, fills, self.cash, metrics, self.manifest,
            self.trades,
        )  # fmt: skip


def _diff(live: Any, ref: Any) -> tuple[float | None, float | None]:
    if live is None or ref is None:
        return None, None
    delta = float(live) - float(ref)
    return delta, (delta / abs(float(ref)) if float(ref) else None)


def metrics_side_by_side(
    live: Mapping[str, Any],
    reference: Mapping[str, Any],
    tape: Mapping[str, Any] | None = None,
    names: tuple[str, ...] = COMPARED_METRICS,
) -> dict[str, dict[str, Any]]:
    """Per metric: live, tape, reference, ``abs_diff = live - reference`` and
    ``rel_diff = abs_diff / |reference|`` (None when undefined)."""
    out = {}
    for name in names:
        abs_diff, rel_diff = _diff(live.get(name), reference.get(name))
        out[name] = {
            "live": live.get(name),
            "tape": tape.get(name) if tape is not None else None,
            "reference": reference.get(name),
            "abs_diff": abs_diff,
            "rel_diff": rel_diff,
        }
    return out


def _decisions(orders: pd.DataFrame) -> set[tuple[pd.Timestamp, str, str]]:
    if orders is None or not len(orders):
        return set()
    times = pd.to_datetime(orders["submitted_at"], format="mixed")
    return set(zip(times, orders["symbol"].astype(str), orders["side"].astype(str), strict=True))


def _bar(frames: Mapping[str, pd.DataFrame] | None, symbol: str, when: Any) -> Any:
    if not frames or symbol not in frames:
        return None
    frame = frames[symbol]
    if when not in frame.index:
        return None
    row = frame.loc[when]
    return {c: float(row[c]) for c in ("open", "high", "low", "close", "volume") if c in row}


def first_divergence(
    a_orders: pd.DataFrame,
    b_orders: pd.DataFrame,
    *,
    a_name: str,
    b_name: str,
    bars: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
) -> dict[str, Any] | None:
    """The first bar where the two runs' decisions (symbol, side per ``submitted_at``) differ,
    with what each side decided there and the bar each data source had (``None`` if missing)."""
    a, b = _decisions(a_orders), _decisions(b_orders)
    differing = sorted(a ^ b)
    if not differing:
        return None
    when, symbol, _ = differing[0]
    return {
        "datetime": when.isoformat(),
        "symbol": symbol,
        a_name: sorted(side for t, s, side in a if t == when and s == symbol),
        b_name: sorted(side for t, s, side in b if t == when and s == symbol),
        "bars": {name: _bar(frames, symbol, when) for name, frames in (bars or {}).items()},
    }


def _ledger_summary(rows: list[Any]) -> dict[str, Any]:
    # `matched` counts positions still open at the end too (marked to the last price): the
    # closed trades of `metrics.trades` are `matched_closed` (+ missed/extra closed ones)
    counts = {s: sum(r.status == s for r in rows) for s in ("matched", "missed", "extra")}
    matched = [r for r in rows if r.status == "matched"]
    counts["matched_open"] = sum(bool(r.open_at_end) for r in matched)
    counts["matched_closed"] = counts["matched"] - counts["matched_open"]

    def mean(values: list[float | None]) -> float | None:
        clean = [v for v in values if v is not None and math.isfinite(v)]
        return float(np.mean(clean)) if clean else None

    return {
        "counts": counts,
        "mean_entry_gap_bps": mean([r.entry_gap_bps for r in matched]),
        "mean_exit_gap_bps": mean([r.exit_gap_bps for r in matched]),
        "mean_latency_s": mean([r.latency_s for r in matched]),
        "total_qty_shortfall": float(sum(r.qty_shortfall or 0.0 for r in matched)),
        "total_fee_diff": float(sum(r.fee_diff or 0.0 for r in matched)),
    }


def _trades(run: RunData) -> pd.DataFrame:
    """The run's round trips, a position open at the end closed at the price equity marks it."""
    return decision_trades(
        run.fills, run.orders, mark=equity_mark(run.equity, run.fills), reasons=run.trades
    )


def compute_divergence(
    live: RunData,
    reference: RunData,
    *,
    tape: RunData | None = None,
    thresholds: Thresholds | None = None,
    bar_seconds: float = 60.0,
    bars: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every divergence figure of ``live`` against ``reference`` (and ``tape``), JSON-ready."""
    t = thresholds or Thresholds()
    seen = tape if tape is not None else reference
    live_trades = _trades(live)
    seen_trades = _trades(seen)
    ledger = match_trades(
        live_trades,
        seen_trades,
        bar_seconds=bar_seconds,
        live_bars=live.bar_times,
        twin_bars=seen.bar_times,
    )
    unfilled, ledger = unfilled_orders(live.orders, ledger)
    curves = curve_agreement(
        live.equity["value"],
        reference.equity["value"],
        live_cash=live.cash,
        reference_cash=reference.cash,
    )
    daily = paired_daily(live.equity["value"], reference.equity["value"], live.cash, reference.cash)
    missing = missing_fills(live.orders, live.fills)
    checks = [check_sharpe(live.metrics.get("sharpe"), reference.metrics.get("sharpe"), t)]
    checks.append(
        check_return(live.metrics.get("total_return"), reference.metrics.get("total_return"), t)
    )
    checks += check_curves(curves, t)
    out: dict[str, Any] = {
        "live_run": live.run_id,
        "reference_run": reference.run_id,
        "tape_run": tape.run_id if tape is not None else None,
        "metrics": metrics_side_by_side(
            live.metrics, reference.metrics, tape.metrics if tape is not None else None
        ),
        "curves": curves,
        "ledger": {
            **_ledger_summary(ledger),
            "unfilled_orders": unfilled,
            "rows": [r.as_dict() for r in ledger],
        },
        "waterfall": waterfall(
            live_pnl=live.pnl,
            reference_pnl=reference.pnl,
            ledger=ledger,
            tape_pnl=tape.pnl if tape is not None else None,
        ),
        "first_divergence": {
            "data": (
                first_divergence(
                    tape.orders, reference.orders, a_name="tape", b_name="history", bars=bars
                )
                if tape is not None
                else None
            ),
            "execution": first_divergence(
                live.orders, seen.orders, a_name="live", b_name="twin", bars=bars
            ),
        },
        "missing_fills": missing,
        "evidence": {
            "sharpe_diff": bootstrap_sharpe_diff(
                daily["live"].to_numpy(),
                daily["reference"].to_numpy(),
                resamples=resamples,
                seed=seed,
            ),
            "power": days_to_detect(daily["live"].to_numpy(), daily["reference"].to_numpy()),
        },
        "verdict": verdict(checks, missing),
    }
    if tape is not None:
        data_ledger = match_trades(
            seen_trades,
            _trades(reference),
            bar_seconds=bar_seconds,
            live_bars=seen.bar_times,
            twin_bars=reference.bar_times,
        )
        out["data_ledger"] = _ledger_summary(data_ledger)
    return out


def _clip(
    equity: pd.DataFrame, orders: pd.DataFrame, fills: pd.DataFrame, upto: Any
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The twin's equity, orders and fills up to ``upto`` (the live run's last bar)."""
    if upto is None:
        return equity, orders, fills
    when = pd.Timestamp(upto)
    submitted = pd.to_datetime(orders["submitted_at"], format="mixed") if len(orders) else None
    filled = pd.to_datetime(fills["datetime"], format="mixed") if len(fills) else None
    return (
        equity[equity.index <= when],
        orders[submitted <= when] if submitted is not None else orders,
        fills[filled <= when] if filled is not None else fills,
    )


@dataclass
class MonitorReport:
    """What :meth:`DivergenceMonitor.on_session_end` returns."""

    session: str
    figures: dict[str, Any]
    status: str
    crossed: bool


class DivergenceMonitor:
    """Divergence figures during a paper run, at the end of each session.

    Pure: the caller hands over the live equity/orders/fills so far and the twin's (a backtest
    over the same bars, e.g. re-run on the tape each evening); no journal, no I/O. Each call
    emits ``{"event": "divergence", ...}`` through ``emit`` and, when the verdict is worse than
    PASS (a threshold is crossed) for the first time or gets worse, also
    ``{"event": "divergence_threshold_crossed", ...}``.
    """

    def __init__(
        self,
        *,
        starting_cash: float,
        thresholds: Thresholds | None = None,
        bar_seconds: float = 60.0,
        emit: Emit | None = None,
        resamples: int = 500,
        seed: int = 0,
    ) -> None:
        self.starting_cash = float(starting_cash)
        self.thresholds = thresholds or Thresholds()
        self.bar_seconds = bar_seconds
        self.emit: Emit = emit or (lambda _event: None)
        self.resamples = resamples
        self.seed = seed
        self.status = "PASS"

    def on_session_end(
        self,
        session: Any,
        *,
        live: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
        twin: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    ) -> MonitorReport:
        """``live`` and ``twin`` are ``(equity, orders, fills)`` so far; returns the figures and
        whether a threshold is crossed (verdict not PASS)."""
        live_data = RunData("live", *live, cash=self.starting_cash).with_metrics()
        upto = live[0].index[-1] if len(live[0]) else None
        twin_data = RunData("twin", *_clip(*twin, upto), cash=self.starting_cash).with_metrics()
        figures = compute_divergence(
            live_data,
            twin_data,
            thresholds=self.thresholds,
            bar_seconds=self.bar_seconds,
            resamples=self.resamples,
            seed=self.seed,
        )
        status = figures["verdict"]["status"]
        label = str(pd.Timestamp(session).date()) if session is not None else ""
        crossed = status != "PASS"
        self.emit(
            {
                "event": "divergence",
                "session": label,
                "status": status,
                "correlation": figures["curves"]["per_bar"]["correlation"],
                "final_equity_gap": figures["curves"]["final_equity"]["gap"],
                "pnl_gap": figures["waterfall"]["total"],
                "ledger": figures["ledger"]["counts"],
            }
        )
        order = ("PASS", "WARN", "FAIL")
        if crossed and order.index(status) > order.index(self.status):
            self.emit(
                {
                    "event": "divergence_threshold_crossed",
                    "session": label,
                    "status": status,
                    "reasons": figures["verdict"]["reasons"],
                }
            )
        self.status = status if order.index(status) > order.index(self.status) else self.status
        return MonitorReport(label, figures, status, crossed)
