"""Against the real Alpaca paper API: run with `python -m pytest -m live` and keys in the
environment (APCA_API_KEY_ID / APCA_API_SECRET_KEY). Skipped by default and without keys."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from parity.runners.paper import PaperConfig, new_york_now, run_paper, validate_paper
from parity.venues.alpaca.client import AlpacaStore
from parity.venues.alpaca.config import AlpacaCredentials, AlpacaEndpoints

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("APCA_API_KEY_ID") or os.environ.get("ALPACA_API_KEY")),
        reason="needs Alpaca paper keys in the environment",
    ),
]


def test_validate_only_against_alpaca_paper():
    lines: list[str] = []
    report = validate_paper(PaperConfig(symbols=("AAPL",)), lines.append)
    assert report["assets"]["AAPL"]["tradable"]
    assert any(line.startswith("account") for line in lines)


def test_history_bars_from_alpaca():
    store = AlpacaStore(AlpacaCredentials.from_env(), AlpacaEndpoints.from_env())
    end = dt.datetime.now() - dt.timedelta(days=1)
    bars = store.history_bars("AAPL", end - dt.timedelta(days=5), end)
    assert bars and all(b.start < end for b in bars)


def test_dry_run_for_two_minutes(tmp_path):
    until = new_york_now() + dt.timedelta(minutes=2)
    result = run_paper(
        PaperConfig(symbols=("AAPL",), dry_run=True, until=until, backfill=30, runs_dir=tmp_path)
    )
    assert (result.run_dir / "tape.csv").is_file()
