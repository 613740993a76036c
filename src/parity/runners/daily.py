"""Daily and weekly reports composed: read a run's journal (live or finished), build the report,
render and write it; and the automatic daily report at each session close of a paper run.

Reports are read from the journal, not from the artifacts a run writes when it ends, so they
work on a paper run that is still trading. Files go to `RUN_DIR/reports/daily-YYYY-MM-DD.*` and
`RUN_DIR/reports/weekly-YYYY-Www.*`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from parity.errors import ConfigError, ParityError, RunNotFoundError
from parity.instruments.calendars import manifest_calendar
from parity.journal.database import run_journal_target
from parity.journal.reader import JournalReader
from parity.manifest import Manifest
from parity.reports.daily import daily_report
from parity.reports.periodic import Report, ReportInputs, session_dates
from parity.reports.render import FORMATS, SUFFIX, render, title_of
from parity.reports.weekly import weekly_report

REPORTS_DIR = "reports"
Notify = Callable[[str], None]
log = logging.getLogger("parity.reports")


class ReportSender(Protocol):
    """Where a finished daily report is sent (the alert dispatcher's sinks)."""

    def send_report(self, title: str, body: str) -> object: ...


# ---------------------------------------------------------------------------- inputs


def _file_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _tape_closes(tape: pd.DataFrame) -> pd.DataFrame:
    bars = tape.sort_values("datetime", kind="stable")
    days = pd.DatetimeIndex(pd.to_datetime(bars["datetime"])).normalize()
    closes = bars.groupby([days, bars["symbol"]])["close"].last().unstack()
    closes.index.name = "date"
    return closes


def _data_closes(manifest: Manifest) -> pd.DataFrame:
    """Last close per date and symbol from a backtest's data source (empty if unavailable)."""
    from parity.feeds.adjust import manifest_adjustment
    from parity.feeds.loader import load_bars
    from parity.timeframe import parse_timeframe

    window = manifest.window
    if window is None or manifest.timeframe is None:
        return pd.DataFrame()
    try:
        loaded = load_bars(
            manifest.data_source or "sample",
            list(manifest.symbols) or None,
            timeframe=parse_timeframe(manifest.timeframe),
            start=window[0],
            end=window[1],
            adjustment=manifest_adjustment(manifest.data),
        )
    except (ParityError, ValueError, TypeError, OSError):
        return pd.DataFrame()
    closes = {
        s.symbol: s.frame["close"].groupby(pd.DatetimeIndex(s.frame.index).normalize()).last()
        for s in loaded.series
    }
    return pd.concat(closes, axis=1) if closes else pd.DataFrame()


def _limits(manifest: Manifest) -> Any:
    from parity.risk.limits import RiskLimits

    raw = manifest.risk_limits
    if not raw:
        return None
    try:
        limits = RiskLimits.from_mapping(raw, source="the run's manifest")
    except ConfigError:
        return None
    return limits if limits.active else None


def _risk_state(run_dir: Path) -> dict[str, Any] | None:
    from parity.risk.state import JsonRiskStateStore

    store = JsonRiskStateStore.in_run(run_dir)
    if not store.path.is_file():
        return None
    try:
        return store.load().to_dict()
    except ConfigError:
        return None


def read_inputs(reader: JournalReader, run_id: str, run_dir: Path) -> ReportInputs:
    """Everything a report needs of `run_id`, from its journal and its run directory."""
    info = reader.run(run_id)
    recorded = dict(info.manifest or {})
    recorded.update(_file_json(run_dir / "manifest.json") or {})
    manifest = Manifest.from_dict(recorded, run_id=run_id)
    equity = reader.equity(run_id)
    equity = equity[~equity.index.duplicated(keep="last")].sort_index()  # a resumed run's overlap
    tape = reader.tape(run_id)
    events = reader.events(run_id)
    arrivals = tape[["received_at", "datetime"]] if len(tape) else None
    timezone = manifest_calendar(manifest).timezone
    dates = session_dates(events, arrivals, timezone)
    events["date"] = pd.Series(dates, index=events.index, dtype=object)
    cash = manifest.starting_cash or manifest.cash
    if cash is None:
        cash = float(equity["value"].iloc[0]) if len(equity) else 0.0
    compare_path = run_dir / "divergence.json"  # the twin compare's (--expect/--against: own files)
    compare = _file_json(compare_path)
    if compare is not None and compare.get("mode") not in (None, "twin"):
        compare = None  # written by an older parity's --expect or --against: not the twin verdict
    compare_at = None
    if compare is not None:
        stamp = compare_path.stat().st_mtime
        compare_at = dt.datetime.fromtimestamp(stamp, dt.UTC).replace(tzinfo=None)
    return ReportInputs(
        run_id=run_id,
        mode=str(recorded.get("mode") or info.mode),
        status=info.status,
        manifest=manifest,
        starting_cash=float(cash),
        equity=equity,
        fills=reader.fills(run_id),
        orders=reader.orders(run_id),
        closes=_tape_closes(tape) if len(tape) else _data_closes(manifest),
        events=events,
        limits=_limits(manifest),
        risk_state=_risk_state(run_dir),
        compare=compare,
        compare_at=compare_at,
        compare_path=str(compare_path) if compare is not None else None,
        multipliers=reader.multipliers(run_id),
        decisions=reader.decisions(run_id),
        option_fills=reader.option_fill_costs(run_id),
        run_dir=run_dir,
    )


def open_inputs(run_dir: Path) -> ReportInputs:
    """`read_inputs` for the run in `run_dir` (its journal opened read-only, then closed)."""
    target = run_journal_target(run_dir)
    if isinstance(target, Path) and not target.is_file():
        raise RunNotFoundError(
            f"run {run_dir.name} has no journal at {target}; reports need a run made with this "
            "version (or PARITY_DB_URL for a database journal)"
        )
    reader = JournalReader.open(target)
    try:
        return read_inputs(reader, run_dir.name, run_dir)
    finally:
        reader.close()


# ---------------------------------------------------------------------------- output


def report_path(run_dir: Path, report: Report, fmt: str) -> Path:
    """`RUN_DIR/reports/{daily|weekly}-{label}.{txt|json|html}`."""
    return run_dir / REPORTS_DIR / f"{report.kind}-{report.period['label']}.{SUFFIX[fmt]}"


def write_text(path: Path, text: str) -> Path:
    """Write atomically (tmp + rename): a dashboard never reads half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def make_report(
    run_dir: Path,
    kind: str,
    *,
    day: dt.date | None = None,
    week: tuple[int, int] | None = None,
) -> Report:
    """The `daily` report of `day` or the `weekly` report of `week` (or of `day`'s week)."""
    inputs = open_inputs(run_dir)
    if kind == "daily":
        return daily_report(inputs, day)
    return weekly_report(inputs, week, day=day)


def produce(
    run_dir: Path, report: Report, fmt: str, out: Path | None
) -> tuple[str | None, Path | None]:
    """`(text to print, None)`, or `(None, path written)` for HTML or `out`."""
    text = render(report, fmt)
    if out is None and fmt != "html":
        return text, None
    return None, write_text(out or report_path(run_dir, report, fmt), text)


# ---------------------------------------------------------------------------- during a run


def daily_report_checker(
    *,
    journal: Any,
    run_id: str,
    run_dir: Path,
    notify: Notify,
    sender: ReportSender | None = None,
    formats: Sequence[str] = FORMATS,
) -> Callable[[dt.date], None]:
    """The `check` of `SessionEnd` that writes `RUN_DIR/reports/daily-DATE.{txt,json,html}` at
    each session close, journals a `daily_report` event and sends the text through `sender`.
    Whatever fails is told through `notify` and journaled as a warning; trading goes on."""

    def record(payload: dict[str, Any], level: str) -> None:
        try:
            journal.event("daily_report", payload, level=level)
        except Exception as exc:  # a report must never stop trading
            notify(f"daily report event not journaled: {type(exc).__name__}: {exc}")

    def check(day: dt.date) -> None:
        paths: dict[str, str] = {}
        try:
            journal.flush()
            report = daily_report(read_inputs(journal.reader, run_id, run_dir), day)
            text = render(report, "text")
            for fmt in formats:
                rendered = text if fmt == "text" else render(report, fmt)
                paths[fmt] = str(write_text(report_path(run_dir, report, fmt), rendered))
        except Exception as exc:  # a report must never stop trading
            error = f"{type(exc).__name__}: {exc}"
            notify(f"daily report for {day} failed: {error}")
            record(
                {"date": day.isoformat(), "paths": paths, "sent": False, "error": error},
                "warning",
            )
            return
        payload: dict[str, Any] = {"date": day.isoformat(), "paths": paths, "sent": False}
        level = "info"
        if sender is not None:
            try:
                # queued for the sinks (delivery runs on the dispatcher's thread)
                payload["sent"] = sender.send_report(title_of(report), text) is not False
            except Exception as exc:  # a failing sink never stops trading
                payload["send_error"] = f"{type(exc).__name__}: {exc}"
                level = "warning"
                notify(f"daily report for {day} not sent: {payload['send_error']}")
        record(payload, level)
        # one a session: shown with --log-level debug (`parity status` names the latest)
        written = paths.get("text") or next(iter(paths.values()), "")
        notify(f"debug: daily report {day}: {written}")

    return check


def once_per_day(check: Callable[[dt.date], None]) -> Callable[[dt.date], None]:
    """`check` at most once per date, whichever trigger comes first (the wall-clock close or the
    first bar of the next date); thread-safe."""
    done: set[dt.date] = set()
    lock = threading.Lock()

    def once(day: dt.date) -> None:
        with lock:
            if day in done:
                return
            done.add(day)
        check(day)

    return once


def evening(day: dt.date) -> dt.datetime:
    """20:05 on `day`: after New York's extended session."""
    return dt.datetime.combine(day, dt.time(20, 5))


class SessionCloseTimer:
    """Calls `check(today)` once the exchange's wall clock (`now`, naive exchange time) passes
    `close(today)` (`ExchangeCalendar.report_time`: after the regular close, or 20:05 after New
    York's extended session; None: no session today) on a day the run received bars: with a live
    feed no bar of the next date arrives until the next morning, and the operator wants the
    day's report tonight. Replays (a parity venue) have no wall clock: their reports follow the
    bars only."""

    def __init__(
        self,
        check: Callable[[dt.date], None],
        *,
        traded_on: Callable[[dt.date], bool],
        now: Callable[[], dt.datetime],
        close: Callable[[dt.date], dt.datetime | None] = evening,
        poll_seconds: float = 30.0,
    ) -> None:
        self.check = check
        self.traded_on = traded_on
        self.now = now
        self.close = close
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """One look at the clock (the thread's loop; tests call it directly)."""
        now = self.now()
        for day in (now.date() - dt.timedelta(days=1), now.date()):  # 24/7: due after midnight
            due = self.close(day)
            if due is not None and now >= due and self.traded_on(day):
                self.check(day)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.tick()
            except Exception as exc:  # a report must never stop trading
                log.warning("daily report at the session close failed: %s", exc)

    def start(self) -> SessionCloseTimer:
        self._thread = threading.Thread(target=self._loop, name="parity-session-close", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def traded_on(journal: Any, run_id: str) -> Callable[[dt.date], bool]:
    """Whether the last bar the run received is of `day` (the run traded that day)."""

    def traded(day: dt.date) -> bool:
        last = journal.reader.last_bar(run_id)
        return last is not None and last.date() == day

    return traded
