"""`MlpActor`: the actor half of a stable-baselines3 `MlpPolicy`, as a plain torch module.

`parity train ppo` copies the trained policy network (SB3's `mlp_extractor.policy_net` and
`action_net`) into this module and saves its state dict, so trading needs torch only, not SB3.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


class MlpActor(nn.Module):
    """`obs (batch, obs_dim)` → action logits `(batch, n_actions)`."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int = 3,
        hidden: Sequence[int] = (64, 64),
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        act = _ACTIVATIONS[activation]
        layers: list[nn.Module] = []
        width = obs_dim
        for size in hidden:
            layers += [nn.Linear(width, size), act()]
            width = size
        layers.append(nn.Linear(width, n_actions))
        self.net = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)  # type: ignore[no-any-return]
