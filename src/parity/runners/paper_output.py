"""What a paper run leaves behind: a backtest's artifacts plus the tape of bars received.

Everything is journaled while the run goes (`journal.sqlite` in the run directory, or the
`PARITY_DB_URL` database); the CSV artifacts are exported from the journal at the end."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from typing import Any

import pandas as pd

from parity.analyzers.ledger import round_trips
from parity.analyzers.metrics import compute_metrics, daily_returns
from parity.analyzers.reasons import ambiguous_exits, annotate_trades
from parity.engine.ambiguity import PLACED_FIRST
from parity.errors import JournalError, ParityError
from parity.journal import BarRecord, Journal, run_journal_target
from parity.journal.columns import TAPE_COLUMNS
from parity.manifest import Manifest, StrategyRecord
from parity.options.setup import OptionsResult
from parity.runners.paper_config import PaperConfig
from parity.runstore import RunArtifacts, write_frame, write_run
from parity.strategies.params import resolved_params
from parity.venues.types import StreamBar
from parity.versions import library_versions

__all__ = ["TAPE_COLUMNS", "Tape", "open_paper_journal", "write_paper_run"]


class Tape:
    """Every bar received, in arrival order, with its source and arrival time (thread-safe).

    With a journal the bars go to its `bars` table (committed with the strategy's next bar);
    without one they are kept in memory. `taped` (a resumed run: the newest bar already on the
    tape per symbol) keeps the warm-up re-read from history off the tape."""

    def __init__(
        self, journal: Journal | None = None, taped: dict[str, dt.datetime] | None = None
    ) -> None:
        self.journal = journal
        self.rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._taped = dict(taped or {})

    def add(self, bar: StreamBar) -> None:
        seen = self._taped.get(bar.symbol)
        if seen is not None and bar.start <= seen:
            return
        received = dt.datetime.fromtimestamp(bar.received_at or time.time(), dt.UTC)
        if self.journal is not None:
            record = BarRecord(
                bar.symbol, bar.start, bar.open, bar.high, bar.low, bar.close, bar.volume,
                bar.source, received,
            )  # fmt: skip
            try:
                self.journal.bars([record])
            except JournalError:
                if not self.journal.closed:
                    raise
                # a bar arriving after the run ended and its journal closed is not the run's
            return
        row = {
            "symbol": bar.symbol,
            "datetime": bar.start,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
            "source": bar.source,
            "received_at": received,
        }
        with self._lock:
            self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        if self.journal is not None and self.journal.run_id is not None:
            self.journal.flush()
            return self.journal.reader.tape(self.journal.run_id)
        with self._lock:
            return pd.DataFrame(list(self.rows), columns=TAPE_COLUMNS)


def open_paper_journal(
    config: PaperConfig,
    *,
    spec: Any,
    params: dict[str, Any],
    run_id: str,
    venue: str,
    extra: dict[str, Any] | None = None,
    resume: bool = False,
) -> Journal:
    """Create the run's journal and record the run as running (the full manifest is recorded
    when the run ends); with `resume`, reopen it and mark the run running again."""
    journal = Journal.open(run_journal_target(config.runs_dir / run_id), create=not resume)
    if resume:
        try:
            journal.resume_run(run_id)
            if extra and extra.get("config"):  # a continued day's params (its plan) and end:
                # what a crash of this process is resumed with
                recorded = dict(journal.reader.run(run_id).manifest)
                journal.set_manifest({**recorded, "config": extra["config"]})
        except BaseException:
            journal.close()
            raise
        return journal
    try:
        journal.start_run(
            run_id,
            {
                **Manifest(
                    run_id=run_id,
                    mode="paper",
                    venue=venue,
                    dry_run=config.dry_run,
                    strategy=StrategyRecord.from_spec(spec),
                    params=resolved_params(spec.cls, params),
                    symbols=tuple(config.symbols),
                    timeframe=config.timeframe.name,
                    **_market(config),
                ).to_dict(),
                **(extra or {}),
            },
            mode="paper",
            venue=venue,
            pid=os.getpid(),
        )
    except BaseException:
        journal.close()
        raise
    return journal


def _market(config: PaperConfig) -> dict[str, Any]:
    """The manifest's market fields: the run's currency, exchange calendar (zone and
    annualisation: reports read them) and traded session."""
    from parity.feeds.currency import check_one_currency
    from parity.feeds.loader import run_calendar

    return {
        "currency": check_one_currency(list(config.symbols)) or "USD",
        "calendar": run_calendar(config.symbols, config.calendar).describe(),
        "session": config.session or "regular",
    }


def close_paper_journal(journal: Journal | None, status: str) -> None:
    """Mark the run `finished`/`crashed` and close the journal; never masks the run's error."""
    if journal is None:
        return
    try:
        if journal.run_id is not None:
            journal.finish_run(status)
    except ParityError:
        if status == "finished":
            raise
    finally:
        journal.close()


