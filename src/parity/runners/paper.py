"""`run_paper`: the same strategy class and params as a backtest, on live bars and a live broker.

Composition only: the session (Alpaca's paper API, the local venue started in-process, or a
polling feed with the simulated broker) builds the broker and the feeds; the strategy never
learns which. Artifacts are a backtest's plus `tape.csv` (every bar received, with its arrival
time).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader as bt

from parity.alerts.engine import RunAlerts
from parity.analyzers.recorder import Recorder
from parity.analyzers.trim import KEEP_BARS, Trimmer
from parity.brokers.core import BrokerCore, OrderIds, OrderReview
from parity.defaults import DEFAULT_CASH
from parity.errors import ConfigError, JournalError, ParityError, StrategyError
from parity.feeds.currency import check_one_currency
from parity.instruments import bind_instrument
from parity.journal.database import run_journal_target
from parity.journal.hook import OrderJournal
from parity.journal.lock import lock_run
from parity.logs import FILE_ONLY, run_log
from parity.manifest import Manifest
from parity.options.close import OptionsClose
from parity.options.setup import OptionsSetup
from parity.risk.monitor import attach_risk, risk_guard, risk_notifier
from parity.runners.backtest import traded_session
from parity.runners.continuation import (
    JournalCarry,
    TakeCarried,
    carried_state,
    resumed_carry,
    save_carry,
)
from parity.runners.option_book import OptionBook
from parity.runners.option_resume import desk_restorer, option_ahead
from parity.runners.option_tape import TAPE_FILE, tape_to_file
from parity.runners.paper_config import PaperConfig
from parity.runners.paper_events import Heartbeat, journal_error, stream_journal
from parity.runners.paper_output import (
    Tape,
    close_paper_journal,
    open_paper_journal,
    write_paper_run,
)
from parity.runners.paper_progress import ProgressFactory, replay_progress
from parity.runners.paper_resume import Resume, journal_backlog, restart
from parity.runners.paper_sessions import add_session_checks
from parity.runners.resume import (
    ClaimPositions,
    RestoreSimState,
    journal_positions,
)
from parity.runstore import check_run_id, check_runs_dir, new_run_id
from parity.strategies.params import coerce_params
from parity.strategies.registry import resolve_strategy
from parity.venues.clock import new_york_now, run_exchange
from parity.venues.protocol import Session
from parity.venues.registry import venue_named

__all__ = ["PaperConfig", "PaperResult", "Resume", "new_york_now", "run_paper", "validate_paper"]

Notify = Callable[[str], None]
log = logging.getLogger("parity.run")


@dataclass(frozen=True)
class PaperResult:
    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    stopped_by: str
    currency: str = "USD"  # ISO code of the run's money (the metrics table prints its symbol)


def open_session(
    config: PaperConfig, notify: Notify, *, run_dir: Path | None = None, resume: bool = False
) -> Session:
    """The session of the venue `config.venue` names in the registry. A venue that keeps state
    keeps it in `run_dir` (continued with `resume`)."""
    return venue_named(config.venue).open(config, notify, run_dir=run_dir, resume=resume)


def validate_paper(
    config: PaperConfig, notify: Notify, session: Session | None = None
) -> dict[str, Any]:
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
    session: Session | None = None,
    resume: Resume | None = None,
    progress: ProgressFactory | None = None,
) -> PaperResult:
    """Run until the replay ends (local venue), `until`, a signal, or `stop` is set.

    `session` overrides the one `config.venue` names (tests and embedding applications);
    `resume` continues `config.run_id` after a crash (see `resume_paper`); `progress` makes a
    progress bar of a replay's steps (`factory(total)` returns `update(done)`)."""
    if not config.symbols:
        raise ConfigError("paper trading needs --symbols, e.g. --symbols AAPL")
    check_runs_dir(config.runs_dir)
    if config.run_id is not None and resume is None:
        check_run_id(config.run_id)
    if config.risk is not None and resume is None:
        config.risk.check_bars(config.timeframe)
    spec = resolve_strategy(config.strategy)
    params = coerce_params(spec.cls, config.params)
    # one session for the venue, the feeds and the journal: as the backtest resolves it
    config = dataclasses.replace(config, session=traded_session(config, spec))
    exchange = run_exchange(config)
    run_id = config.run_id or new_run_id(spec.name)
    session = session or open_session(
        config, notify, run_dir=config.runs_dir / run_id, resume=resume is not None
    )
    stopped_by = ["end of data"]

    def finished() -> bool:
        return (stop is not None and stop.is_set()) or session.finished()

    journal = None
    alerts: RunAlerts | None = None
    cleanup = contextlib.ExitStack()
    try:
        report = session.check(config, notify)
        account_cash = (report.get("account") or {}).get("cash")
        starting_cash = float(config.cash or account_cash or DEFAULT_CASH)
        if resume is None or resume.lock is None:  # one process writes a run at a time
            cleanup.callback(lock_run(run_journal_target(config.runs_dir / run_id), run_id).release)
        clock = (report.get("clock") or {}).get("timestamp")
        journal = open_paper_journal(
            config,
            spec=spec,
            params=params,
            run_id=run_id,
            venue=session.venue,
            extra={
                "config": config.to_dict(),
                "starting_cash": starting_cash,
                "account_cash": account_cash,  # what `--resume` checks the venue's cash against
                # bars before it are the warm-up: what a resume re-reads as such
                "live_from": clock.isoformat() if clock else None,
            },
            resume=resume is not None,
        )
        log_path = cleanup.enter_context(run_log(config.runs_dir / run_id))
        log.info("run %s logging to %s", run_id, log_path, extra={"run_id": run_id})
        trades_options = bool(getattr(spec.cls, "trades_options", False))
        # a strategy trading options: the venue's desk, with the backtest's checks and rules
        options = OptionsSetup.for_strategy(spec.cls, config.options) if trades_options else None
        alert_config = config.alerts
        if alert_config is not None and options is not None:  # the spread rule's assumption
            alert_config = alert_config.with_option_model(
                options.model.half_spread, options.model.tick
            )
        alerts = RunAlerts.start(alert_config, journal, run_id, resumed=resume is not None)
        cleanup.callback(Heartbeat(journal).start().stop)
        account = None if config.dry_run else session.venue_account()
        # options: what the venue did while the run was down (see runners.option_resume)
        ahead = (
            option_ahead(account, journal, run_id)
            if resume is not None and trades_options
            else None
        )
        point = restart(config, resume, journal, run_id, account, starting_cash, notify, ahead)
        orders_journal = OrderJournal(journal, daily=config.timeframe.is_daily)
        # one counter for the run's client order ids; a resumed run numbers on from its journal
        ids = OrderIds(run_id, next_number=journal.reader.next_order_number(run_id))
        guard = risk_guard(
            config.risk,
            config.runs_dir / run_id,
            emit=risk_notifier(notify, journal.event),
            always=True,
        )
        core = BrokerCore(ids, OrderReview(risk=guard), orders_journal)
        tape = Tape(journal, taped=point.taped)
        cerebro = bt.Cerebro(stdstats=False, preload=False, runonce=False, maxcpus=1)
        cerebro.broker = (
            session.broker(config, core, notify)
            if options is None
            else session.broker(config, core, notify, options=options)
        )
        refuses = getattr(cerebro.broker, "refused_in", None)
        refused = refuses(spec.cls) if callable(refuses) else None
        if refused:  # an order type the venue lacks: refused before any order
            raise StrategyError(f"strategy {spec.name} cannot trade at this venue: {refused}")
        if resume is not None and account is None:
            cerebro.addanalyzer(
                RestoreSimState,
                cash=resume.cash,
                starting_cash=resume.starting_cash,
                positions=journal_positions(journal, run_id),
            )
        elif resume is not None:
            cerebro.broker.p.cash = resume.cash
            cerebro.broker.p.starting_cash = resume.starting_cash
            cerebro.broker.p.marks = point.marks
        attach_risk(cerebro, guard, skip_through=point.live_after)

        def feed_state(symbol: str, state: str) -> None:
            routine = state in ("live", "finished")  # the expected ones: not worth a line
            notify(f"{'debug: ' if routine else ''}{symbol} feed: {state}")
            journal.event(
                "feed",
                {"symbol": symbol, "state": state},
                level="warning" if state == "stale" else "info",
            )

        feeds = [
            session.feed(symbol, config, tape.add, finished, feed_state, **point.feed_args(symbol))
            for symbol in config.symbols
        ]
        for symbol, feed in zip(config.symbols, feeds, strict=True):
            cerebro.adddata(bind_instrument(feed, symbol), name=symbol)
        cerebro.addstrategy(spec.cls, **params)
        carried = None  # what the strategy carried: to a later day, or past the crash
        if resume is not None:
            carried = (carried_state if resume.continued else resumed_carry)(journal, run_id)
        if carried is not None:
            cerebro.addanalyzer(TakeCarried, state=carried)
        daily = config.timeframe.is_daily  # (before the recorder, whose equity commits it)
        cerebro.addanalyzer(
            JournalCarry, journal=journal, daily=daily, skip_through=point.live_after
        )
        if options is not None:  # the desk's end of bar (marks), before the recorder
            cerebro.addanalyzer(OptionsClose, _name="options_close")
            # the option tape to its file as it arrives, flushed at each bar's end
            tape_file = tape_to_file(cerebro, cerebro.broker.options, config.runs_dir / run_id)
            if tape_file is not None:
                cleanup.callback(tape_file.close)
        cerebro.addanalyzer(
            Recorder,
            _name="recorder",
            id_prefix=run_id,
            ids=ids,
            journal=orders_journal,
            live=True,
            skip_through=point.live_after,
            # a continued run's first bar is the last one recorded: the next is numbered on
            first_bar=point.next_bar + (point.equity_through is not None),
            equity_through=point.equity_through,
        )
        if options is not None and journal is not None:  # the book, for a later --resume
            tape_path = config.runs_dir / run_id / TAPE_FILE
            restore = (
                desk_restorer(journal, run_id, notify, tape_path, continued=resume.continued)
                if resume is not None
                else None
            )
            cerebro.addanalyzer(OptionBook, journal=journal, restore=restore)
        cerebro.addanalyzer(ClaimPositions)
        cerebro.addanalyzer(Trimmer, _name="trimmer", keep_bars=KEEP_BARS)
        add_session_checks(
            cerebro,
            config,
            journal=journal,
            run_id=run_id,
            notify=notify,
            alerts=alerts,
            wall_clock=session.wall_clock,
            exchange=exchange,
            skip_through=point.equity_through or point.live_after,
            starting_cash=resume.starting_cash if resume is not None else starting_cash,
            cleanup=cleanup,
        )
        for analyzer, kwargs in session.analyzers():
            cerebro.addanalyzer(analyzer, **kwargs)
        session.watch_streams(stream_journal(journal))
        session.start(config, feeds)
        if resume is not None:
            journal_backlog(feeds, journal, notify)
        notify(
            f"run {run_id}: {spec.name} on {','.join(config.symbols)} {config.timeframe}, "
            + ("dry run (no orders sent)" if config.dry_run else f"venue {session.venue}")
        )
        with (
            _stop_on_signals(cerebro, stopped_by),
            _stop_on_event(cerebro, stop),
            replay_progress(session, progress),
        ):
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
        save_carry(journal, strategy)  # before the shutdown cancels what it carries
        if not config.dry_run:
            session.shutdown(config, notify)
            strategy.analyzers.recorder.record_late()  # the shutdown's cancels, journaled
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
        currency = check_one_currency(list(config.symbols)) or "USD"
        return PaperResult(run_id, run_dir, metrics, stopped_by[0], currency)
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
        cleanup.close()


