"""Checkpoints: metadata round trip, the three policy kinds, and clear errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from parity.costs import CostModel
from parity.errors import ConfigError, StrategyError
from parity.models.checkpoint import PolicyMetadata, read_metadata, write_metadata
from parity.models.features import FeatureSpec, Normaliser
from parity.models.nets import MlpActor
from parity.models.policy import load_policy

SPEC = FeatureSpec()
NORM = Normaliser(tuple(0.1 * i for i in range(29)), tuple(1.0 + i for i in range(29)))


def write_checkpoint(directory: Path, kind: str = "state_dict", **changes: object) -> MlpActor:
    torch.manual_seed(0)
    actor = MlpActor(SPEC.size).eval()
    directory.mkdir(parents=True, exist_ok=True)
    weights = {"state_dict": "policy.pt", "torchscript": "policy.ts", "exported": "policy.pt2"}
    if kind == "state_dict":
        torch.save(actor.state_dict(), directory / "policy.pt")
    elif kind == "exported":
        program = torch.export.export(actor, (torch.zeros(1, SPEC.size),))
        torch.export.save(program, directory / "policy.pt2")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(
                torch.jit.trace(actor, torch.zeros(1, SPEC.size)), directory / "policy.ts"
            )
    values: dict[str, object] = {
        "directory": directory,
        "kind": kind,
        "weights": weights[kind],
        "module": "parity.models.nets:MlpActor" if kind == "state_dict" else None,
        "module_kwargs": {"obs_dim": SPEC.size} if kind == "state_dict" else {},
        "feature_spec": SPEC,
        "normaliser": NORM,
        "trade_size": 5,
        "max_position": 40,
        "costs": CostModel(slippage_pct=0.0005),
        "extra": {"training": {"seed": 3}},
    }
    values.update(changes)
    write_metadata(PolicyMetadata(**values))  # type: ignore[arg-type]
    return actor


def edit_metadata(directory: Path, **changes: object) -> None:
    path = directory / "metadata.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_metadata_round_trip(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "ck")
    meta = read_metadata(tmp_path / "ck")
    assert meta.feature_spec == SPEC and meta.normaliser == NORM
    assert (meta.trade_size, meta.max_position) == (5, 40)
    assert meta.costs == CostModel(slippage_pct=0.0005)
    assert meta.extra == {"training": {"seed": 3}}
    data = json.loads((tmp_path / "ck" / "metadata.json").read_text())
    assert data["actions"] == ["HOLD", "BUY", "SELL"] and len(data["feature_names"]) == 29
    assert read_metadata(tmp_path / "ck" / "metadata.json").directory == tmp_path / "ck"


@pytest.mark.parametrize("kind", ["state_dict", "torchscript", "exported"])
def test_every_kind_loads_and_decides_like_the_module(tmp_path: Path, kind: str) -> None:
    actor = write_checkpoint(tmp_path / kind, kind)
    policy = load_policy(tmp_path / kind)
    rng = np.random.default_rng(1)
    for _ in range(20):
        obs = rng.normal(size=SPEC.size).astype(np.float32)
        with torch.no_grad():
            expected = actor(torch.from_numpy(obs).unsqueeze(0)).squeeze(0).numpy()
        assert np.array_equal(policy.scores(obs), expected)
        assert policy.act(obs) == int(np.argmax(expected))


def test_a_users_own_module_loads_from_module_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_policy_pkg.py").write_text(
        "import torch\n"
        "class Linear3(torch.nn.Module):\n"
        "    def __init__(self, n_in):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(n_in, 3)\n"
        "    def forward(self, x):\n"
        "        return torch.softmax(self.fc(x), dim=-1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import my_policy_pkg  # type: ignore[import-not-found]

    module = my_policy_pkg.Linear3(SPEC.size)
    write_checkpoint(tmp_path / "ck", module="my_policy_pkg:Linear3", module_kwargs={"n_in": 29})
    torch.save(module.state_dict(), tmp_path / "ck" / "policy.pt")
    policy = load_policy(tmp_path / "ck")
    assert policy.scores(np.zeros(29, dtype=np.float32)).sum() == pytest.approx(1.0)


def test_missing_checkpoint_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; pass a directory written by"):
        read_metadata(tmp_path / "nope")
    (tmp_path / "file.pt").write_bytes(b"x")
    with pytest.raises(ConfigError, match="is a file"):
        read_metadata(tmp_path / "file.pt")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "metadata.json").unlink(), "has no metadata.json"),
        (lambda d: (d / "metadata.json").write_text("{not json"), "is not valid JSON"),
        (lambda d: (d / "metadata.json").write_text("[1]"), "must hold a JSON object"),
        (lambda d: edit_metadata(d, format=99), "has format 99"),
        (lambda d: edit_metadata(d, kind="onnx"), "kind 'onnx'"),
        (lambda d: edit_metadata(d, actions=["BUY", "HOLD", "SELL"]), "action map"),
        (
            lambda d: edit_metadata(d, normalisation={"mean": [0.0], "std": [1.0]}),
            "normalisation has 1",
        ),
        (lambda d: edit_metadata(d, feature_spec={"window": 1}), "window=1"),
        (lambda d: edit_metadata(d, trading={"trade_size": "x", "max_position": 1}), "bad value"),
        (lambda d: (d / "policy.pt").unlink(), "weights file policy.pt is missing"),
        (lambda d: (d / "policy.pt").write_bytes(b"garbage"), "weights do not load"),
        (lambda d: edit_metadata(d, module="nowhere_pkg:Net"), "cannot import policy module"),
        (lambda d: edit_metadata(d, module="parity.models.nets:Nope"), "has no class Nope"),
        (lambda d: edit_metadata(d, module="parity.models.nets"), 'needs "module"'),
        (
            lambda d: edit_metadata(d, module_kwargs={"obs_dim": 29, "hidden": [8]}),
            "weights do not load",
        ),
        (lambda d: edit_metadata(d, module_kwargs={"bogus": 1}), "failed"),
    ],
)
def test_bad_checkpoints_are_refused_with_one_line(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    write_checkpoint(tmp_path / "ck")
    damage(tmp_path / "ck")
    with pytest.raises(StrategyError, match=message) as info:
        load_policy(tmp_path / "ck")
    assert "\n" not in str(info.value)


def test_policy_with_the_wrong_input_or_output_size_is_refused(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "in", module_kwargs={"obs_dim": 10})
    torch.save(MlpActor(10).state_dict(), tmp_path / "in" / "policy.pt")
    with pytest.raises(StrategyError, match="does not accept a state of 29 features"):
        load_policy(tmp_path / "in")
    write_checkpoint(tmp_path / "out", module_kwargs={"obs_dim": 29, "n_actions": 2})
    torch.save(MlpActor(29, 2).state_dict(), tmp_path / "out" / "policy.pt")
    with pytest.raises(StrategyError, match="expected 3 action scores"):
        load_policy(tmp_path / "out")


def test_strategy_modules_do_not_import_torch() -> None:
    code = (
        "import sys, parity.cli, parity.strategies.registry, parity.strategies.policy, "
        "parity.models.features, parity.models.masking, parity.models.checkpoint\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'stable_baselines3' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
