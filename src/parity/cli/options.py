"""`parity options chain` and the options flags of `parity run backtest` (the desk's
assumptions: chain model, costs, rules; `--iv-mult 0.9,1.0,1.1` runs once per value)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import click

from parity.cli._base import ParityGroup, cli

_MODEL_FLAGS = {  # flag -> ModelChainParams field
    "skew": "skew",
    "vol_model": "vol_model",
    "rate": "rate",
    "dividend_yield": "dividend_yield",
    "half_spread": "half_spread",
    "tick": "tick",
    "expiries": "expiries",
    "strike_step": "strike_step",
    "max_dte": "max_dte",
    "american_pricing": "american_pricing",
}


def option_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options desk's flags (a strategy that trades options has a desk without them)."""
    flags = [
        click.option(
            "--option-commission",
            default=None,
            help="Per contract, e.g. 0.65/contract [default: 0.65/contract].",
        ),
        click.option(
            "--option-slippage",
            default=None,
            help="Against you, a fraction of premium: 0.5% or 50bps [default: 0.5%].",
        ),
        click.option(
            "--option-fees/--no-option-fees",
            default=None,
            help="Regulatory fees per contract (ORF, OCC, TAF on sells).",
        ),
        click.option(
            "--option-quotes",
            default=None,
            type=click.Path(dir_okay=False),
            help="Recorded option quotes (CSV/parquet), used exactly instead of the model chain.",
        ),
        click.option(
            "--iv-mult",
            default=None,
            help="Implied/realised volatility multiplier; a comma list (0.9,1.0,1.1) runs once "
            "per value, side by side [default: 1.1].",
        ),
        click.option(
            "--skew",
            type=float,
            default=None,
            help="Volatility points per unit of ln(K/S) [default: -0.8].",
        ),
        click.option(
            "--vol-model",
            type=click.Choice(["ewma", "garch"]),
            default=None,
            help="Volatility of the underlying: EWMA(0.94) or GARCH(1,1) (arch).",
        ),
        click.option("--rate", type=float, default=None, help="Risk-free rate [default: 0.04]."),
        click.option(
            "--dividend-yield",
            type=float,
            default=None,
            help="Continuous dividend yield [default: 0].",
        ),
        click.option(
            "--half-spread",
            type=float,
            default=None,
            help="Half the bid/ask as a fraction of premium [default: 0.03].",
        ),
        click.option(
            "--tick",
            type=float,
            default=None,
            help="Tick the bid/ask round outward to [default: 0.01].",
        ),
        click.option(
            "--expiries",
            type=click.Choice(["daily", "weekly", "monthly"]),
            default=None,
            help="Listed expiries [default: the strategy's, else daily].",
        ),
        click.option(
            "--strike-step",
            type=float,
            default=None,
            help="Strike grid step [default: the strategy's, else 1].",
        ),
        click.option(
            "--max-dte",
            type=int,
            default=None,
            help="Furthest expiry listed, in days [default: 45].",
        ),
        click.option(
            "--american-pricing",
            type=click.Choice(["european", "baw"]),
            default=None,
            help="American contracts: European BSM, or QuantLib's Barone-Adesi-Whaley "
            "[default: european].",
        ),
        click.option(
            "--allow-naked-options",
            is_flag=True,
            default=False,
            help="Allow naked short calls (Reg-T-style margin) instead of refusing them.",
        ),
        click.option(
            "--early-assignment",
            is_flag=True,
            default=False,
            help="Assign deep in-the-money short American contracts near expiry early.",
        ),
    ]
    for flag in reversed(flags):
        func = flag(func)
    return func


def iv_mults(values: dict[str, Any]) -> list[float | None]:
    from parity.errors import ConfigError

    text = values.get("iv_mult")
    if not text:
        return [None]
    try:
        out = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--iv-mult {text!r} must be numbers, e.g. 1.1 or 0.9,1.0,1.1") from None
    if not out or any(x <= 0 for x in out):
        raise ConfigError(f"--iv-mult {text!r} must be positive numbers, e.g. 0.9,1.0,1.1")
    return out  # type: ignore[return-value]


