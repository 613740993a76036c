"""Policy checkpoints: a directory with the weights and `metadata.json` (read without torch).

`metadata.json` (format 1):

```
{
  "format": 1,
  "kind": "state_dict" | "torchscript" | "exported",
  "weights": "policy.pt",                      # file in the checkpoint directory
  "module": "parity.models.nets:MlpActor",     # state_dict only: the nn.Module class to build
  "module_kwargs": {"obs_dim": 29, ...},       # state_dict only: its constructor arguments
  "feature_spec": {...FeatureSpec...},
  "normalisation": {"mean": [...], "std": [...], "clip": 10.0},
  "actions": ["HOLD", "BUY", "SELL"],
  "trading": {"trade_size": 10, "max_position": 40, "costs": {...CostModel...}, ...},
  "training": {...}, "validation": {...}        # informational (written by `parity train ppo`)
}
```

The module maps a float32 tensor `(batch, n_features)` of normalised states to `(batch, 3)`
action scores (logits or probabilities); the action taken is their argmax.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from parity.costs import CostModel
from parity.errors import ConfigError, StrategyError
from parity.models.features import FeatureSpec, Normaliser
from parity.models.masking import ACTIONS

FORMAT = 1
METADATA = "metadata.json"
_FIX = "re-export it with `parity train ppo` or fix metadata.json"


@dataclass(frozen=True, kw_only=True)
class PolicyMetadata:
    """The parsed, validated `metadata.json` of a checkpoint."""

    directory: Path
    kind: Literal["state_dict", "torchscript", "exported"]
    weights: str
    feature_spec: FeatureSpec
    normaliser: Normaliser
    trade_size: int
    max_position: int
    costs: CostModel
    module: str | None = None
    module_kwargs: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def weights_path(self) -> Path:
        return self.directory / self.weights

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready `metadata.json` content."""
        out: dict[str, Any] = {
            "format": FORMAT,
            "kind": self.kind,
            "weights": self.weights,
            "feature_spec": self.feature_spec.to_dict(),
            "feature_names": list(self.feature_spec.names),
            "normalisation": self.normaliser.to_dict(),
            "actions": list(ACTIONS),
            "trading": {
                "trade_size": self.trade_size,
                "max_position": self.max_position,
                "costs": self.costs.describe(),
            },
        }
        if self.kind == "state_dict":
            out["module"] = self.module
            out["module_kwargs"] = dict(self.module_kwargs)
        out.update(self.extra)
        return out


def write_metadata(meta: PolicyMetadata) -> Path:
    """Write `metadata.json` into the checkpoint directory and return its path."""
    meta.directory.mkdir(parents=True, exist_ok=True)
    path = meta.directory / METADATA
    path.write_text(json.dumps(meta.to_dict(), indent=2, sort_keys=True) + "\n")
    return path


def _directory(path: Path) -> Path:
    path = Path(path).expanduser()
    if path.name == METADATA and path.is_file():
        return path.parent
    if not path.exists():
        raise ConfigError(
            f"checkpoint {path} does not exist; pass a directory written by `parity train ppo` "
            "(--param checkpoint=models/NAME)"
        )
    if not path.is_dir():
        raise ConfigError(f"checkpoint {path} is a file; pass its directory (holding {METADATA})")
    return path


def _require(data: Mapping[str, Any], key: str, where: Path) -> Any:
    if key not in data:
        raise StrategyError(f"checkpoint {where}: {METADATA} has no {key!r}; {_FIX}")
    return data[key]


def read_metadata(path: Path) -> PolicyMetadata:
    """Parse and validate a checkpoint's `metadata.json` (path: the directory or the file).

    A missing checkpoint raises `ConfigError`; a missing or corrupt file, an unknown kind or
    action map, or normalisation statistics that do not fit the feature spec raise `StrategyError`.
    """
    directory = _directory(path)
    meta_path = directory / METADATA
    if not meta_path.is_file():
        raise StrategyError(f"checkpoint {directory} has no {METADATA}; {_FIX}")
    try:
        data = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StrategyError(f"checkpoint {meta_path} is not valid JSON ({exc}); {_FIX}") from None
    if not isinstance(data, dict):
        raise StrategyError(f"checkpoint {meta_path} must hold a JSON object; {_FIX}")
    if data.get("format") != FORMAT:
        raise StrategyError(
            f"checkpoint {meta_path} has format {data.get('format')!r}; this parity reads "
            f"format {FORMAT}; {_FIX}"
        )
    kind = _require(data, "kind", meta_path)
    if kind not in ("state_dict", "torchscript", "exported"):
        raise StrategyError(
            f"checkpoint {meta_path}: kind {kind!r} must be state_dict, torchscript or exported"
        )
    actions = tuple(_require(data, "actions", meta_path))
    if actions != ACTIONS:
        raise StrategyError(
            f"checkpoint {meta_path}: action map {list(actions)} differs from parity's "
            f"{list(ACTIONS)} (0=HOLD, 1=BUY, 2=SELL); retrain or remap the policy's outputs"
        )
    try:
        spec = FeatureSpec.from_dict(_require(data, "feature_spec", meta_path))
    except ConfigError as exc:
        raise StrategyError(f"checkpoint {meta_path}: {exc}; {_FIX}") from None
    try:
        normaliser = Normaliser.from_dict(_require(data, "normalisation", meta_path))
        trading = _require(data, "trading", meta_path)
        trade_size = int(trading["trade_size"])
        max_position = int(trading["max_position"])
        costs = CostModel(**trading.get("costs", {}))
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise StrategyError(f"checkpoint {meta_path}: bad value ({exc}); {_FIX}") from None
    if len(normaliser.mean) != spec.size:
        raise StrategyError(
            f"checkpoint {meta_path}: normalisation has {len(normaliser.mean)} features but the "
            f"feature spec makes {spec.size}; {_FIX}"
        )
    weights = str(_require(data, "weights", meta_path))
    if not (directory / weights).is_file():
        raise StrategyError(
            f"checkpoint {directory}: weights file {weights} is missing; copy the whole "
            "checkpoint directory"
        )
    module = data.get("module")
    if kind == "state_dict" and (not isinstance(module, str) or ":" not in module):
        raise StrategyError(
            f'checkpoint {meta_path}: a state_dict checkpoint needs "module": '
            '"package.module:ClassName" naming its nn.Module'
        )
    known = {"format", "kind", "weights", "feature_spec", "feature_names", "normalisation"}
    known |= {"actions", "trading", "module", "module_kwargs"}
    return PolicyMetadata(
        directory=directory,
        kind=kind,
        weights=weights,
        feature_spec=spec,
        normaliser=normaliser,
        trade_size=trade_size,
        max_position=max_position,
        costs=costs,
        module=module,
        module_kwargs=dict(data.get("module_kwargs") or {}),
        extra={k: v for k, v in data.items() if k not in known},
    )
