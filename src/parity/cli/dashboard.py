"""`parity dashboard`: the local web dashboard over a runs directory."""

from __future__ import annotations

from pathlib import Path

import click

from parity.cli._base import cli, runs_dir_option, say


@cli.command("dashboard")
@runs_dir_option
@click.option("--host", default="127.0.0.1", help="Address to listen on (keep it local).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8050,
    envvar="PARITY_DASHBOARD_PORT",
    show_envvar=True,
    help="Port to listen on; 0 picks a free one.",
)
def dashboard_cmd(runs_dir: Path, host: str, port: int) -> None:
    """Serve a local web dashboard of the runs in --runs-dir: equity with its backtest twin,
    drawdown, positions, orders, fills, alerts, divergence and risk, refreshing while a run is
    live. Works offline; Ctrl+C stops it."""
    from parity.dashboard.hosts import is_loopback
    from parity.runners.dashboard import dashboard_server

    server = dashboard_server(runs_dir, host=host, port=port)
    server.start()
    if not is_loopback(host):
        say(
            f"warning: THE DASHBOARD IS OPEN BEYOND THIS MACHINE: it listens on {host}, so "
            f"anyone who can reach port {server.port} reads every run in {runs_dir} (no login, "
            "no TLS); use --host 127.0.0.1 unless that is what you want"
        )
    click.echo(f"dashboard: {server.url} (runs in {runs_dir}; Ctrl+C to stop)")
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
