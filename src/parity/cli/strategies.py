"""`parity strategies`."""

from __future__ import annotations

from typing import Any

import click

from parity.cli._base import cli


def _type_name(kind: Any) -> str:
    import typing

    if typing.get_origin(kind) is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(kind))
    return getattr(kind, "__name__", str(kind))


@cli.command("strategies")
def strategies_cmd() -> None:
    """List the bundled strategies and their parameters with defaults."""
    import dataclasses

    from parity.strategies.params import param_types
    from parity.strategies.registry import BUNDLED

    for name, cls in BUNDLED.items():
        defaults = {f.name: f.default for f in dataclasses.fields(cls.Params)}
        types = param_types(cls)
        params = ", ".join(f"{k}={defaults[k]} ({_type_name(types[k])})" for k in defaults)
        click.echo(f"{name:<14} {(cls.__doc__ or '').strip().splitlines()[0]}")
        click.echo(f"{'':<14} {params}")
    click.echo("user strategies: path/to/file.py:ClassName (a backtrader.Strategy subclass)")
