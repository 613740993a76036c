"""PPO training end to end: one seeded training per module, then the same state vectors and the
same decisions in the training environment and in the Backtrader strategy, backtests through
`run_backtest` and the CLI (preload on and off), determinism, and refusal of bad checkpoints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner, Result

from parity.cli import cli
from parity.config import BacktestConfig
from parity.errors import StrategyError
from parity.feeds.loader import load_bars
from parity.journal import Journal, run_journal_target
from parity.models.env import TradingEnv, TradingSetup
from parity.models.features import FeatureSpec
from parity.models.policy import TorchPolicy, load_policy
from parity.models.train import TrainConfig, train_ppo
from parity.runners.backtest import build_cerebro, run_backtest
from parity.strategies.params import coerce_params
from parity.strategies.policy import PolicyStrategy
from parity.strategies.registry import StrategySpec

START, END = dt.date(2011, 1, 1), dt.date(2012, 12, 31)  # ~500 daily IBM bars
WINDOW = {"symbols": ("IBM",), "start": START, "end": END}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ppo") / "ibm"
    train_ppo(TrainConfig(**WINDOW, timesteps=4096, seed=11, out=out))  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def policy(checkpoint: Path) -> TorchPolicy:
    return load_policy(checkpoint)


class RecordingPolicy(PolicyStrategy):
    """The bundled strategy, recording every decision through its hook."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[Any, ...]] = []

    def on_decision(self, data, features, observation, chosen, action) -> None:  # type: ignore[no-untyped-def]
        day = bt.num2date(data.datetime[0]).date()
        self.records.append((day, features.copy(), observation.copy(), chosen, action))


def strategy_records(checkpoint: Path, tmp_path: Path, preload: bool) -> list[tuple[Any, ...]]:
    config = BacktestConfig(
        strategy="policy", data="sample", **WINDOW, preload=preload, runs_dir=tmp_path
    )
    spec = StrategySpec("policy", RecordingPolicy, "", "")
    params = coerce_params(RecordingPolicy, {"checkpoint": str(checkpoint)})
    loaded = load_bars("sample", ["IBM"], start=START, end=END)
    cerebro = build_cerebro(config, spec, params, loaded, {"id_prefix": "test"})
    return cerebro.run()[0].records  # type: ignore[no-any-return]


def env_records(policy: TorchPolicy) -> tuple[list[tuple[Any, ...]], TradingEnv]:
    meta = policy.metadata
    frame = load_bars("sample", ["IBM"], start=START, end=END).series[0].frame
    setup = TradingSetup(
        costs=meta.costs, trade_size=meta.trade_size, max_position=meta.max_position
    )
    env = TradingEnv(frame, spec=meta.feature_spec, setup=setup, normaliser=meta.normaliser)
    obs, _ = env.reset()
    records, done = [], False
    while True:
        day = env.index[env.t].date()
        chosen = policy.act(obs)
        features = env.raw_features()
        if done:  # the last bar: the strategy still decides, the order never fills
            records.append((day, features, obs, chosen, None))
            return records, env
        obs_next, _, done, _, info = env.step(chosen)
        records.append((day, features, obs, chosen, info["executed"]))
        obs = obs_next


@pytest.mark.parametrize("preload", [True, False])
def test_state_vectors_and_decisions_match_the_environment_bar_for_bar(
    checkpoint: Path, policy: TorchPolicy, tmp_path: Path, preload: bool
) -> None:
    env_side, env = env_records(policy)
    strategy_side = strategy_records(checkpoint, tmp_path, preload)
    assert len(strategy_side) == len(env_side) == len(env.features) > 400
    for ours, theirs in zip(strategy_side, env_side, strict=True):
        assert ours[0] == theirs[0]  # the same decision bar
        assert ours[1].shape == (29,) and np.array_equal(ours[1], theirs[1]), ours[0]
        assert ours[2].dtype == np.float32 and np.array_equal(ours[2], theirs[2]), ours[0]
        assert ours[3] == theirs[3]  # the same policy choice
        if theirs[4] is not None:
            assert ours[4] == theirs[4]  # the same masked action
    executed = [r[4] for r in strategy_side]
    assert executed.count(1) > 0 and executed.count(2) > 0, "the policy never traded"


def test_backtest_equity_matches_the_environment(
    checkpoint: Path, policy: TorchPolicy, tmp_path: Path
) -> None:
    _, env = env_records(policy)
    result = run_backtest(
        BacktestConfig(
            strategy="policy", params={"checkpoint": str(checkpoint)}, **WINDOW, runs_dir=tmp_path
        )
    )
    equity = pd.read_csv(result.run_dir / "equity.csv")
    assert equity["value"].iloc[-1] == pytest.approx(env.equity, rel=1e-12)
    assert result.metrics["trades"] > 0


