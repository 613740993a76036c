"""The assumptions table of an options `compare`: each assumption of the backtest beside what the
paper run measured, with a verdict.

`compare/assumptions.csv` has the columns `item, assumed, measured, p10, p50, p90, n,
deviation, verdict` (a fixed format other reports read):

* cost rows, measured per paper trade fill against the quote the run received, carried to the
  fill (the twin on the received quotes' fill of the same leg); `measured` is the median:
  - ``spread``: the half spread paid as a fraction of the mid, in the model's terms (assumed:
    the model's `half_spread`): the assumed fraction times the received quote's half spread
    over the model's on the same fill (the twin's), so the tick both round to cancels: a venue
    quoting as the model measures exactly the assumption, one quoting 5% where the model
    quotes 3% measures 0.05, and a cheap contract's one-tick spread is judged against the
    model's one tick, not as 100% of its mid;
  - ``slippage``: the fill past the ask/bid, a fraction of it (assumed: the costs' slippage);
  - ``fees_per_contract``: commission and fees per contract (assumed: the backtest's on the
    same fills, per contract);
  fractions are measured to 0.1 basis point (5 decimals) and money to 1/100 cent, below which
  a carried quote's rounding lies;
* outcome rows, the paper run's figure beside the model twin's or `--expect`'s:
  ``execution_rate`` (combos filled / sent and ended: one still working at the end is left
  out), ``win_rate`` (closed combos with P&L > 0),
  ``daily_pnl`` (mean P&L a session; p10/p50/p90 of the sessions), ``days_traded`` (sessions
  with an option fill).

``deviation = measured / assumed - 1`` (blank when the assumption is 0: then 0 measured is
excellent and anything else concerning); the verdict is excellent within the first band
(default ±25%), acceptable within the second (±50%), concerning beyond (`--bands 0.25,0.5`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parity.errors import ConfigError

COLUMNS = ("item", "assumed", "measured", "p10", "p50", "p90", "n", "deviation", "verdict")
EXPECT_KEYS = ("execution_rate", "win_rate", "daily_pnl", "days_traded")
VERDICTS = ("excellent", "acceptable", "concerning")


@dataclass(frozen=True)
class Bands:
    """|deviation| within `excellent` is excellent, within `acceptable` acceptable."""

    excellent: float = 0.25
    acceptable: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.excellent < self.acceptable and math.isfinite(self.acceptable)):
            raise ConfigError(
                f"--bands {self.excellent:g},{self.acceptable:g}: need 0 < EXCELLENT < "
                "ACCEPTABLE, e.g. --bands 0.25,0.5"
            )

    def verdict(self, deviation: float | None, *, assumed: float, measured: float) -> str:
        if deviation is None:  # a zero assumption
            return "excellent" if measured == 0 else "concerning"
        size = abs(deviation)
        if size <= self.excellent + 1e-12:
            return "excellent"
        return "acceptable" if size <= self.acceptable + 1e-12 else "concerning"


def parse_bands(text: str) -> Bands:
    """``'0.25,0.5'`` (or ``'25%,50%'``) -> `Bands`."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(
            f"--bands {text!r} must be two numbers EXCELLENT,ACCEPTABLE, e.g. 0.25,0.5"
        )
    values = []
    for part in parts:
        scale = 0.01 if part.endswith("%") else 1.0
        try:
            values.append(float(part.rstrip("%")) * scale)
        except ValueError:
            raise ConfigError(
                f"--bands {text!r}: {part!r} is not a number; e.g. 0.25,0.5"
            ) from None
    return Bands(values[0], values[1])


def check_expect(expect: Mapping[str, float] | None) -> dict[str, float]:
    """The `--expect` figures an options compare takes (one-line error on any other)."""
    given = dict(expect or {})
    unknown = sorted(set(given) - set(EXPECT_KEYS))
    if unknown:
        raise ConfigError(
            f"--expect {', '.join(unknown)}: an options run is compared on "
            f"{', '.join(EXPECT_KEYS)}, e.g. --expect daily_pnl=341.77"
        )
    return given


def row(
    item: str,
    assumed: float,
    values: Sequence[float],
    bands: Bands,
    *,
    measured: float | None = None,
    digits: int | None = None,
    spread: bool = True,
) -> dict[str, Any]:
    """One table row: `measured` (default the median of `values`), the distribution, the
    deviation and the verdict; `digits` rounds what is measured."""
    clean = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    fit = (lambda x: round(x, digits)) if digits is not None else (lambda x: x)
    pcts: list[float | None] = (
        [fit(float(x)) for x in np.percentile(clean, [10, 50, 90])]
        if clean and spread
        else [None, None, None]
    )
    got = fit(measured) if measured is not None else pcts[1] if clean else None
    deviation = None
    if got is not None and assumed != 0:
        deviation = got / assumed - 1
    verdict = (
        "concerning" if got is None else bands.verdict(deviation, assumed=assumed, measured=got)
    )
    return {
        "item": item,
        "assumed": assumed,
        "measured": got,
        "p10": pcts[0],
        "p50": pcts[1],
        "p90": pcts[2],
        "n": len(clean),
        "deviation": deviation,
        "verdict": verdict,
    }


def table_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def write_table(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    table_frame(rows).to_csv(path, index=False)
    return path


def table_text(rows: Sequence[Mapping[str, Any]], bands: Bands) -> list[str]:
    """The table as console lines."""

    def num(value: Any, item: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if item in ("spread", "slippage", "execution_rate", "win_rate"):
            return f"{value:.4f}"
        if item == "days_traded":
            return f"{value:g}"
        return f"{value:,.2f}"

    head = f"{'item':<18}{'assumed':>10}{'measured':>10}{'p10':>10}{'p50':>10}{'p90':>10}"
    head += f"{'n':>5}{'deviation':>11}  verdict"
    lines = [
        f"assumptions (excellent within ±{bands.excellent:.0%}, acceptable within "
        f"±{bands.acceptable:.0%}, else concerning):",
        head,
    ]
    for r in rows:
        item = str(r["item"])
        dev = "-" if r["deviation"] is None else f"{r['deviation']:+.1%}"
        lines.append(
            f"{item:<18}{num(r['assumed'], item):>10}{num(r['measured'], item):>10}"
            f"{num(r['p10'], item):>10}{num(r['p50'], item):>10}{num(r['p90'], item):>10}"
            f"{r['n']:>5}{dev:>11}  {r['verdict']}"
        )
    return lines