def _created_at(reader: Any, run_id: str) -> str:
    stamp = reader.run(run_id).created_at  # naive UTC, or aware from some databases
    stamp = stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
    return str(stamp.isoformat(timespec="microseconds"))


def _one_row_per_bar(equity: pd.DataFrame) -> pd.DataFrame:
    """Equity in bar order, one row per bar time (the last written wins): a journal written by
    a version that recorded a resumed run's warm-up again holds some bars twice."""
    if equity.index.is_unique and equity.index.is_monotonic_increasing:
        return equity
    return equity[~equity.index.duplicated(keep="last")].sort_index()


def _numbered(fills: pd.DataFrame, equity: pd.DataFrame) -> pd.DataFrame:
    """Fills with a bar number each: one journaled without (an older version's resume recorded
    fills made while the run was down so) gets the bar of its time on the equity curve."""
    missing = fills["bar"].isna() if len(fills) else pd.Series(dtype=bool)
    if not missing.any():
        return fills
    fills = fills.copy()
    at = pd.DatetimeIndex(fills.loc[missing, "datetime"])
    fills.loc[missing, "bar"] = equity.index.searchsorted(at, side="right").clip(1) - 1
    fills["bar"] = fills["bar"].astype("int64")
    return fills


def write_paper_run(
    config: PaperConfig,
    *,
    spec: Any,
    params: dict[str, Any],
    run_id: str,
    strategy: Any,
    venue: str,
    warnings: list[str],
    stopped_by: str,
    journal: Journal,
) -> tuple[Any, dict[str, Any]]:
    """Write the run directory from the journal; returns it and the metrics."""
    journal.flush()
    reader, run = journal.reader, journal.run_id or run_id
    recorded = Manifest.from_dict(reader.run(run).manifest, run_id=run)  # the start's record
    equity = _one_row_per_bar(reader.equity(run))
    fills = _numbered(reader.fills(run), equity)
    orders = reader.orders(run)
    decisions = reader.decisions(run)
    rule = config.ambiguous or PLACED_FIRST
    # option contracts' round trips are booked at the multipliers their orders recorded
    multipliers = reader.multipliers(run)
    trades = annotate_trades(round_trips(fills, multipliers), fills, decisions, rule=rule)
    cash = float(strategy.broker.startingcash)
    market = _market(config)
    periods = int(market["calendar"]["periods_per_year"])
    metrics = compute_metrics(equity, trades, fills, starting_cash=cash, periods=periods)
    ambiguous = ambiguous_exits(decisions)
    if ambiguous is not None:  # exits at a take-profit/stop-loss: how many the rule decided
        metrics.update(ambiguous_exits=ambiguous, ambiguity_rule=rule)
    returns = daily_returns(equity["value"], cash) if len(equity) else pd.Series(dtype=float)
    tape_frame = reader.tape(run)
    manifest = Manifest(
        run_id=run_id,
        mode="paper",
        venue=venue,
        dry_run=config.dry_run,
        # when the run was created (its journal's stamp), not when it ended: `latest` is the
        # run created last, whatever ran longest
        created_at=_created_at(reader, run),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        strategy=StrategyRecord.from_spec(spec),
        params=resolved_params(spec.cls, params),
        symbols=tuple(config.symbols),
        timeframe=config.timeframe.name,
        **market,
        data={"source": config.data_source_label(), "bars_received": len(tape_frame)},
        costs=config.costs.describe(),
        commission=config.commission,
        slippage=config.slippage,
        latency_ms=config.latency_ms,
        volume_share=config.volume_share,
        speed="max" if config.speed is None else config.speed,
        fill_at="open",
        cash=cash,
        start=equity.index[0].isoformat() if len(equity) else None,
        end=equity.index[-1].isoformat() if len(equity) else None,
        stopped_by=stopped_by,
        config=config.to_dict(),  # what `--resume` rebuilds the run from
        starting_cash=cash,
        account_cash=recorded.account_cash,
        live_from=recorded.live_from,
        risk=config.risk.describe() if config.risk else None,
        warnings=tuple(warnings),
        versions=library_versions(),
    )
    run_dir = config.runs_dir / run_id
    write_run(run_dir, RunArtifacts(manifest, metrics, equity, returns, trades, orders, fills))
    write_frame(run_dir / "tape.csv", tape_frame)
    desk = getattr(strategy.broker, "options", None)
    if desk is not None:  # as a backtest's: options_orders/fills/trades/greeks.csv
        OptionsResult.of(desk).write(run_dir)
        taped = getattr(desk, "tape_frame", None)
        # the quotes the run received (the option tape), unless written as they came
        if callable(taped) and getattr(desk, "tape_sink", None) is None:
            write_frame(run_dir / "option_tape.csv", taped())
    journal.set_manifest(manifest.to_dict())
    return run_dir, metrics
