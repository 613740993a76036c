"""`parity train ppo`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from parity.cli._base import ParityGroup, cash_option, cli, cost_options, json_option, say


@cli.group(cls=ParityGroup)
def train() -> None:
    """Train a policy for the `policy` strategy: `ppo` (stable-baselines3, CPU)."""


@train.command("ppo")
@click.option("--data", default="sample", help="Data source, as for `parity run backtest`.")
@click.option("--symbols", default=None, help="One symbol [default: IBM for sample].")
@click.option("--from", "start", default=None, help="First date, YYYY-MM-DD (inclusive).")
@click.option("--to", "end", default=None, help="Last date, YYYY-MM-DD (inclusive).")
@click.option("--timesteps", type=click.IntRange(min=1), default=100_000, help="PPO timesteps.")
@click.option("--seed", type=int, default=0, help="Seed; the same seed gives the same weights.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Checkpoint directory [default: ./models/ppo-SYMBOL-wWINDOW-sSEED].",
)
@click.option("--window", type=int, default=20, help="Bars of price differences in the state.")
@click.option(
    "--features",
    default="returns,volume,rsi,macd,bollinger,atr,trend",
    help="Feature groups in the state.",
)
@click.option("--trade-size", type=int, default=10, help="Shares per BUY/SELL.")
@click.option("--max-position", type=int, default=40, help="Position cap in shares.")
@cash_option
@cost_options
@click.option(
    "--reward",
    type=click.Choice(["pnl", "risk_adjusted"]),
    default="pnl",
    help="Equity change, or equity change minus a volatility penalty.",
)
@click.option("--validation", type=float, default=0.2, help="Held-out tail fraction.")
@click.option("--force", is_flag=True, help="Overwrite an existing checkpoint directory.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr [default: when stderr is a terminal].",
)
@json_option
def train_ppo_cmd(**values: Any) -> None:
    """Train a PPO agent on one symbol and write a checkpoint for `run backtest policy`."""
    from parity.config import parse_date, parse_symbols
    from parity.costs import cost_model
    from parity.models.env import TradingSetup
    from parity.models.features import FeatureSpec
    from parity.models.train import TrainConfig, train_ppo

    spec = FeatureSpec.from_dict({"window": values["window"], "features": values["features"]})
    setup = TradingSetup(
        costs=cost_model(values["commission"], values["slippage"]),
        cash=values["cash"],
        trade_size=values["trade_size"],
        max_position=values["max_position"],
        reward=values["reward"],
    )
    config = TrainConfig(
        data=values["data"],
        symbols=parse_symbols(values["symbols"]),
        start=parse_date(values["start"], "--from"),
        end=parse_date(values["end"], "--to"),
        timesteps=values["timesteps"],
        seed=values["seed"],
        out=values["out"],
        spec=spec,
        setup=setup,
        validation=values["validation"],
        force=values["force"],
    )
    enabled = sys.stderr.isatty() if values["progress"] is None else values["progress"]
    bar: Any = None
    if enabled:
        bar = click.progressbar(length=config.timesteps, label="train ppo", file=sys.stderr)
        bar.__enter__()
    done = [0]

    def update(steps: int) -> None:
        bar.update(min(steps, config.timesteps) - done[0])
        done[0] = min(steps, config.timesteps)

    try:
        result = train_ppo(config, progress=update if bar is not None else None)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for warning in result.warnings:
        say(f"warning: {warning}")
    if values["as_json"]:
        payload = {
            "checkpoint": str(result.checkpoint),
            "seconds": result.seconds,
            "validation": result.metadata["validation"],
        }
        click.echo(json.dumps(payload))
        return
    held_out = result.metadata["validation"].get("held_out") or {}
    click.echo(f"checkpoint {result.checkpoint} written in {result.seconds:.1f}s")
    if held_out:
        click.echo(
            f"held-out {held_out['first'][:10]}..{held_out['last'][:10]}: "
            f"return {held_out['total_return']:.2%} (buy-and-hold "
            f"{held_out['buy_and_hold_return']:.2%}), trades {held_out['trades']}"
        )
    click.echo(f"backtest it: parity run backtest policy --param checkpoint={result.checkpoint}")
