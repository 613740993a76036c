"""`parity halt RUN`, `parity risk show RUN`, `parity risk reset RUN`, and the risk-limit flags
shared by `run backtest` and `run paper`.

A run is found by id, unique id prefix, `latest` or path, also while it is still running (a
paper run has a directory with `risk_state.json` but no manifest until it ends).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from parity.cli._base import ParityGroup, cli, json_option, runs_dir_option

_FLAGS: tuple[tuple[str, str], ...] = (
    ("max-position-shares", "Most shares held per symbol, e.g. 100."),
    ("max-position-notional", "Most notional held per symbol, e.g. 25000."),
    ("max-gross-exposure", "Gross exposure cap: 150% of equity, 200000, or both (150%,200000)."),
    ("max-open-positions", "Most symbols held at once, e.g. 5."),
    ("max-orders-per-day", "Most orders sent per trading day (exits always pass), e.g. 20."),
    ("daily-loss-limit", "No new entries for the day after losing 2% or 5000 (or 2%,5000)."),
    ("max-drawdown", "Kill switch: halt new entries at 15% below peak equity."),
    (
        "trading-hours",
        "Entries only in this window of bar times (exchange time), e.g. 09:35-15:55.",
    ),
)


def risk_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The risk-limit flags (values are parsed by `limits_from_flags`)."""
    func = click.option(
        "--flatten-on-kill", is_flag=True, help="Close positions when the kill switch trips."
    )(func)
    for name, text in reversed(_FLAGS):
        func = click.option(f"--{name}", default=None, metavar="LIMIT", help=text)(func)
    return func


def limits_from_flags(values: Mapping[str, Any], base: Any = None) -> Any:
    """`RiskLimits` from the flags given (over `base`, a run file's limits); None if none."""
    from parity.risk.limits import RiskLimits
    from parity.risk.parse import OPTIONS

    given = {k: values[k] for k in OPTIONS if values.get(k) not in (None, False)}
    if not given:
        return base
    limits: RiskLimits = base or RiskLimits()
    return limits.merged(given)


def find_run_dir(ref: str, runs_dir: Path) -> Path:
    """A run's directory by path, id, unique prefix or `latest` (running runs included)."""
    from parity.runstore import resolve_run_dir

    return resolve_run_dir(ref, runs_dir)


def _describe(state: Any) -> str:
    switch = f"ON ({state.kill_reason}, at {state.killed_at})" if state.killed else "off"
    lines = [
        f"kill switch   {switch}",
        f"day           {state.day or '-'}: {state.orders_today} order(s), start equity "
        + (f"{state.day_start_equity:,.2f}" if state.day_start_equity is not None else "-"),
        f"daily halt    {state.day_halt_reason or 'off'}",
        "peak equity   "
        + (f"{state.peak_equity:,.2f}" if state.peak_equity is not None else "-")
        + ", last "
        + (f"{state.last_equity:,.2f}" if state.last_equity is not None else "-"),
    ]
    return "\n".join(lines)


def _limits_of(run_dir: Path) -> Any:
    from parity.manifest import Manifest

    try:
        raw = json.loads((run_dir / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return Manifest.from_dict(raw, run_id=run_dir.name).risk if isinstance(raw, dict) else None


@cli.command("halt")
@click.argument("run_ref", metavar="RUN")
@click.option("--reason", default="operator", help="Why (recorded in the risk state).")
@runs_dir_option
def halt_cmd(run_ref: str, reason: str, runs_dir: Path) -> None:
    """Trip RUN's kill switch: no new entries (a running paper run sees it on its next bar)."""
    from parity.risk.state import JsonRiskStateStore

    run_dir = find_run_dir(run_ref, runs_dir)
    store = JsonRiskStateStore.in_run(run_dir)
    state = store.load()
    if state.killed:
        click.echo(f"run {run_dir.name} is already halted: {state.kill_reason}")
        return
    state.halt(
        f"halted by `parity halt`: {reason}", dt.datetime.now().isoformat(timespec="seconds")
    )
    store.save(state)
    click.echo(f"run {run_dir.name} halted: no new entries until `parity risk reset`")


@cli.group(cls=ParityGroup)
def risk() -> None:
    """Inspect and reset a run's risk state (kill switch, daily counters)."""


@risk.command("show")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
@json_option
def risk_show(run_ref: str, runs_dir: Path, as_json: bool) -> None:
    """Show RUN's risk limits and risk state."""
    from parity.risk.state import JsonRiskStateStore

    run_dir = find_run_dir(run_ref, runs_dir)
    state = JsonRiskStateStore.in_run(run_dir).load()
    limits = _limits_of(run_dir)
    if as_json:
        click.echo(json.dumps({"run_dir": str(run_dir), "limits": limits, **state.to_dict()}))
        return
    click.echo(f"run           {run_dir.name}")
    click.echo(f"limits        {json.dumps(limits) if limits else '-'}")
    click.echo(_describe(state))


@risk.command("reset")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
def risk_reset(run_ref: str, runs_dir: Path) -> None:
    """Clear RUN's kill switch and daily halt; drawdown is measured again from the last equity."""
    from parity.risk.state import JsonRiskStateStore

    run_dir = find_run_dir(run_ref, runs_dir)
    store = JsonRiskStateStore.in_run(run_dir)
    state = store.load()
    click.echo(f"before\n{_describe(state)}")
    state.reset()
    store.save(state)
    click.echo(f"after\n{_describe(state)}")
