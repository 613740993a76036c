"""Schema 2 of the journal: an order intent records its place (`leg` of a combo, `parent`: the
order it exits) and its instrument (`asset_class`, `multiplier`); a journal written by schema 1
is upgraded when opened, its rows kept and read with NULL in the new columns."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from parity import simulate
from parity.engine.simulate import Recording
from parity.feeds.bars import BarSeries
from parity.journal import Journal, JournalReader
from parity.journal.hook import OrderJournal
from parity.journal.schema import SCHEMA_VERSION
from parity.timeframe import parse_timeframe

T0 = dt.datetime(2024, 1, 2, 9, 30)
NEW_COLUMNS = ("leg", "parent", "asset_class", "multiplier")


def _journal(path: Path, run_id: str = "run-1") -> Journal:
    journal = Journal.open(path, create=True)
    journal.start_run(run_id, {"strategy": {"name": "t"}}, "backtest", "sim")
    return journal


def _version(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT value FROM schema_info WHERE key = 'schema_version'").fetchone()
    return str(row[0])


def test_intent_stores_leg_parent_and_instrument(tmp_path: Path) -> None:
    journal = _journal(tmp_path / "journal.sqlite")
    journal.intent("run-1-000001", seq=1, symbol="SPY", side="buy", qty=1, type="market",
                   decided_at=T0)  # fmt: skip
    journal.intent(
        "run-1-000002", seq=2, symbol="SPY240119C00450000", side="buy", qty=2, type="limit",
        limit_price=3.1, decided_at=T0, leg=1, parent="run-1-000001", asset_class="option",
        multiplier=100.0,
    )  # fmt: skip
    intents = journal.reader.intents("run-1")
    journal.close()
    first, second = intents.to_dict("records")
    assert (second["leg"], second["parent"], second["asset_class"], second["multiplier"]) == (
        1, "run-1-000001", "option", 100.0,
    )  # fmt: skip
    assert all(pd.isna(first[name]) for name in NEW_COLUMNS)  # a single order, no instrument


class Bracket(bt.Strategy):
    """One bracket on the third bar: the entry and its two exits."""

    def next(self) -> None:
        if len(self) == 3:
            close = self.data.close[0]
            self.buy_bracket(size=5, limitprice=close * 1.05, stopprice=close * 0.95,
                             exectype=bt.Order.Market)  # fmt: skip


def test_a_bracket_exit_names_its_entry_as_parent(tmp_path: Path) -> None:
    index = pd.date_range("2024-01-02", periods=10, freq="B", name="datetime")
    close = np.linspace(100, 110, 10)
    frame = pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1e6},
        index=index,
    ).astype("float64")
    bars = BarSeries("AAPL", frame, parse_timeframe("1d"), "test")
    journal = _journal(tmp_path / "journal.sqlite", "bt")
    orders = OrderJournal(journal, daily=True)
    simulate(bars, Bracket, recording=Recording(id_prefix="bt", journal=orders))
    journal.flush()
    intents = journal.reader.intents("bt")
    journal.close()
    assert intents["client_order_id"].tolist() == ["bt-000001", "bt-000002", "bt-000003"]
    assert pd.isna(intents["parent"].iloc[0])  # the entry has none
    assert intents["parent"].tolist()[1:] == ["bt-000001", "bt-000001"]
    assert intents["asset_class"].tolist() == ["us_equity"] * 3
    assert intents["multiplier"].tolist() == [1.0] * 3


def _make_schema_1(path: Path) -> None:
    """A journal as parity wrote it with schema 1: no new columns, version 1, one intent."""
    journal = _journal(path)
    journal.intent("run-1-000001", seq=1, symbol="SPY", side="buy", qty=3, type="market",
                   decided_at=T0)  # fmt: skip
    journal.close()
    with sqlite3.connect(path) as conn:
        for column in NEW_COLUMNS:
            conn.execute(f"ALTER TABLE order_intents DROP COLUMN {column}")
        conn.execute("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'")


def test_an_old_schema_journal_still_reads_and_takes_new_intents(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    _make_schema_1(path)
    assert _version(path) == "1"
    reader = JournalReader.open(path)
    old = reader.intents("run-1")
    reader.close()
    assert old["client_order_id"].tolist() == ["run-1-000001"]
    assert old["qty"].tolist() == [3]
    assert old[list(NEW_COLUMNS)].isna().all().all()  # NULL: written before schema 2
    assert _version(path) == str(SCHEMA_VERSION)
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(order_intents)")}
    assert set(NEW_COLUMNS) <= columns
    journal = Journal.open(path, create=False)  # a resumed run writes on
    journal.resume_run("run-1")
    journal.intent("run-1-000002", seq=2, symbol="SPY", side="sell", qty=3, type="market",
                   decided_at=T0, asset_class="us_equity", multiplier=1.0)  # fmt: skip
    both = journal.reader.intents("run-1")
    assert journal.reader.next_order_number("run-1") == 3
    journal.close()
    assert pd.isna(both["asset_class"].iloc[0]) and both["asset_class"].iloc[1] == "us_equity"


def test_an_upgraded_journal_opens_again_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    _make_schema_1(path)
    JournalReader.open(path).close()
    JournalReader.open(path).close()  # a second open has nothing to add
    assert _version(path) == str(SCHEMA_VERSION)


@pytest.mark.parametrize("version", ["0", "abc"])
def test_a_bad_version_is_still_refused(tmp_path: Path, version: str) -> None:
    from parity.errors import JournalError

    path = tmp_path / "journal.sqlite"
    _make_schema_1(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_info SET value = ? WHERE key = 'schema_version'", (version,))
    with pytest.raises(JournalError, match="bad schema version"):
        JournalReader.open(path)


def test_a_schema_2_journal_gains_the_fill_kind_and_reads_its_fills_as_trades(
    tmp_path: Path,
) -> None:
    """Schema 3 adds `fills.kind`: a journal written before reads its fills as trades and takes
    option event fills after the upgrade."""
    path = tmp_path / "journal.sqlite"
    journal = _journal(path)
    journal.intent("run-1-000001", seq=1, symbol="SPY", side="buy", qty=3, type="market",
                   decided_at=T0)  # fmt: skip
    journal.fill("run-1-000001", order_seq=1, symbol="SPY", side="buy", cum_qty=3, qty=3,
                 price=470.25, commission=0.0, at=T0, bar=0)  # fmt: skip
    journal.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE fills DROP COLUMN kind")
        conn.execute("UPDATE schema_info SET value = '2' WHERE key = 'schema_version'")
    journal = Journal.open(path, create=False)
    assert _version(path) == str(SCHEMA_VERSION) == "4"
    journal.resume_run("run-1")
    journal.intent("run-1-000002", seq=2, symbol="SPY240119P00470000", side="buy", qty=3,
                   type="assignment", decided_at=T0, asset_class="option",
                   multiplier=100.0)  # fmt: skip
    journal.fill("run-1-000002", order_seq=2, symbol="SPY240119P00470000", side="buy",
                 cum_qty=3, qty=3, price=0.0, commission=0.0, at=T0, bar=0,
                 kind="assignment")  # fmt: skip
    journal.flush()
    fills = journal.reader.fills("run-1")
    multipliers = journal.reader.multipliers("run-1")
    journal.close()
    assert fills["kind"].tolist() == ["trade", "assignment"]
    assert multipliers == {"SPY240119P00470000": 100.0}  # the old intent recorded none


def test_a_discarded_attempt_takes_its_option_events_along(tmp_path: Path) -> None:
    """The vectorised pass falling back to bar by bar re-runs the desk: its option events of
    the first attempt (written or buffered) go with its orders; other events stay."""
    journal = _journal(tmp_path / "journal.sqlite")
    journal.event("risk", {"rule": "max_position"})
    journal.event("option_expiry", {"symbol": "SPY240119P00470000"}, at=T0)
    journal.event("options_session", {"contracts": 0}, at=T0, durable=False)
    journal.discard_run_outputs()
    journal.flush()
    kinds = journal.reader.events("run-1")["kind"].tolist()
    journal.close()
    assert kinds == ["risk"]
