"""Loading a torch policy from a checkpoint and deciding with it. Imports torch (import this
module only when a policy is actually used).

Three kinds, described by the same `metadata.json` (see `models/checkpoint.py`):
- `torchscript`: a `torch.jit.save`d module in `weights` (torch deprecates TorchScript; its
  deprecation warning is silenced here because loading user files is the point);
- `exported`: a `torch.export.save`d program (`.pt2`) in `weights`;
- `state_dict`: `torch.save(module.state_dict())` in `weights`, rebuilt as
  `module_kwargs`-constructed `package.module:ClassName` from `module` (the module must be
  importable, e.g. installed or on PYTHONPATH).
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from parity.errors import StrategyError
from parity.models.checkpoint import PolicyMetadata, read_metadata
from parity.models.masking import ACTIONS


def _import_class(path: str, where: Path) -> Any:
    module_name, _, class_name = path.rpartition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyError(
            f"checkpoint {where}: cannot import policy module {module_name!r} ({exc}); install "
            "it or put it on PYTHONPATH"
        ) from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise StrategyError(f"checkpoint {where}: module {module_name} has no class {class_name}")
    return cls


def _build_module(meta: PolicyMetadata) -> torch.nn.Module:
    path = meta.weights_path
    if meta.kind == "torchscript":
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", "`torch.jit.load` is deprecated", DeprecationWarning
                )
                loaded = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
            return loaded.eval()  # type: ignore[no-any-return]
        except Exception as exc:  # torch raises RuntimeError/ValueError/... on a bad archive
            raise StrategyError(
                f"checkpoint {path} is not a loadable TorchScript file ({type(exc).__name__}); "
                "re-export it with torch.jit.save"
            ) from None
    if meta.kind == "exported":
        try:
            return torch.export.load(str(path)).module()
        except Exception as exc:  # a bad or foreign archive
            raise StrategyError(
                f"checkpoint {path} is not a loadable torch.export program "
                f"({type(exc).__name__}); re-export it with torch.export.save"
            ) from None
    cls = _import_class(str(meta.module), meta.directory)
    try:
        module: torch.nn.Module = cls(**meta.module_kwargs)
    except TypeError as exc:
        raise StrategyError(
            f"checkpoint {meta.directory}: {meta.module}(**module_kwargs) failed: {exc}"
        ) from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        module.load_state_dict(state)
        module.eval()
    except Exception as exc:  # corrupt archive, missing/unexpected keys, shape mismatch
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StrategyError(
            f"checkpoint {path}: weights do not load into {meta.module} ({first}); re-export "
            "the checkpoint"
        ) from None
    return module


class TorchPolicy:
    """A loaded policy: normalised state (float32) → action index (argmax of its scores)."""

    def __init__(self, metadata: PolicyMetadata, module: torch.nn.Module) -> None:
        self.metadata = metadata
        self.module = module  # in eval mode already (an exported program cannot switch)
        size = metadata.feature_spec.size
        try:
            probe = self.scores(np.zeros(size, dtype=np.float32))
        except Exception as exc:  # a module built for another input size raises RuntimeError
            raise StrategyError(
                f"checkpoint {metadata.directory}: the policy does not accept a state of {size} "
                f"features ({type(exc).__name__}); its input size must match the feature spec"
            ) from None
        if probe.shape != (len(ACTIONS),):
            raise StrategyError(
                f"checkpoint {metadata.directory}: the policy outputs shape {probe.shape}, "
                f"expected {len(ACTIONS)} action scores per state (HOLD, BUY, SELL)"
            )

    def scores(self, observation: np.ndarray) -> np.ndarray:
        """Action scores (logits or probabilities) for one normalised state."""
        with torch.no_grad():
            out = self.module(torch.from_numpy(observation).unsqueeze(0))
        return out.squeeze(0).numpy()  # type: ignore[no-any-return]

    def act(self, observation: np.ndarray) -> int:
        """Deterministic action: the index of the highest score (first on ties)."""
        return int(np.argmax(self.scores(observation)))


def load_policy(path: Path) -> TorchPolicy:
    """Read `metadata.json`, build the module on CPU and check its output shape."""
    meta = read_metadata(path)
    return TorchPolicy(meta, _build_module(meta))
