import backtrader as bt
import pytest

from parity.errors import ConfigError, StrategyError
from parity.strategies.params import coerce_params, parse_param_pairs
from parity.strategies.registry import BUNDLED, resolve_strategy
from parity.strategies.sma_cross import SmaCross


def test_coerce_types():
    out = coerce_params(SmaCross, {"fast": "5", "slow": "20", "size": "0.5", "sizing": "target"})
    assert out == {"fast": 5, "slow": 20, "size": 0.5, "sizing": "target"}
    assert isinstance(out["size"], float)


def test_unknown_param_lists_valid_ones():
    with pytest.raises(ConfigError) as info:
        coerce_params(SmaCross, {"fsat": "5"})
    message = str(info.value)
    assert "fsat" in message and "fast" in message and "slow" in message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"fast": "ten"}, "not a valid int"),
        ({"fast": "30", "slow": "10"}, "must be shorter"),
        ({"size": "-1"}, "positive"),
        ({"sizing": "kelly"}, "not one of"),
        ({"sizing": "percent", "size": "2"}, "at most 1.0"),
        ({"sizing": "fixed", "size": "2.5"}, "whole number"),
    ],
)
def test_invalid_params(raw, fragment):
    with pytest.raises(ConfigError, match=fragment):
        coerce_params(SmaCross, raw)


def test_parse_param_pairs():
    assert parse_param_pairs(["fast=5", " slow = 20 "]) == {"fast": "5", "slow": "20"}
    with pytest.raises(ConfigError, match="name=value"):
        parse_param_pairs(["fast"])


def test_plain_backtrader_strategy_params_by_default_type():
    class Plain(bt.Strategy):
        params = (("period", 10), ("ratio", 0.5), ("flag", False), ("label", "x"))

    assert coerce_params(Plain, {"period": "3", "ratio": "1", "flag": "yes", "label": "y"}) == {
        "period": 3,
        "ratio": 1.0,
        "flag": True,
        "label": "y",
    }
    with pytest.raises(ConfigError, match="valid: flag, label, period, ratio"):
        coerce_params(Plain, {"nope": "1"})


def test_registry_bundled_and_unknown():
    assert set(BUNDLED) == {
        "sma_cross", "rsi_reversion", "buy_and_hold", "policy", "put_credit_spread", "iron_condor",
        "covered_call", "protective_put", "plan",
    }  # fmt: skip
    assert resolve_strategy("sma_cross").cls is SmaCross
    with pytest.raises(StrategyError, match="bundled: sma_cross"):
        resolve_strategy("smacross")


def test_user_strategy_from_file(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(
        "import backtrader as bt\n"
        "class Mine(bt.Strategy):\n"
        "    params = (('n', 3),)\n"
        "    def next(self):\n"
        "        pass\n"
    )
    spec = resolve_strategy(f"{path}:Mine")
    assert spec.cls.__name__ == "Mine"
    assert len(spec.source_sha256) == 64
    with pytest.raises(StrategyError, match="no class Other; strategies in it: Mine"):
        resolve_strategy(f"{path}:Other")
    with pytest.raises(StrategyError, match="does not exist"):
        resolve_strategy(f"{tmp_path / 'missing.py'}:Mine")


def test_user_strategy_import_error_is_clear(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import not_a_module_anywhere\n")
    with pytest.raises(StrategyError, match="failed to import: ModuleNotFoundError"):
        resolve_strategy(f"{path}:X")


def test_not_a_strategy(tmp_path):
    path = tmp_path / "thing.py"
    path.write_text("class Thing:\n    pass\n")
    with pytest.raises(StrategyError, match=r"not a backtrader\.Strategy"):
        resolve_strategy(f"{path}:Thing")


def test_optional_params_accept_none_as_recorded_in_a_manifest():
    from dataclasses import dataclass

    from parity.strategies.params import bt_params

    @dataclass(frozen=True, kw_only=True)
    class P:
        size: int | None = None

    class WithOptional(bt.Strategy):
        Params = P
        params = bt_params(P)

    assert coerce_params(WithOptional, {"size": None}) == {"size": None}
    assert coerce_params(WithOptional, {"size": "7"}) == {"size": 7}
