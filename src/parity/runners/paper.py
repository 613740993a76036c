"""`run_paper`: the same strategy class and params as a backtest, on live bars and a live broker.

Composition only: the session (Alpaca's paper API, the local venue started in-process, or a
polling feed with the simulated broker) builds the broker and the feeds; the strategy never
learns which. Artifacts are a backtest's plus `tape.csv` (every bar received, with its arrival
time).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import backtrader as bt

from parity.alerts.config import AlertConfig
from parity.alerts.engine import RunAlerts
from parity.analyzers.recorder import Recorder
from parity.analyzers.trim import Trimmer
from parity.costs import CostModel, cost_model
from parity.errors import ConfigError, ParityError, StrategyError
from parity.journal.hook import OrderJournal
from parity.logs import FILE_ONLY, run_log
from parity.risk.limits import RiskLimits
from parity.risk.monitor import attach_risk, risk_notifier
from parity.runners.daily import daily_report_checker
from parity.runners.paper_events import journal_error, stream_journal
from parity.runners.paper_output import (
    Tape,
    close_paper_journal,
    open_paper_journal,
    write_paper_run,
)
from parity.runners.resume import (
    RestoreSimState,
    journal_positions,
    reconcile,
    resumed_cash,
)
from parity.runners.session_divergence import SessionEnd, session_checker
from parity.runners.sessions import (
    AlpacaSession,
    LocalVenueSession,
    PollingSession,
    new_york_now,
)
from parity.runstore import new_run_id
from parity.strategies.params import coerce_params
from parity.strategies.registry import resolve_strategy
from parity.timeframe import MINUTE, Timeframe, parse_timeframe

__all__ = ["PaperConfig", "PaperResult", "new_york_now", "run_paper", "validate_paper"]

Notify = Callable[[str], None]
log = logging.getLogger("parity.run")


@dataclass(frozen=True, kw_only=True)
class PaperConfig:
    """A paper run. Costs, latency and volume share set the local venue's fill model (and the
    simulated broker's for `--venue sim` and `--dry-run`)."""

    strategy: str = "sma_cross"
    params: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    timeframe: Timeframe = MINUTE
    venue: Literal["alpaca", "local", "sim"] = "alpaca"
    data: str = "sample:minute"
    start: dt.date | None = None
    end: dt.date | None = None
    speed: float | None = None
    until: dt.datetime | None = None
    cash: float | None = None
    commission: str = "0"
    slippage: str = "0"
    latency_ms: int = 0
    volume_share: float = 1.0
    backfill: int = 0
    poll_seconds: float = 30.0
    existing: Literal["refuse", "adopt", "flatten"] = "refuse"
    flatten_on_exit: bool = False
    dry_run: bool = False
    runs_dir: Path = Path("runs")
    faults: Any = None  # a venue FaultPlan (local venue only): injected errors for rehearsals
    risk: RiskLimits | None = None  # risk limits; a paper run always has a kill switch
    run_id: str | None = None  # default: a new id (client order ids are `RUN_ID-000001`, ...)
    replay_start: str | None = None  # local venue: first streamed bar (ISO); earlier = history
    # compare with the backtest twin on the tape at each session end (re-runs the strategy
    # in-process, so it is opt-in: a strategy with side effects would repeat them)
    divergence_check: bool = False
    alerts: AlertConfig = field(default_factory=AlertConfig)  # thresholds and sink URLs
    # write RUN_DIR/reports/daily-DATE.{txt,json,html} at each session close (journaled)
    daily_reports: bool = True

    @property
    def costs(self) -> CostModel:
        return cost_model(self.commission, self.slippage)

    def as_dict(self) -> dict[str, Any]:
        """The run's configuration as JSON-ready values (journaled, so a resume rebuilds it)."""
        return {
            "strategy": self.strategy, "params": dict(self.params),
            "symbols": list(self.symbols), "timeframe": self.timeframe.name,
            "venue": self.venue, "data": self.data,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "speed": self.speed, "until": self.until.isoformat() if self.until else None,
            "cash": self.cash, "commission": self.commission, "slippage": self.slippage,
            "latency_ms": self.latency_ms, "volume_share": self.volume_share,
            "backfill": self.backfill, "poll_seconds": self.poll_seconds,
            "flatten_on_exit": self.flatten_on_exit, "dry_run": self.dry_run,
            "divergence_check": self.divergence_check,
            "daily_reports": self.daily_reports,
            "risk": self.risk.describe() if self.risk else None,
            "alerts": self.alerts.describe(),  # redacted: no sink URL is ever journaled
        }  # fmt: skip

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], **overrides: Any) -> PaperConfig:
        """Rebuild a configuration recorded by `as_dict`."""
        v = dict(values)
        fields_: dict[str, Any] = {
            "strategy": v["strategy"], "params": v.get("params") or {},
            "symbols": tuple(v["symbols"]), "timeframe": parse_timeframe(v["timeframe"]),
            "venue": v["venue"], "data": v.get("data", "sample:minute"),
            "start": dt.date.fromisoformat(v["start"]) if v.get("start") else None,
            "end": dt.date.fromisoformat(v["end"]) if v.get("end") else None,
            "speed": v.get("speed"),
            "until": dt.datetime.fromisoformat(v["until"]) if v.get("until") else None,
            "cash": v.get("cash"), "commission": v.get("commission", "0"),
            "slippage": v.get("slippage", "0"), "latency_ms": v.get("latency_ms", 0),
            "volume_share": v.get("volume_share", 1.0), "backfill": v.get("backfill", 0),
            "poll_seconds": v.get("poll_seconds", 30.0),
            "flatten_on_exit": v.get("flatten_on_exit", False),
            "dry_run": v.get("dry_run", False),
            "divergence_check": v.get("divergence_check", False),
            "daily_reports": v.get("daily_reports", True),
            "risk": RiskLimits.from_mapping(v.get("risk") or {}, source="the journal"),
            "alerts": AlertConfig.from_record(v.get("alerts")),  # URLs: from env/flags again
        }  # fmt: skip
        return cls(**{**fields_, **overrides})

    def data_source_label(self) -> str:
        return {"local": self.data, "sim": "yahoo (polled)"}.get(self.venue, "alpaca")


