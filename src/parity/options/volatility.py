"""Volatility of the underlying, updated once per session from its close-to-close log returns
(causal: the estimate at a session's close uses returns up to that close only).

- `EwmaVol`: RiskMetrics' exponentially weighted variance, sigma^2 = l sigma^2 + (1 - l) r^2,
  seeded with the mean square of the first `warmup` returns. One line of arithmetic; no
  library is needed for it.
- `GarchVol`: GARCH(1,1) from `arch` (the kept library), refitted on all returns so far every
  `refit` sessions; between refits the fitted recursion carries the variance forward.

Both annualise with `periods` sessions a year (252 on an exchange).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol


class VolModel(Protocol):
    def update(self, close: float) -> None: ...
    @property
    def sigma(self) -> float | None: ...  # annualised; None until warmed up
    def describe(self) -> str: ...


@dataclass
class EwmaVol:
    decay: float = 0.94
    warmup: int = 20
    periods: int = 252
    _last: float | None = field(default=None, init=False)
    _returns: list[float] = field(default_factory=list, init=False)
    _var: float | None = field(default=None, init=False)

    def update(self, close: float) -> None:
        if self._last is not None and close > 0 and self._last > 0:
            r = math.log(close / self._last)
            if self._var is None:
                self._returns.append(r)
                if len(self._returns) >= self.warmup:
                    self._var = sum(x * x for x in self._returns) / len(self._returns)
            else:
                self._var = self.decay * self._var + (1 - self.decay) * r * r
        self._last = close

    @property
    def sigma(self) -> float | None:
        return None if self._var is None else math.sqrt(self._var * self.periods)

    def describe(self) -> str:
        return f"EWMA({self.decay:g})"


@dataclass
class GarchVol:
    refit: int = 21
    warmup: int = 100
    periods: int = 252
    _last: float | None = field(default=None, init=False)
    _returns: list[float] = field(default_factory=list, init=False)
    _params: tuple[float, float, float, float] | None = field(default=None, init=False)
    _var: float | None = field(default=None, init=False)  # next session's variance (returns^2)

    def update(self, close: float) -> None:
        if self._last is not None and close > 0 and self._last > 0:
            r = math.log(close / self._last)
            self._returns.append(r)
            n = len(self._returns)
            if n >= self.warmup and (self._params is None or n % self.refit == 0):
                self._fit()
            elif self._params is not None and self._var is not None:
                mu, omega, alpha, beta = self._params
                self._var = omega + alpha * (r - mu) ** 2 + beta * self._var
        self._last = close

    def _fit(self) -> None:
        from arch import arch_model

        # arch fits better on percent returns; scale back to fractions below
        model = arch_model([100 * r for r in self._returns], vol="GARCH", p=1, q=1, rescale=False)
        fitted = model.fit(disp="off", show_warning=False)
        p = fitted.params
        self._params = (
            float(p["mu"]) / 100,
            float(p["omega"]) / 1e4,
            float(p["alpha[1]"]),
            float(p["beta[1]"]),
        )
        self._var = float(fitted.forecast(horizon=1).variance.iloc[-1, 0]) / 1e4

    @property
    def sigma(self) -> float | None:
        return None if self._var is None else math.sqrt(self._var * self.periods)

    def describe(self) -> str:
        return f"GARCH(1,1) refit every {self.refit} sessions"
