"""PASS / WARN / FAIL against configurable thresholds.

Checks (each gives a level; the verdict is the worst):

* **Sharpe**: ``|live - reference| / max(|reference|, sharpe_floor)`` at most ``sharpe_pass``
  (default 0.2, "within 20 %") PASS, at most ``sharpe_warn`` (0.4) WARN, beyond FAIL. The floor
  (0.1) keeps a reference Sharpe near zero from turning noise into an infinite relative gap.
  Undefined on both sides is PASS, on one side WARN.
* **Total return**: ``|live - reference| / max(|reference|, return_floor)`` against
  ``return_pass`` (0.2) / ``return_warn`` (0.4); the floor (1 %) keeps a flat reference from
  making any gap infinite. It still judges runs too short for a Sharpe ratio.
* **Correlation** of returns: ``>= min_correlation`` (0.8) PASS, ``>= fail_correlation`` (0.5)
  WARN, below FAIL; undefined WARN.
* **DTW** (annualised): ``< max_dtw`` (0.2) PASS, ``< fail_dtw`` (0.5) WARN, else FAIL.
  Correlation and DTW are read on daily returns when there are at least ``min_days`` (20) days,
  otherwise on per-bar returns (a few days of daily returns say nothing).
* **Missing fills**: any order reported filled without matching fill rows is FAIL.
* **Stated figures** (``--expect``): each metric has a worse direction (`WORSE`): a run better
  than stated (a higher Sharpe, a shallower drawdown, a lower volatility) PASSes; a worse one is
  judged by its gap, Sharpe as above, every other metric by ``|live - stated| /
  max(|stated|, 1e-9)`` against ``metric_pass`` / ``metric_warn``. Trades, exposure and
  turnover have no better side: a gap either way counts.

Exit codes of `parity compare`: 0 PASS, 1 WARN, 2 FAIL.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from parity.errors import ConfigError

LEVELS = ("PASS", "WARN", "FAIL")
EXIT_CODES = {"PASS": 0, "WARN": 1, "FAIL": 2}


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Verdict thresholds (fractions; see the module doc)."""

    sharpe_pass: float = 0.2
    sharpe_warn: float = 0.4
    sharpe_floor: float = 0.1
    min_correlation: float = 0.8
    fail_correlation: float = 0.5
    max_dtw: float = 0.2
    fail_dtw: float = 0.5
    min_days: int = 20
    metric_pass: float = 0.2
    metric_warn: float = 0.4
    return_pass: float = 0.2
    return_warn: float = 0.4
    return_floor: float = 0.01

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"threshold {f.name}={value!r} must be a non-negative number")
        if (
            self.sharpe_warn < self.sharpe_pass
            or self.metric_warn < self.metric_pass
            or self.return_warn < self.return_pass
        ):
            raise ConfigError("a *_warn threshold must be at least its *_pass threshold")
        if self.fail_correlation > self.min_correlation or self.fail_dtw < self.max_dtw:
            raise ConfigError("fail_correlation <= min_correlation and fail_dtw >= max_dtw")

    def with_overrides(self, values: Mapping[str, Any]) -> Thresholds:
        """A copy with ``values`` (None entries ignored); unknown names are a ConfigError."""
        names = {f.name: f.type for f in dataclasses.fields(self)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(
                f"unknown threshold {', '.join(unknown)}; valid: {', '.join(sorted(names))}"
            )
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            try:
                clean[name] = int(value) if name == "min_days" else float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"threshold {name}={value!r} must be a number") from None
        return dataclasses.replace(self, **clean)

    @classmethod
    def from_yaml(cls, path: Path) -> Thresholds:
        """Thresholds from a YAML mapping of names to numbers (defaults for the rest)."""
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"thresholds file {path} does not exist; check --thresholds"
            ) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"thresholds file {path} is not text (byte {exc.start} is not UTF-8); "
                "give a YAML file"
            ) from None
        except yaml.YAMLError:
            raise ConfigError(f"thresholds file {path} is not valid YAML; fix the syntax") from None
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ConfigError(f"thresholds file {path} must map names to numbers")
        return cls().with_overrides(raw)


# For each metric, which side of a stated figure is worse ("either": a gap either way counts).
WORSE: dict[str, str] = {
    "total_return": "lower",
    "cagr": "lower",
    "volatility": "higher",
    "sharpe": "lower",
    "sortino": "lower",
    "max_drawdown": "lower",  # negative: -12% is worse than -1%
    "max_drawdown_duration_days": "higher",
    "calmar": "lower",
    "win_rate": "lower",
    "profit_factor": "lower",
    "expectancy": "lower",
    "avg_win": "lower",
    "avg_loss": "lower",  # negative: a bigger average loss is lower
    "trades": "either",
    "exposure": "either",
    "turnover": "either",
}