@dataclass
class Resume:
    """How to continue a crashed run: `adopt` takes the venue's state on a mismatch."""

    adopt: bool = False
    cash: float = 0.0
    starting_cash: float = 0.0
    next_seq: int = 1


@dataclass(frozen=True)
class PaperResult:
    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    stopped_by: str


def open_session(config: PaperConfig, notify: Notify) -> Any:
    """The session for `config.venue` (the one place that knows the kinds)."""
    if config.venue == "local":
        return LocalVenueSession(config, notify)
    if config.venue == "sim":
        return PollingSession.yahoo(config)
    return AlpacaSession.from_env(config.until)


def validate_paper(config: PaperConfig, notify: Notify, session: Any = None) -> dict[str, Any]:
    """Keys, account status, buying power, clock and every symbol, without trading."""
    session = session or open_session(config, notify)
    try:
        report: dict[str, Any] = session.check(config, notify)
        return report
    finally:
        session.close()


@contextlib.contextmanager
def _stop_on_signals(cerebro: bt.Cerebro, reason: list[str]) -> Iterator[None]:
    """Ctrl+C / SIGTERM stop the run gracefully (orders cancelled, artifacts written)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        reason[0] = signal.Signals(signum).name
        cerebro.runstop()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _stop_on_event(cerebro: bt.Cerebro, stop: threading.Event | None) -> Iterator[None]:
    """`stop` set from another thread ends the run at the next bar, however busy the feed."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.2):
                cerebro.runstop()
                return

    watcher = threading.Thread(target=watch, name="paper-stop", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=1)


