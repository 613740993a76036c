"""`parity dashboard`: a local web app over the runs directory (aiohttp, a bundled chart
library, no request leaves the machine). It reads run journals read-only; the backtest twin of
a live paper run is computed by a provider injected from the composition root (`runners`)."""

from __future__ import annotations

from parity.dashboard.app import build_app
from parity.dashboard.catalog import Catalog
from parity.dashboard.server import DashboardServer
from parity.dashboard.twin import TwinProvider, TwinWorker

__all__ = ["Catalog", "DashboardServer", "TwinProvider", "TwinWorker", "build_app"]
