"""Strategy registry: bundled names plus user strategies loaded from `path/to/file.py:ClassName`."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import backtrader as bt

from parity.errors import StrategyError
from parity.strategies.buy_and_hold import BuyAndHold
from parity.strategies.covered_call import CoveredCall
from parity.strategies.iron_condor import IronCondor
from parity.strategies.plan import PlanStrategy
from parity.strategies.policy import PolicyStrategy
from parity.strategies.protective_put import ProtectivePut
from parity.strategies.put_credit_spread import (
    PutCreditSpread,
)  # torch is imported only when a policy loads
from parity.strategies.rsi_reversion import RsiReversion
from parity.strategies.sma_cross import SmaCross

BUNDLED: dict[str, type[bt.Strategy]] = {
    "sma_cross": SmaCross,
    "rsi_reversion": RsiReversion,
    "buy_and_hold": BuyAndHold,
    "policy": PolicyStrategy,
    "put_credit_spread": PutCreditSpread,
    "iron_condor": IronCondor,
    "covered_call": CoveredCall,
    "protective_put": ProtectivePut,
    "plan": PlanStrategy,
}


@dataclass(frozen=True)
class StrategySpec:
    """A resolved strategy: the name the user gave, the class, and a hash of its source file."""

    name: str
    cls: type[bt.Strategy]
    source_path: str
    source_sha256: str


def _file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _load_from_file(path_text: str, class_name: str) -> type[bt.Strategy]:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise StrategyError(f"strategy file {path} does not exist; check the path in FILE.py:Class")
    module_name = f"parity_user_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise StrategyError(f"strategy file {path} cannot be imported; is it a .py file?")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code may raise anything while importing
        del sys.modules[module_name]
        raise StrategyError(
            f"strategy file {path} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    found = getattr(module, class_name, None)
    if found is None:
        classes = [n for n, o in vars(module).items() if _is_strategy(o)]
        raise StrategyError(
            f"{path} has no class {class_name}; strategies in it: {', '.join(classes) or 'none'}"
        )
    return found


def _is_strategy(obj: object) -> bool:
    return inspect.isclass(obj) and issubclass(obj, bt.Strategy) and obj is not bt.Strategy


def resolve_strategy(name: str) -> StrategySpec:
    """Resolve a bundled name, `file.py:Class` or `package.module:Class` to a strategy class."""
    if name in BUNDLED:
        cls = BUNDLED[name]
    elif ":" in name:
        target, _, class_name = name.rpartition(":")
        if target.endswith(".py") or "/" in target or "\\" in target:
            cls = _load_from_file(target, class_name)
        else:
            try:
                module = importlib.import_module(target)
            except ImportError as exc:
                raise StrategyError(f"cannot import module {target!r}: {exc}") from None
            found = getattr(module, class_name, None)
            if found is None:
                raise StrategyError(f"module {target} has no class {class_name}")
            cls = found
    else:
        raise StrategyError(
            f"unknown strategy {name!r}; bundled: {', '.join(BUNDLED)}, "
            "or give path/to/file.py:ClassName"
        )
    if not _is_strategy(cls):
        raise StrategyError(f"{name} is not a backtrader.Strategy subclass")
    source = inspect.getsourcefile(cls) or ""
    return StrategySpec(name=name, cls=cls, source_path=source, source_sha256=_file_sha256(source))