def run_paper(
    config: PaperConfig,
    *,
    notify: Notify = lambda _m: None,
    stop: threading.Event | None = None,
    session: Any = None,
    resume: Resume | None = None,
) -> PaperResult:
    """Run until the replay ends (local venue), `until`, a signal, or `stop` is set.

    `session` overrides the one `config.venue` names (tests and embedding applications);
    `resume` continues `config.run_id` after a crash (see `resume_paper`)."""
    if not config.symbols:
        raise ConfigError("paper trading needs --symbols, e.g. --symbols AAPL")
    spec = resolve_strategy(config.strategy)
    params = coerce_params(spec.cls, config.params)
    session = session or open_session(config, notify)
    run_id = config.run_id or new_run_id(spec.name)
    stopped_by = ["end of data"]

    def finished() -> bool:
        return (stop is not None and stop.is_set()) or session.finished()

    journal = None
    alerts: RunAlerts | None = None
    run_logging = contextlib.ExitStack()
    try:
        report = session.check(config, notify)
        starting_cash = float(config.cash or (report.get("account") or {}).get("cash") or 100_000.0)
        journal = open_paper_journal(
            config,
            spec=spec,
            params=params,
            run_id=run_id,
            venue=session.venue,
            extra={"config": config.as_dict(), "starting_cash": starting_cash},
            resume=resume is not None,
        )
        log_path = run_logging.enter_context(run_log(config.runs_dir / run_id))
        log.info("run %s logging to %s", run_id, log_path, extra={"run_id": run_id})
        alerts = RunAlerts.start(config.alerts, journal, run_id, resumed=resume is not None)
        simulated = config.dry_run or session.venue == "sim"
        if resume is not None:
            resume.starting_cash = float(
                (journal.reader.run(run_id).manifest or {}).get("starting_cash", starting_cash)
            )
            resume.cash = resumed_cash(journal, run_id, resume.starting_cash)
            if simulated:  # nothing at a venue: the journal is the whole truth
                intents = journal.reader.intents(run_id)
                resume.next_seq = int(intents["seq"].max()) + 1 if len(intents) else 1
                notify(
                    f"reconciliation: simulated broker restored from the journal (cash "
                    f"{resume.cash:,.2f}, positions {journal_positions(journal, run_id)})"
                )
            else:
                rec = reconcile(session.store, journal, run_id, config.symbols, adopt=resume.adopt)
                notify(rec.report())
                resume.next_seq = rec.next_seq
        orders_journal = OrderJournal(journal, daily=config.timeframe.is_daily)
        tape = Tape(journal)
        cerebro = bt.Cerebro(stdstats=False, preload=False, runonce=False, maxcpus=1)
        cerebro.broker = session.broker(config, run_id, notify)
        if resume is not None and simulated:
            cerebro.addanalyzer(
                RestoreSimState,
                cash=resume.cash,
                starting_cash=resume.starting_cash,
                positions=journal_positions(journal, run_id),
            )
        elif resume is not None:
            cerebro.broker.p.cash = resume.cash
            cerebro.broker.p.starting_cash = resume.starting_cash
            cerebro.broker.p.first_seq = resume.next_seq
            cerebro.broker._seq = resume.next_seq - 1
        attach = getattr(cerebro.broker, "attach_journal", None)
        if callable(attach):  # a live broker journals intents before it sends them
            attach(orders_journal)
        attach_risk(
            cerebro,
            config.risk,
            config.runs_dir / run_id,
            emit=risk_notifier(notify, journal.event),
            always=True,
        )

        def feed_state(symbol: str, state: str) -> None:
            notify(f"{symbol} feed: {state}")
            journal.event(
                "feed",
                {"symbol": symbol, "state": state},
                level="warning" if state == "stale" else "info",
            )

        feeds = [
            session.feed(symbol, config, tape.add, finished, feed_state)
            for symbol in config.symbols
        ]
        for symbol, feed in zip(config.symbols, feeds, strict=True):
            cerebro.adddata(feed, name=symbol)
        cerebro.addstrategy(spec.cls, **params)
        cerebro.addanalyzer(
            Recorder,
            _name="recorder",
            id_prefix=run_id,
            journal=orders_journal,
            live=True,
            first_number=resume.next_seq if resume is not None else 1,
        )
        cerebro.addanalyzer(Trimmer, _name="trimmer")
        if config.divergence_check:
            cerebro.addanalyzer(
                SessionEnd,
                check=session_checker(
                    config,
                    journal=journal,
                    run_id=run_id,
                    notify=notify,
                    starting_cash=resume.starting_cash if resume is not None else starting_cash,
                ),
            )
        if config.daily_reports:  # after the divergence check: the report shows its figures
            cerebro.addanalyzer(
                SessionEnd,
                _name="daily_reports",
                check=daily_report_checker(
                    journal=journal,
                    run_id=run_id,
                    run_dir=config.runs_dir / run_id,
                    notify=notify,
                    sender=alerts if config.alerts.send_daily_report else None,
                ),
            )
        for analyzer, kwargs in session.analyzers():
            cerebro.addanalyzer(analyzer, **kwargs)
        session.watch_streams(stream_journal(journal))
        session.start(config, feeds)
        notify(
            f"run {run_id}: {spec.name} on {','.join(config.symbols)} {config.timeframe}, "
            + ("dry run (no orders sent)" if config.dry_run else f"venue {session.venue}")
        )
        with _stop_on_signals(cerebro, stopped_by), _stop_on_event(cerebro, stop):
            try:
                strategy = cerebro.run()[0]
            except ParityError:
                raise
            except Exception as exc:
                raise StrategyError(
                    f"strategy {spec.name} raised {type(exc).__name__}: {exc} (rerun with --debug)"
                ) from exc
        if stop is not None and stop.is_set():
            stopped_by[0] = "stop requested"
        if not config.dry_run:
            session.shutdown(config, notify)
        run_dir, metrics = write_paper_run(
            config,
            spec=spec,
            params=params,
            run_id=run_id,
            strategy=strategy,
            venue=session.venue,
            warnings=session.warnings,
            stopped_by=stopped_by[0],
            journal=journal,
        )
        if alerts is not None:
            alerts.finish()
        close_paper_journal(journal, "finished")
        return PaperResult(run_id, run_dir, metrics, stopped_by[0])
    except BaseException as exc:
        log.exception("run %s stopped by an error", run_id, extra=FILE_ONLY)
        journal_error(journal, exc)
        if alerts is not None:
            alerts.finish()  # the error's alert goes out before the process ends
        close_paper_journal(journal, "crashed")
        raise
    finally:
        if alerts is not None:
            alerts.stop()
        session.close()
        run_logging.close()


