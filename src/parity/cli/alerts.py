"""`parity alerts list RUN`, `parity alerts test`, and the alert flags of `run paper`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from parity.cli._base import ParityGroup, cli, json_option, runs_dir_option


def alert_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The alert flags (parsed by `alerts_from_flags`)."""
    options = [
        click.option(
            "--alert-url",
            "alert_urls",
            multiple=True,
            metavar="URL",
            help="Apprise URL for alerts, repeatable (also env PARITY_ALERT_URLS), e.g. "
            "json://host/hook, mailto://user:pass@smtp.example.com?to=me@example.com.",
        ),
        click.option(
            "--alerts",
            "alerts_file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="YAML alert settings: urls, daily_loss, drawdown, stale_bars, "
            "disconnect_grace, half_spread, spread_band, dedup, rate_limit, send_daily_report.",
        ),
        click.option(
            "--alert-daily-loss",
            default=None,
            metavar="PCT",
            help="Alert beyond this daily loss [5%].",
        ),
        click.option(
            "--alert-drawdown",
            default=None,
            metavar="PCT",
            help="Alert beyond this drawdown [15%].",
        ),
        click.option(
            "--alert-stale-bars",
            default=None,
            metavar="N",
            help="The feed is stale after N bar intervals without a bar [3].",
        ),
        click.option(
            "--alert-disconnect-grace",
            default=None,
            metavar="SECONDS",
            help="Alert when a stream stays disconnected longer than this [60].",
        ),
        click.option(
            "--alert-half-spread",
            default=None,
            metavar="PCT",
            help="The half spread the options backtest assumed, of the mid [3%].",
        ),
        click.option(
            "--alert-spread-band",
            default=None,
            metavar="PCT",
            help="Alert when an option fill's spread exceeds the assumed by more than this [50%].",
        ),
        click.option(
            "--send-daily-report",
            is_flag=True,
            default=None,
            help="Also send each session's daily report through the alert sinks.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def alerts_from_flags(values: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Any:
    """An `AlertConfig` from the alert flags, the `--alerts` file and `PARITY_ALERT_URLS`."""
    from parity.alerts.config import alert_config

    return alert_config(
        urls=values.get("alert_urls") or (),
        env=os.environ if env is None else env,
        file=values.get("alerts_file"),
        daily_loss=values.get("alert_daily_loss"),
        drawdown=values.get("alert_drawdown"),
        stale_bars=values.get("alert_stale_bars"),
        disconnect_grace=values.get("alert_disconnect_grace"),
        send_daily_report=values.get("send_daily_report"),
        half_spread=values.get("alert_half_spread"),
        spread_band=values.get("alert_spread_band"),
    )


@cli.group(cls=ParityGroup)
def alerts() -> None:
    """A run's alerts, and a test message through the alert sinks."""


@alerts.command("list")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
@json_option
def alerts_list(run_ref: str, runs_dir: Path, as_json: bool) -> None:
    """The alerts RUN raised (sent or held back), oldest first."""
    from parity.cli.risk import find_run_dir
    from parity.journal.database import run_journal_target
    from parity.journal.reader import JournalReader

    run_dir = find_run_dir(run_ref, runs_dir)
    reader = JournalReader.open(run_journal_target(run_dir))
    try:
        events = reader.events(run_dir.name, kind="alert")
        sinks = _configured_sinks(reader, run_dir.name)
    finally:
        reader.close()
    rows = [
        {"at": at.isoformat(), "severity": level, **(payload or {})}
        for at, level, payload in zip(events["at"], events["level"], events["payload"], strict=True)
    ]
    if sinks is None:  # a journal without the run's configuration: what the alerts record
        sinks = sorted({sink for row in rows for sink in row.get("sinks") or ()})
    if as_json:
        click.echo(json.dumps({"run_id": run_dir.name, "sinks": sinks, "alerts": rows}))
        return
    if not rows:
        click.echo(f"run {run_dir.name}: no alerts")
        return
    for row in rows:
        why = row.get("suppressed_by") or "suppressed"
        held = f"  [not sent: {why}]" if row["suppressed"] and sinks else ""
        click.echo(
            f"{row['at'][:19]}Z  {row['severity']:<8}  {row['rule']:<20}  {row['title']}: "
            f"{row['message']}{held}"
        )
    if not sinks:
        click.echo(
            f"{len(rows)} alert(s), journaled and logged only: no sink configured "
            "(--alert-url, --alerts FILE or PARITY_ALERT_URLS)"
        )
        return
    sent = sum(1 for row in rows if not row["suppressed"])
    click.echo(f"{len(rows)} alert(s), {sent} sent, {len(rows) - sent} held back")


def _configured_sinks(reader: Any, run_id: str) -> list[str] | None:
    """The run's alert sinks (redacted) as its configuration recorded them; None if unknown."""
    from parity.errors import JournalError
    from parity.manifest import Manifest

    try:
        manifest = Manifest.from_dict(reader.run(run_id).manifest, run_id=run_id)
    except JournalError:
        return None
    alerts = (manifest.config or {}).get("alerts")
    if not isinstance(alerts, dict) or not isinstance(alerts.get("sinks"), list):
        return None
    return [str(sink) for sink in alerts["sinks"]]


@alerts.command("test")
@click.option(
    "--alert-url", "alert_urls", multiple=True, metavar="URL", help="Apprise URL, repeatable."
)
@click.option(
    "--alerts",
    "alerts_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML alert settings (its urls are used).",
)
def alerts_test(alert_urls: tuple[str, ...], alerts_file: Path | None) -> None:
    """Send one test message through every configured sink (flags, file, PARITY_ALERT_URLS)."""
    from parity.alerts.sinks import Delivery
    from parity.errors import AlertError, ConfigError

    config = alerts_from_flags({"alert_urls": alert_urls, "alerts_file": alerts_file})
    if not config.urls:
        raise ConfigError("no alert sink: pass --alert-url URL or set PARITY_ALERT_URLS")
    outcomes = Delivery(config.urls).send_now(
        "[parity] test alert", "This is a test message from `parity alerts test`.", "info"
    )
    for outcome in outcomes:
        click.echo(f"{outcome.sink}: {'sent' if outcome.ok else 'FAILED: ' + outcome.reason}")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise AlertError(
            f"alert delivery failed for {', '.join(o.sink for o in failed)} "
            f"({failed[0].reason}); check the URL and that the service is reachable"
        )