def better_than_stated(name: str, live: float, stated: float) -> bool:
    """Whether `live` is on the better side of `stated` (never for an "either" metric)."""
    worse = WORSE.get(name, "either")
    return (worse == "lower" and live > stated) or (worse == "higher" and live < stated)


def _worst(levels: list[str]) -> str:
    return max(levels, key=LEVELS.index, default="PASS")


def _band(value: float, pass_at: float, warn_at: float) -> str:
    return "PASS" if value <= pass_at else "WARN" if value <= warn_at else "FAIL"


def check_sharpe(live: float | None, reference: float | None, t: Thresholds) -> tuple[str, str]:
    """The Sharpe check: ``(level, reason)``."""
    if live is None and reference is None:
        return "PASS", "sharpe undefined on both sides"
    if live is None or reference is None:
        return "WARN", f"sharpe undefined on one side (live {live}, reference {reference})"
    rel = abs(live - reference) / max(abs(reference), t.sharpe_floor)
    level = _band(rel, t.sharpe_pass, t.sharpe_warn)
    return level, (
        f"sharpe {live:.3f} vs {reference:.3f}: {rel:.1%} apart "
        f"(PASS <= {t.sharpe_pass:.0%}, WARN <= {t.sharpe_warn:.0%})"
    )


def check_return(live: float | None, reference: float | None, t: Thresholds) -> tuple[str, str]:
    """Total return gap, relative to the reference's (floored at `return_floor`, 1 % by default):
    the check that still speaks when a run is too short for a Sharpe ratio."""
    if live is None or reference is None:
        return "WARN", f"total return undefined (live {live}, reference {reference})"
    rel = abs(live - reference) / max(abs(reference), t.return_floor)
    level = _band(rel, t.return_pass, t.return_warn)
    return level, (
        f"total return {live:.4%} vs {reference:.4%}: {rel:.1%} apart "
        f"(PASS <= {t.return_pass:.0%}, WARN <= {t.return_warn:.0%})"
    )


def check_curves(curves: Mapping[str, Any], t: Thresholds) -> list[tuple[str, str]]:
    """Correlation and DTW checks on the daily grid (enough days) or the per-bar grid."""
    grid = "daily" if curves["daily"]["n"] >= t.min_days else "per_bar"
    figures = curves[grid]
    out: list[tuple[str, str]] = []
    corr = figures["correlation"]
    if corr is None:
        out.append(("WARN", f"{grid} returns correlation undefined"))
    else:
        level = (
            "PASS"
            if corr >= t.min_correlation
            else "WARN"
            if corr >= t.fail_correlation
            else "FAIL"
        )
        out.append((level, f"{grid} returns correlation {corr:.4f} (PASS >= {t.min_correlation})"))
    dtw = figures["dtw"]
    if dtw is None:
        out.append(("WARN", f"{grid} DTW undefined"))
    else:
        level = "PASS" if dtw < t.max_dtw else "WARN" if dtw < t.fail_dtw else "FAIL"
        out.append((level, f"{grid} annualised DTW {dtw:.4f} (PASS < {t.max_dtw})"))
    return out


def check_stated(
    live: Mapping[str, Any], stated: Mapping[str, float], t: Thresholds
) -> list[tuple[str, str]]:
    """Stated figures (``--expect``) against the live metrics: a gap on the worse side of a
    metric (`WORSE`) counts, a run better than stated PASSes."""
    out = []
    for name, want in stated.items():
        got = live.get(name)
        worse = WORSE.get(name, "either")
        side = "a gap either way counts" if worse == "either" else f"worse is {worse}"
        if got is None:
            level, text = "WARN", f"{name} undefined live (stated {want:g})"
        elif better_than_stated(name, got, want):
            level, text = "PASS", f"{name} {got:.4g} vs stated {want:.4g}: better than stated"
        elif name == "sharpe":
            level, text = check_sharpe(got, want, t)
        else:
            rel = abs(got - want) / max(abs(want), 1e-9)
            level = _band(rel, t.metric_pass, t.metric_warn)
            text = f"{name} {got:.4g} vs stated {want:.4g}: {rel:.1%} apart"
        out.append((level, f"{text} ({side})"))
    return out


def verdict(checks: list[tuple[str, str]], missing: list[str]) -> dict[str, Any]:
    """Combine checks and missing-fill problems into ``{status, exit_code, reasons, checks}``."""
    checks = list(checks) + [("FAIL", f"unexplained missing fill: {m}") for m in missing]
    status = _worst([level for level, _ in checks])
    return {
        "status": status,
        "exit_code": EXIT_CODES[status],
        "reasons": [text for level, text in checks if level != "PASS"],
        "checks": [{"level": level, "text": text} for level, text in checks],
    }
