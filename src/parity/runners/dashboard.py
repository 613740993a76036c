"""`parity dashboard`'s composition: the dashboard over a runs directory, with the backtest
twin of a paper run computed the way the session-end divergence check computes it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from parity.dashboard import Catalog, DashboardServer, TwinWorker
from parity.defaults import DEFAULT_CASH
from parity.errors import ConfigError
from parity.manifest import Manifest


def tape_twin_equity(manifest: Manifest, tape: pd.DataFrame) -> pd.Series:
    """Equity of the backtest twin of a paper run on the bars it received (its tape): the
    journaled configuration (strategy, params, symbols, timeframe, costs, risk) and cash."""
    from parity.runners.paper import PaperConfig
    from parity.runners.session_divergence import tape_twin

    if not manifest.config:
        raise ConfigError("the run recorded no configuration: no twin can be built")
    config = PaperConfig.from_dict(manifest.config)
    cash = float(manifest.starting_cash or config.cash or DEFAULT_CASH)
    return tape_twin(config, tape, cash).equity["value"]


def dashboard_server(
    runs_dir: Path, *, host: str = "127.0.0.1", port: int = 0, twin_interval: float = 60.0
) -> DashboardServer:
    """The dashboard server (not started) over `runs_dir`."""
    worker = TwinWorker(tape_twin_equity, min_interval=twin_interval)
    return DashboardServer(Catalog(runs_dir), worker=worker, host=host, port=port)