def test_each_policy_order_journals_its_action_probabilities(
    checkpoint: Path, policy: TorchPolicy, tmp_path: Path
) -> None:
    result = run_backtest(
        BacktestConfig(
            strategy="policy", params={"checkpoint": str(checkpoint)}, **WINDOW, runs_dir=tmp_path
        )
    )
    journal = Journal.open(run_journal_target(result.run_dir), create=False)
    try:
        decisions = journal.reader.decisions(result.run_id)
    finally:
        journal.close()
    orders = pd.read_csv(result.run_dir / "orders.csv")
    assert len(decisions) == len(orders) > 0
    assert set(decisions["action"]) <= {"policy buy", "policy sell"}
    for payload in decisions["payload"]:
        assert sum(payload["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert payload["chosen"] == ("hold", "buy", "sell")[int(np.argmax(payload["scores"]))]
    assert sorted(p["client_order_id"] for p in decisions["payload"]) == sorted(
        orders["client_order_id"]
    )
    trades = pd.read_csv(result.run_dir / "trades.csv")
    assert set(trades["entry_reason"]) == {"policy buy"}
    assert "ambiguous_exits" not in result.metrics  # no take-profit/stop-loss exits to count


def test_run_backtest_is_identical_with_preload_on_and_off(
    checkpoint: Path, tmp_path: Path
) -> None:
    results = [
        run_backtest(
            BacktestConfig(
                strategy="policy",
                params={"checkpoint": str(checkpoint)},
                **WINDOW,
                preload=preload,
                runs_dir=tmp_path / str(preload),
            )
        )
        for preload in (True, False)
    ]
    for name in ("equity.csv", "returns.csv", "trades.csv", "metrics.json"):
        assert (results[0].run_dir / name).read_bytes() == (results[1].run_dir / name).read_bytes()
    manifest = json.loads((results[0].run_dir / "manifest.json").read_text())
    assert manifest["strategy"]["name"] == "policy"
    assert manifest["params"]["checkpoint"] == str(checkpoint)


def test_metadata_describes_the_training(checkpoint: Path) -> None:
    meta = json.loads((checkpoint / "metadata.json").read_text())
    series = load_bars("sample", ["IBM"], start=START, end=END).series[0]
    training = meta["training"]
    assert training["data"]["sha256"] == series.sha256()
    assert (training["seed"], training["timesteps"], training["device"]) == (11, 4096, "cpu")
    assert meta["feature_spec"] == FeatureSpec().to_dict()
    assert len(meta["normalisation"]["mean"]) == len(meta["feature_names"]) == 29
    assert meta["actions"] == ["HOLD", "BUY", "SELL"]
    held_out = meta["validation"]["held_out"]
    assert held_out["first"] > training["data"]["train"]["last"]
    assert {"total_return", "sharpe", "max_drawdown", "trades"} <= set(held_out)
    assert (checkpoint / "ppo_sb3.zip").is_file()


def test_exported_actor_decides_like_the_sb3_model(checkpoint: Path, policy: TorchPolicy) -> None:
    from stable_baselines3 import PPO

    model = PPO.load(checkpoint / "ppo_sb3.zip", device="cpu")
    rng = np.random.default_rng(5)
    observations = rng.normal(size=(200, 29)).astype(np.float32)
    actions, _ = model.predict(observations, deterministic=True)
    assert [policy.act(o) for o in observations] == actions.tolist()


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path / "policy.pt", weights_only=True)  # type: ignore[no-any-return]


def test_training_is_deterministic_given_the_seed(tmp_path: Path) -> None:
    def train(seed: int, name: str) -> dict[str, torch.Tensor]:
        config = TrainConfig(**WINDOW, timesteps=512, seed=seed, out=tmp_path / name)  # type: ignore[arg-type]
        train_ppo(config)
        return weights(tmp_path / name)

    a, b, c = train(3, "a"), train(3, "b"), train(4, "c")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert (tmp_path / "a" / "policy.pt").read_bytes() == (
        tmp_path / "b" / "policy.pt"
    ).read_bytes()


def test_existing_checkpoint_is_not_overwritten_without_force(checkpoint: Path) -> None:
    with pytest.raises(Exception, match="already exists; pass --force"):
        train_ppo(TrainConfig(**WINDOW, timesteps=64, out=checkpoint))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": "30"}, "trained with window=20 but the strategy is configured with window=30"),
        ({"features": "returns,rsi"}, "trained with features=returns,volume,rsi,macd"),
    ],
)
def test_mismatching_feature_spec_is_refused(
    checkpoint: Path, tmp_path: Path, params: dict[str, str], message: str
) -> None:
    config = BacktestConfig(
        strategy="policy",
        params={"checkpoint": str(checkpoint), **params},
        **WINDOW,
        runs_dir=tmp_path,
    )
    with pytest.raises(StrategyError, match=message):
        run_backtest(config)


