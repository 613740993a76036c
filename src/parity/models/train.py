"""`train_ppo`: stable-baselines3 PPO on `TradingEnv`, written as a parity checkpoint.

Deterministic given the seed: CPU only, one torch thread, `torch.use_deterministic_algorithms`,
SB3's `set_random_seed` (python, numpy, torch), a deterministic environment. Both torch settings
are restored afterwards. The last `validation` fraction of the bars is held out: the normaliser
and the agent see only the head; the tail is traded once, deterministically, for the metrics.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import set_random_seed

from parity.errors import ConfigError
from parity.feeds.bars import BarSeries
from parity.feeds.loader import load_bars
from parity.models.checkpoint import METADATA, PolicyMetadata, write_metadata
from parity.models.env import TradingEnv, TradingSetup
from parity.models.evaluate import evaluate
from parity.models.features import FeatureSpec
from parity.models.masking import ACTIONS
from parity.models.nets import MlpActor
from parity.models.policy import TorchPolicy

WEIGHTS = "policy.pt"
SB3_ZIP = "ppo_sb3.zip"
HIDDEN = (64, 64)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything that determines a training run."""

    data: str = "sample"
    symbols: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    timesteps: int = 100_000
    seed: int = 0
    out: Path | None = None
    spec: FeatureSpec = dataclasses.field(default_factory=FeatureSpec)
    setup: TradingSetup = dataclasses.field(default_factory=TradingSetup)
    validation: float = 0.2
    n_steps: int = 512
    batch_size: int = 64
    learning_rate: float = 3e-4
    force: bool = False

    def __post_init__(self) -> None:
        if self.timesteps < 1:
            raise ConfigError(f"--timesteps {self.timesteps} must be positive")
        if not 0.0 <= self.validation < 1.0:
            raise ConfigError(f"--validation {self.validation} must be in [0, 1)")
        if len(self.symbols) > 1:
            raise ConfigError(
                f"train on one symbol at a time, got {', '.join(self.symbols)}; e.g. --symbols IBM"
            )

    def name(self, symbol: str) -> str:
        return f"ppo-{symbol}-w{self.spec.window}-s{self.seed}"


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    metadata: dict[str, Any]
    seconds: float
    warnings: tuple[str, ...] = ()


class _Progress(BaseCallback):
    def __init__(self, update: Callable[[int], None]) -> None:
        super().__init__()
        self._update = update

    def _on_step(self) -> bool:
        self._update(self.num_timesteps)
        return True