def resume_paper(
    run_dir: Path,
    *,
    adopt: bool = False,
    backfill: int | None = None,
    notify: Notify = lambda _m: None,
    stop: threading.Event | None = None,
    session: Session | None = None,
    alert_urls: tuple[str, ...] = (),
) -> PaperResult:
    """Continue the crashed paper run in `run_dir`: its journal gives the configuration (alert
    thresholds included; `alert_urls` are given again, they are never journaled); the
    venue and the journal are reconciled (orders, fills, positions), the warm-up is read from
    history, and the same run goes on (same id, client order ids numbered on)."""
    from parity.journal.reader import JournalReader

    target = run_journal_target(run_dir)
    if isinstance(target, Path) and not target.is_file():
        raise ConfigError(
            f"run {run_dir.name} stopped before it recorded anything (no journal): nothing to "
            f"resume; start it again with the same command and --run-id {run_dir.name}"
        )
    reader = JournalReader.open(target)
    try:
        info = reader.run(run_dir.name)
    except JournalError:
        raise ConfigError(
            f"run {run_dir.name} stopped before it was recorded in its journal: nothing to "
            f"resume; start it again with the same command and --run-id {run_dir.name}"
        ) from None
    finally:
        reader.close()
    if info.status == "finished":
        raise ConfigError(
            f"run {run_dir.name} finished cleanly (at {info.finished_at} UTC); --resume "
            f"continues a crashed run only: trade on with --continue {run_dir.name}"
        )
    recorded = Manifest.from_dict(info.manifest, run_id=run_dir.name).config
    if not recorded:
        raise ConfigError(f"run {run_dir.name} has no recorded configuration; it cannot be resumed")
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
    run_lock = lock_run(run_journal_target(run_dir), run_dir.name)  # refused if another writes
    notify(f"resuming {run_dir.name} (was {info.status}, pid {info.pid})")
    try:
        resume = Resume(adopt=adopt, lock=run_lock)
        return run_paper(config, notify=notify, stop=stop, session=session, resume=resume)
    finally:
        run_lock.release()