def test_feature_spec_file_must_match(checkpoint: Path, tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(dataclasses.replace(FeatureSpec(), rsi_period=10).to_json())
    config = BacktestConfig(
        strategy="policy",
        params={"checkpoint": str(checkpoint), "feature_spec": str(spec_file)},
        **WINDOW,
        runs_dir=tmp_path,
    )
    with pytest.raises(StrategyError, match=r"rsi_period: 14 != 10"):
        run_backtest(config)
    spec_file.write_text(FeatureSpec().to_json())
    assert run_backtest(config).metrics["trades"] > 0


# ------------------------------------------------------------------------------------ the CLI


def parity(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="parity")


def error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    return errors[0]


def test_cli_trains_and_backtests_the_policy(tmp_path: Path) -> None:
    out = tmp_path / "cli-ckpt"
    trained = parity(
        "train",
        "ppo",
        "--data",
        "sample",
        "--symbols",
        "IBM",
        "--from",
        "2011-01-01",
        "--to",
        "2012-12-31",
        "--timesteps",
        "512",
        "--seed",
        "2",
        "--out",
        out,
        "--trade-size",
        "5",
        "--max-position",
        "20",
        "--commission",
        "0.005/share",
        "--json",
    )
    assert trained.exit_code == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["checkpoint"] == str(out) and "held_out" in summary["validation"]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["trading"]["trade_size"] == 5 and meta["trading"]["max_position"] == 20
    assert meta["trading"]["costs"]["commission_per_share"] == 0.005
    runs = []
    for extra in ((), ("--no-preload",)):
        result = parity(
            "run",
            "backtest",
            "policy",
            "--param",
            f"checkpoint={out}",
            "--from",
            "2011-01-01",
            "--to",
            "2012-12-31",
            "--runs-dir",
            tmp_path / "runs",
            "--json",
            *extra,
        )
        assert result.exit_code == 0, result.stderr
        runs.append(json.loads(result.stdout))
    assert runs[0]["metrics"] == runs[1]["metrics"]
    equity = [(Path(r["run_dir"]) / "equity.csv").read_bytes() for r in runs]
    assert equity[0] == equity[1]


def test_cli_refuses_mismatch_and_bad_checkpoints(checkpoint: Path, tmp_path: Path) -> None:
    base = (
        "run",
        "backtest",
        "policy",
        "--from",
        "2012-01-01",
        "--to",
        "2012-12-31",
        "--runs-dir",
        tmp_path / "runs",
    )
    line = error_line(
        parity(*base, "--param", f"checkpoint={checkpoint}", "--param", "window=30"), 4
    )
    assert "window=20" in line and "retrain with --window 30" in line
    line = error_line(parity(*base, "--param", f"checkpoint={tmp_path / 'missing'}"), 2)
    assert "does not exist" in line
    line = error_line(parity(*base), 2)
    assert "needs --param checkpoint=PATH" in line
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "metadata.json").write_text('{"format": 1, "kind": ')
    line = error_line(parity(*base, "--param", f"checkpoint={corrupt}"), 4)
    assert "metadata.json is not valid JSON" in line
    line = error_line(parity("train", "ppo", "--symbols", "IBM,MSFT", "--out", tmp_path / "x"), 2)
    assert "one symbol at a time" in line


def test_the_policy_runs_unchanged_as_a_paper_rehearsal(checkpoint: Path, tmp_path: Path) -> None:
    """The same policy and checkpoint as a backtest and as a lock-step paper run on the local
    venue (same minute bars, no costs): the same trades."""
    import datetime as dt

    import pandas as pd

    from parity.config import BacktestConfig
    from parity.runners.backtest import run_backtest
    from parity.runners.paper import PaperConfig, run_paper

    day = dt.date(2013, 10, 9)
    # a daily checkpoint on minute bars: only the equivalence is the point here
    params = {"checkpoint": str(checkpoint), "any_timeframe": "true"}
    backtest = run_backtest(
        BacktestConfig(
            strategy="policy",
            params=params,
            data="sample:minute",
            symbols=("IBM",),
            start=day,
            end=day,
            commission="0",
            slippage="0",
            runs_dir=tmp_path / "bt",
        )
    )
    paper = run_paper(
        PaperConfig(
            slippage="0",
            strategy="policy",
            params=params,
            symbols=("IBM",),
            venue="local",
            data="sample:minute",
            start=day,
            end=day,
            cash=100_000.0,
            runs_dir=tmp_path / "paper",
        )
    )
    expected = pd.read_csv(backtest.run_dir / "trades.csv")
    got = pd.read_csv(paper.run_dir / "trades.csv")
    assert len(expected) > 0
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
