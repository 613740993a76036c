"""`policy`: trade a torch policy checkpoint (from `parity train ppo`, or your own module).

Each bar, per symbol: the state is built from the last `history` bars of the Backtrader lines by
`parity.models.features.compute_features` (the very function the training environment uses),
normalised with the checkpoint's statistics; the policy's highest-scoring action (0=HOLD, 1=BUY,
2=SELL) is masked exactly as in training (`parity.models.masking`); BUY buys
`min(trade_size, max_position - position)` shares, SELL sells `min(trade_size, position)`.

torch is imported only when the strategy is instantiated (a policy is actually loaded), never
when this module is imported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np

from parity.errors import ConfigError, StrategyError
from parity.models.checkpoint import read_metadata
from parity.models.features import GROUPS, FeatureSpec, compute_features
from parity.models.masking import (
    BUY,
    SELL,
    action_mask,
    buy_quantity,
    resolve_action,
    sell_quantity,
)
from parity.strategies.base import BarsOfRun, ParityStrategy
from parity.strategies.params import bt_params


@dataclass(frozen=True, kw_only=True)
class PolicyParams:
    """`checkpoint` is required; the others default to what the checkpoint was trained with.

    `window`, `features` (comma-separated groups) and `feature_spec` (a FeatureSpec JSON file)
    state what the state vector must be: a checkpoint trained otherwise is refused.
    """

    checkpoint: str = ""
    trade_size: int | None = None
    max_position: int | None = None
    window: int | None = None
    features: str | None = None
    feature_spec: str | None = None
    # run on bars of another timeframe than the training's (refused unless asked for)
    any_timeframe: bool = False

    def __post_init__(self) -> None:
        if not self.checkpoint:
            raise ValueError(
                "the policy strategy needs --param checkpoint=PATH (a directory written by "
                "`parity train ppo`)"
            )
        for name in ("trade_size", "max_position"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive number of shares, got {value}")
        if self.window is not None and self.window < 2:
            raise ValueError(f"window must be at least 2 bars, got {self.window}")
        if self.features is not None:
            unknown = [g for g in _groups(self.features) if g not in GROUPS]
            if unknown:
                raise ValueError(
                    f"features {','.join(unknown)} unknown; choose from {','.join(GROUPS)}"
                )


def _groups(text: str) -> tuple[str, ...]:
    return tuple(g.strip() for g in text.split(",") if g.strip())


def check_feature_spec(trained: FeatureSpec, cfg: PolicyParams) -> None:
    """Raise `StrategyError` naming the mismatch when the checkpoint's spec differs from the
    configured one."""
    where = f"checkpoint {cfg.checkpoint}"
    if cfg.window is not None and cfg.window != trained.window:
        raise StrategyError(
            f"{where} was trained with window={trained.window} but the strategy is configured "
            f"with window={cfg.window}; drop --param window or retrain with --window {cfg.window}"
        )
    if cfg.features is not None:
        wanted = tuple(g for g in GROUPS if g in _groups(cfg.features))
        if wanted != trained.features:
            raise StrategyError(
                f"{where} was trained with features={','.join(trained.features)} but the "
                f"strategy is configured with features={','.join(wanted)}; drop --param "
                "features or retrain the policy on those features"
            )
    if cfg.feature_spec is not None:
        path = Path(cfg.feature_spec).expanduser()
        try:
            expected = FeatureSpec.from_json(path.read_text())
        except OSError as exc:
            raise ConfigError(f"feature_spec file {path} cannot be read: {exc.strerror}") from None
        diffs = trained.differences(expected)
        if diffs:
            raise StrategyError(
                f"{where} feature spec differs from {path} ({'; '.join(diffs)}, checkpoint != "
                "configured); use the spec the policy was trained with or retrain it"
            )


_NAMES = ("hold", "buy", "sell")


def _decision(scores: np.ndarray, chosen: int, action: int) -> dict[str, Any]:
    """What the journal keeps of one decision: the action, the policy's scores and their
    softmax (the action probabilities of a policy that outputs logits)."""
    shifted = np.exp(scores - scores.max())
    probabilities = shifted / shifted.sum()
    return {
        "reason": f"policy {_NAMES[action]}",
        "chosen": _NAMES[chosen],
        "scores": [round(float(v), 6) for v in scores],
        "probabilities": [round(float(v), 6) for v in probabilities],
    }


class PolicyStrategy(ParityStrategy):
    """Trade a torch policy checkpoint (PPO from `parity train ppo`, or your own module)."""

    Params = PolicyParams
    per_symbol_warmup = True
    params = bt_params(PolicyParams)

    @classmethod
    def bars_warnings(cls, params: Mapping[str, Any], bars: BarsOfRun) -> list[str]:
        """Refuse bars of another timeframe than the training's (a daily policy's features on
        minute bars mean nothing: it would silently never trade); warn when the run's window
        overlaps the training bars (an in-sample test) or trades another symbol."""
        checkpoint = str(params.get("checkpoint") or "")
        if not checkpoint:
            return []
        trained = (read_metadata(Path(checkpoint)).extra.get("training") or {}).get("data") or {}
        out: list[str] = []
        timeframe = trained.get("timeframe")
        if timeframe and timeframe != bars.timeframe and not params.get("any_timeframe"):
            raise StrategyError(
                f"checkpoint {checkpoint} was trained on {timeframe} bars; this run is on "
                f"{bars.timeframe} bars, where its features mean something else: run with "
                f"--timeframe {timeframe}, retrain it with `parity train ppo` on "
                f"{bars.timeframe} bars, or --param any_timeframe=true to run it anyway"
            )
        window = trained.get("train") or {}
        if window.get("first") and window.get("last"):
            first, last = (dt.datetime.fromisoformat(window[k]) for k in ("first", "last"))
            if bars.first <= last and first <= bars.last:
                out.append(
                    f"the run's bars {bars.first:%Y-%m-%d}..{bars.last:%Y-%m-%d} overlap the "
                    f"training bars of checkpoint {checkpoint} ({first:%Y-%m-%d}.."
                    f"{last:%Y-%m-%d}): an in-sample test flatters the policy; start after "
                    f"{last:%Y-%m-%d} (--from) for an out-of-sample one"
                )
        symbol = trained.get("symbol")
        if symbol and symbol not in bars.symbols:
            out.append(
                f"checkpoint {checkpoint} was trained on {symbol}; this run trades "
                f"{','.join(bars.symbols)}"
            )
        return out

    def __init__(self) -> None:
        super().__init__()
        from parity.models.policy import load_policy  # imports torch: only when used

        cfg: PolicyParams = self.cfg
        self.policy = load_policy(Path(cfg.checkpoint))
        meta = self.policy.metadata
        check_feature_spec(meta.feature_spec, cfg)
        self.spec = meta.feature_spec
        self.normaliser = meta.normaliser
        self.costs = meta.costs
        self.trade_size = cfg.trade_size or meta.trade_size
        self.max_position = cfg.max_position or meta.max_position

    def state(self, data: bt.AbstractDataBase) -> np.ndarray | None:
        """The raw state vector of `data`'s current bar, or None before `history` bars."""
        n = self.spec.history
        if len(data) < n:
            return None
        return compute_features(
            self.spec,
            data.open.get(size=n),
            data.high.get(size=n),
            data.low.get(size=n),
            data.close.get(size=n),
            data.volume.get(size=n),
        )

    def next(self) -> None:
        for data in self.datas:
            if not self.ready(data):
                continue
            features = self.state(data)
            if features is None:
                continue
            observation = self.normaliser.apply(features)
            position = int(self.getposition(data).size)
            mask = action_mask(
                position=position,
                cash=self.broker.getcash(),
                price=float(data.close[0]),
                trade_size=self.trade_size,
                max_position=self.max_position,
                costs=self.costs,
                pending=self.has_pending(data),
            )
            scores = np.asarray(self.policy.scores(observation), dtype=float)
            chosen = int(np.argmax(scores))  # the policy's `act`: the highest score
            action = resolve_action(chosen, mask)
            self.on_decision(data, features, observation, chosen, action)
            if action not in (BUY, SELL):
                continue
            decision = _decision(scores, chosen, action)
            if action == BUY:
                size = buy_quantity(position, self.trade_size, self.max_position)
                self.buy(data=data, size=size, decision=decision)
            else:
                self.sell(
                    data=data, size=sell_quantity(position, self.trade_size), decision=decision
                )

    def on_decision(
        self,
        data: bt.AbstractDataBase,
        features: np.ndarray,
        observation: np.ndarray,
        chosen: int,
        action: int,
    ) -> Any:
        """Hook called once per decision: override to record states or decisions (no-op)."""
        return None
