"""What a finished run was, in a few lines (printed above its metrics), and the commands worth
running next (printed after it)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parity.instruments.money import format_money, run_currency
from parity.manifest import Manifest

PRICES = {
    "splits": "adjusted for splits",
    "all": "adjusted for splits and dividends",
    "raw": "raw prices",
}


def run_header(manifest: Manifest, metrics: Mapping[str, Any]) -> list[str]:
    """`ran`, `bars`, `equity` and `costs` lines: strategy and params, symbols, timeframe,
    window, data and its adjustment, starting and final equity, costs."""
    currency = run_currency(manifest)
    params = ", ".join(f"{k}={v}" for k, v in manifest.params.items()) or "defaults"
    kind = "paper run" if manifest.is_paper else "backtest"
    venue = f" on the {manifest.venue} venue" if manifest.is_paper else ""
    window = f"{str(manifest.start or '?')[:10]}..{str(manifest.end or '?')[:10]}"
    adjustment = manifest.data.get("adjustment")
    prices = PRICES.get(str(adjustment), str(adjustment)) if adjustment else ""
    source = manifest.data_source or "?"
    start = manifest.initial_cash
    total = metrics.get("total_return")
    equity = "n/a"
    if start is not None:
        equity = format_money(start, currency)
        if total is not None:
            equity += f" → {format_money(start * (1.0 + total), currency)} ({total * 100:+.2f}%)"
    fill = f", fill at {manifest.fill_at}" if manifest.fill_at else ""
    return [
        f"ran       {kind}{venue} of {manifest.strategy.name or '?'} ({params})",
        f"bars      {','.join(manifest.symbols)} {manifest.timeframe or '?'} {window}, "
        f"{source} data{', ' + prices if prices else ''}",
        f"equity    {equity}",
        f"costs     commission {manifest.commission or '0'}, slippage "
        f"{manifest.slippage or '0'}{fill}",
    ]


def next_steps(manifest: Manifest, run_id: str, runs_dir: Path) -> list[str]:
    """The commands worth running next on this run, ready to paste."""
    where = "" if Path(runs_dir) == Path("runs") else f" --runs-dir {shlex.quote(str(runs_dir))}"
    steps = [(f"parity report tearsheet {run_id}{where}", "HTML tearsheet (QuantStats)")]
    if manifest.is_paper:
        # a run that traded options (it wrote its option tape) gets the options compare's page
        options = (Path(runs_dir) / run_id / "option_tape.csv").is_file()
        page = "compare/divergence.html" if options else "divergence.html"
        steps += [
            (f"parity compare {run_id}{where}", f"against its backtest twin: {page}"),
            (f"parity report daily {run_id}{where}", "the last session's report"),
        ]
    else:
        steps += [
            (
                f"parity compare {run_id} --against OTHER_RUN{where}",
                "what-if: against another backtest (params or costs)",
            ),
        ]
    steps.append((f"parity dashboard{where}", "every run in the browser"))
    width = max(len(command) for command, _ in steps)
    return ["next:", *(f"  {command:<{width}}  # {what}" for command, what in steps)]