def overrides_from_flags(values: dict[str, Any], iv_mult: float | None) -> dict[str, Any]:
    """The `OptionsSetup.for_strategy` overrides the flags give (empty: none given)."""
    from parity.options.costs import per_contract, premium_fraction

    model = {
        field: values[flag] for flag, field in _MODEL_FLAGS.items() if values.get(flag) is not None
    }
    if iv_mult is not None:
        model["iv_mult"] = iv_mult
    costs: dict[str, Any] = {}
    if values.get("option_commission") is not None:
        costs["commission_per_contract"] = per_contract(values["option_commission"])
    if values.get("option_slippage") is not None:
        costs["slippage"] = premium_fraction(values["option_slippage"])
    if values.get("option_fees") is not None:
        costs["regulatory_fees"] = values["option_fees"]
    out: dict[str, Any] = {}
    if model:
        out["model"] = model
    if costs:
        out["costs"] = costs
    if values.get("allow_naked_options"):
        out["rules"] = {"allow_naked_options": True}
    if values.get("early_assignment"):
        out["lifecycle"] = {"early_assignment": True}
    if values.get("option_quotes"):
        out["quotes"] = values["option_quotes"]
    return out


def sensitivity_table(results: list[tuple[float | None, Any]]) -> str:
    """Metrics of one run per --iv-mult value, side by side."""
    rows = [
        ("total_return", "total return", "{:.2%}"),
        ("sharpe", "sharpe", "{:.2f}"),
        ("max_drawdown", "max drawdown", "{:.2%}"),
        ("options.trades", "option trades", "{}"),
        ("options.win_rate", "win rate", "{:.1%}"),
        ("options.pnl", "option P&L", "{:,.2f}"),
        ("options.costs.total", "option costs", "{:,.2f}"),
    ]
    head = f"{'iv_mult':<16}" + "".join(
        f"{m if m is not None else 'default':>14}" for m, _ in results
    )
    lines = [head]
    for key, label, fmt in rows:
        cells = []
        for _, result in results:
            value: Any = result.metrics
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            cells.append(f"{fmt.format(value) if value is not None else '-':>14}")
        lines.append(f"{label:<16}" + "".join(cells))
    return "\n".join(lines)


@cli.group(cls=ParityGroup)
def options() -> None:
    """Option chains: see what a backtest's model chain quotes."""


@options.command("chain")
@click.option(
    "--data",
    default="sample",
    help="Bars of the underlying: a CSV/parquet file or folder, or sample.",
)
@click.option("--symbol", required=True, help="The underlying, e.g. SPY.")
@click.option("--date", "day", required=True, help="The session, YYYY-MM-DD: quotes at its close.")
@click.option(
    "--strategy",
    default=None,
    help="Start from this strategy's chain defaults (e.g. iron_condor: cash-settled, x50).",
)
@click.option("--right", type=click.Choice(["call", "put"]), default=None)
@click.option("--dte", default="0,7", help="Days to expiry MIN,MAX [default: 0,7].")
@click.option(
    "--around",
    type=float,
    default=0.05,
    help="Strikes within this fraction of the close [default: 0.05].",
)
@option_flags
def chain_cmd(
    strategy: str | None,
    symbol: str,
    data: str,
    day: str,
    right: str | None,
    dte: str,
    around: float,
    **values: Any,
) -> None:
    """Print the model chain a backtest would see at the close of --date."""
    from parity.config import parse_date
    from parity.errors import ConfigError
    from parity.options.chain import quotes_frame
    from parity.runners.options_chain import chain_at

    when = parse_date(day, "--date")
    try:
        lo, hi = (int(x) for x in dte.split(","))
    except ValueError:
        raise ConfigError(f"--dte {dte!r} must be MIN,MAX days, e.g. 0,7") from None
    mult = iv_mults(values)[0]
    desk_lines, quotes = chain_at(
        data,
        symbol,
        when,
        overrides_from_flags(values, mult),
        right=cast(Any, right),
        strategy=strategy,
        dte=(lo, hi),
        around=around,
    )
    for line in desk_lines:
        click.echo(line)
    frame = quotes_frame(quotes)
    if frame.empty:
        click.echo("no contracts (the volatility model is still warming up, or none match)")
        return
    shown = frame[
        [
            "symbol",
            "expiry",
            "right",
            "strike",
            "bid",
            "ask",
            "iv",
            "delta",
            "gamma",
            "theta",
            "vega",
        ]
    ]
    shown = shown.round(
        {"strike": 2, "bid": 2, "ask": 2, "iv": 4, "delta": 4, "gamma": 4, "theta": 4, "vega": 4}
    )
    click.echo(shown.to_string(index=False))