def sb3_actor(model: PPO, obs_dim: int, n_actions: int) -> MlpActor:
    """The trained SB3 policy network (actor) copied into a plain `MlpActor`."""
    actor = MlpActor(obs_dim, n_actions, HIDDEN, "tanh")
    policy_net = model.policy.mlp_extractor.policy_net
    layers = [m for m in policy_net if isinstance(m, torch.nn.Linear)]
    head = model.policy.action_net
    if not isinstance(head, torch.nn.Linear):
        raise TypeError(f"unexpected SB3 action_net {type(head).__name__}; expected Linear")
    layers.append(head)
    targets = [m for m in actor.net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for src, dst in zip(layers, targets, strict=True):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
    return actor.eval()


def _split(series: BarSeries, spec: FeatureSpec, validation: float) -> tuple[Any, Any]:
    frame = series.frame
    tail = int(len(frame) * validation)
    head = frame.iloc[: len(frame) - tail]
    if len(head) < spec.history + 2:
        raise ConfigError(
            f"{series.symbol}: {len(head)} training bars are too few (features need "
            f"{spec.history} bars of history); widen --from/--to or lower --validation"
        )
    # the validation env starts deciding at the first held-out bar, with history from the head
    valid = frame.iloc[len(frame) - tail - spec.history + 1 :] if tail > 1 else None
    return head, valid


def _versions() -> dict[str, str]:
    out = {}
    for name in ("stable-baselines3", "torch", "gymnasium", "numpy", "parity"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _learn(config: TrainConfig, env: TradingEnv, progress: Callable[[int], None] | None) -> PPO:
    set_random_seed(config.seed)
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=config.learning_rate,
        n_steps=config.n_steps,
        batch_size=config.batch_size,
        seed=config.seed,
        device="cpu",
        verbose=0,
        policy_kwargs={
            "net_arch": {"pi": list(HIDDEN), "vf": list(HIDDEN)},
            "activation_fn": torch.nn.Tanh,
        },
    )
    callback = _Progress(progress) if progress is not None else None
    model.learn(total_timesteps=config.timesteps, callback=callback)
    return model


def train_ppo(config: TrainConfig, progress: Callable[[int], None] | None = None) -> TrainResult:
    """Train, validate and write the checkpoint directory; returns its path and metadata."""
    began = time.perf_counter()
    # the prices a backtest of the policy sees by default: adjusted for splits
    loaded = load_bars(
        config.data, config.symbols, start=config.start, end=config.end, adjustment="splits"
    )
    series = loaded.series[0]
    out = config.out or Path("models") / config.name(series.symbol)
    if (out / METADATA).exists() and not config.force:
        raise ConfigError(f"checkpoint {out} already exists; pass --force or another --out")
    head, valid = _split(series, config.spec, config.validation)
    env = TradingEnv(head, spec=config.spec, setup=config.setup)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        model = _learn(config, env, progress)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    actor = sb3_actor(model, config.spec.size, len(ACTIONS))
    out.mkdir(parents=True, exist_ok=True)
    torch.save(actor.state_dict(), out / WEIGHTS)
    model.save(out / SB3_ZIP)
    meta = PolicyMetadata(
        directory=out,
        kind="state_dict",
        weights=WEIGHTS,
        module=f"{MlpActor.__module__}:{MlpActor.__qualname__}",
        module_kwargs={
            "obs_dim": config.spec.size,
            "n_actions": len(ACTIONS),
            "hidden": list(HIDDEN),
            "activation": "tanh",
        },
        feature_spec=config.spec,
        normaliser=env.normaliser,
        trade_size=config.setup.trade_size,
        max_position=config.setup.max_position,
        costs=config.setup.costs,
    )
    policy = TorchPolicy(meta, actor)
    validation: dict[str, Any] = {"in_sample": evaluate(env, policy.act)}
    if valid is not None:
        valid_env = TradingEnv(
            valid, spec=config.spec, setup=config.setup, normaliser=env.normaliser
        )
        validation["held_out"] = evaluate(valid_env, policy.act)
    seconds = time.perf_counter() - began
    extra = {
        "trading": {
            **meta.to_dict()["trading"],
            "cash": config.setup.cash,
            "reward": config.setup.reward,
            "risk_aversion": config.setup.risk_aversion,
        },
        "training": _training_block(config, series, head, valid, seconds),
        "validation": validation,
    }
    meta = dataclasses.replace(meta, extra=extra)
    write_metadata(meta)
    return TrainResult(out, meta.to_dict(), seconds, loaded.warnings)


def _training_block(
    config: TrainConfig, series: BarSeries, head: Any, valid: Any, seconds: float
) -> dict[str, Any]:
    head_series = BarSeries(series.symbol, head, series.timeframe, series.origin)
    return {
        "algorithm": "PPO (stable-baselines3, MlpPolicy)",
        "data": {
            "source": config.data,
            "symbol": series.symbol,
            "timeframe": series.timeframe.name,
            "sha256": series.sha256(),
            "train_sha256": head_series.sha256(),
            "bars": len(series),
            "train": {"first": str(head.index[0]), "last": str(head.index[-1]), "bars": len(head)},
            "validation_fraction": config.validation,
            "validation_first": str(valid.index[config.spec.history - 1])
            if valid is not None
            else None,
        },
        "seed": config.seed,
        "timesteps": config.timesteps,
        "hyperparameters": {
            "n_steps": config.n_steps,
            "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "net_arch": list(HIDDEN),
            "activation": "tanh",
        },
        "device": "cpu",
        "seconds": round(seconds, 3),
        "versions": _versions(),
        "normalisation_fitted_on": "training bars only",
    }