def resume_paper(
    run_dir: Path,
    *,
    adopt: bool = False,
    backfill: int | None = None,
    notify: Notify = lambda _m: None,
    stop: threading.Event | None = None,
    session: Any = None,
    alert_urls: tuple[str, ...] = (),
) -> PaperResult:
    """Continue the crashed paper run in `run_dir`: its journal gives the configuration (alert
    thresholds included; `alert_urls` are given again, they are never journaled); the
    venue and the journal are reconciled (orders, fills, positions), the warm-up is read from
    history, and the same run goes on (same id, client order ids numbered on)."""
    from parity.journal.database import run_journal_target
    from parity.journal.reader import JournalReader

    reader = JournalReader.open(run_journal_target(run_dir))
    try:
        info = reader.run(run_dir.name)
    finally:
        reader.close()
    recorded = (info.manifest or {}).get("config")
    if not recorded:
        raise ConfigError(f"run {run_dir.name} has no recorded configuration; it cannot be resumed")
    if recorded["venue"] == "local":
        raise ConfigError(
            f"run {run_dir.name} ran on venue {recorded['venue']!r}, which ended with its process; "
            "rehearse crash recovery against `parity venue serve` with --venue alpaca and the "
            "APCA_* URLs pointing at it"
        )
    warm = backfill if backfill is not None else max(int(recorded.get("backfill") or 0), 200)
    config = PaperConfig.from_dict(
        recorded,
        run_id=run_dir.name,
        runs_dir=run_dir.parent,
        existing="adopt",
        backfill=warm,
        cash=None,  # the capital is invested now: what is left comes from the journal
    )
    config = dataclasses.replace(config, alerts=config.alerts.with_urls(alert_urls))
    notify(f"resuming {run_dir.name} (was {info.status}, pid {info.pid})")
    return run_paper(config, notify=notify, stop=stop, session=session, resume=Resume(adopt=adopt))
