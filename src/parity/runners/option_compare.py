"""`compare` for a paper run that traded options: its two twins, the matched ledger, the gap's
attribution and the assumptions table (`analyzers.option_attribution`, `analyzers.assumptions`).

Both twins run the strategy on the bars the paper run received (`tape.csv`), with the paper
run's equity costs (`runners.twins.twin_config`) and the options desk's assumptions it recorded
(`PaperConfig.options`, over the strategy's own: what `run backtest` would assume):

* ``model-twin``: on the model chain (the backtest);
* ``tape-twin``: on the quotes the run received (`option_tape.csv`, `options.taped`).

Written to `PAPER_RUN/compare/`: both twins' run directories, `options_ledger.csv`,
`assumptions.csv`, `compare.json` and the report `divergence.html`
(`reports.option_compare_html`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from parity.analyzers.assumptions import Bands, check_expect, row, table_text, write_table
from parity.analyzers.option_attribution import (
    COMPONENTS,
    Leg,
    OptionRun,
    attribute,
    touch,
)
from parity.errors import DataError
from parity.instruments.money import run_currency
from parity.options.setup import OptionsSetup
from parity.options.taped import TapedSetup
from parity.reports.option_compare_html import write_html
from parity.runners.twins import (
    TwinSettings,
    _check_source,
    _tape_bars,
    _twin_run,
    tape_frames,
    twin_config,
)
from parity.runstore import RunRecord

Notify = Callable[[str], None]
STATUS = {"excellent": ("PASS", 0), "acceptable": ("WARN", 1), "concerning": ("FAIL", 2)}


REPORT = "divergence.html"  # in compare/: the options compare's page


@dataclass(frozen=True)
class OptionCompare:
    figures: dict[str, Any]  # compare.json
    text: str  # the console output


def trades_options(record: RunRecord) -> bool:
    """A paper run whose desk traded options (it wrote its option tape)."""
    return (record.path / "option_tape.csv").is_file()


def _read(directory: Path, name: str) -> pd.DataFrame:
    path = directory / name
    if not path.is_file():
        raise DataError(f"{path} is missing: the run wrote no {name}; compare needs it")
    return pd.read_csv(path)


def _run(name: str, directory: Path, cash: float) -> OptionRun:
    return OptionRun(
        name,
        _read(directory, "options_fills.csv"),
        _read(directory, "options_trades.csv"),
        _read(directory, "options_orders.csv"),
        _read(directory, "equity.csv"),
        cash,
    )


def compare_options(
    record: RunRecord,
    settings: TwinSettings,
    *,
    staging: Path,
    bands: Bands,
    expect: Mapping[str, float] | None,
    warn: Notify,
) -> OptionCompare:
    """Run both twins into `staging`, write the ledger, table and compare.json there."""
    expected = check_expect(expect)
    said: list[str] = []  # the warnings, for the page too

    def note(text: str) -> None:
        said.append(text)
        warn(text)

    spec = _check_source(record, settings.allow_code_change, note)
    manifest = record.manifest
    config = manifest.config or {}
    setup = OptionsSetup.for_strategy(spec.cls, config.get("options"))
    loaded = _tape_bars(manifest, tape_frames(record.path / "tape.csv"))
    backtest = twin_config(manifest, settings, "tape")
    underlying = (setup.underlying or manifest.symbols[0]).upper()
    found = [s.frame["close"] for s in loaded.series if s.symbol.upper() == underlying]
    if not found:
        raise DataError(
            f"run {record.run_id} received no bars of {underlying}, its options' underlying; "
            "the twins cannot price its chain"
        )
    closes = found[0]
    taped = TapedSetup(
        **{f.name: getattr(setup, f.name) for f in fields(OptionsSetup)},
        tape=record.path / "option_tape.csv",
        closes=closes,
    )
    staging.mkdir(parents=True, exist_ok=True)
    _twin_run(backtest, spec, loaded, "model-twin", staging / "model-twin", options=setup)
    _twin_run(backtest, spec, loaded, "tape-twin", staging / "tape-twin", options=taped)
    cash = float(manifest.extra.get("starting_cash") or manifest.cash or backtest.cash)
    paper = _run("paper", record.path, cash)
    model = _run("model-twin", staging / "model-twin", backtest.cash)
    tape = _run("tape-twin", staging / "tape-twin", backtest.cash)
    multiplier = setup.model.multiplier
    figures, ledger, legs = attribute(paper, tape, model, multiplier)
    rows = assumption_rows(setup, paper, model, legs, multiplier, bands, expected)
    ledger.to_csv(staging / "options_ledger.csv", index=False)
    write_table(rows, staging / "assumptions.csv")
    worst = max((r["verdict"] for r in rows), key=list(STATUS).index, default="excellent")
    status, code = STATUS[worst]
    figures = {
        "mode": "options",
        "live_run": record.run_id,
        "compared_with": "its twins on the model chain and on the received quotes",
        "currency": run_currency(manifest),
        **figures,
        "assumptions": rows,
        "bands": {"excellent": bands.excellent, "acceptable": bands.acceptable},
        "expect": expected,
        "verdict": {
            "status": status,
            "exit_code": code,
            "concerning": [r["item"] for r in rows if r["verdict"] == "concerning"],
        },
    }
    (staging / "compare.json").write_text(
        json.dumps(figures, indent=2, default=str, allow_nan=False) + "\n"
    )
    text = summary(figures, bands)
    curves = {"live": paper, "tape": tape, "reference": model}
    write_html(
        {**figures, "warnings": said},
        pd.read_csv(staging / "options_ledger.csv"),  # the page shows the file, as written
        {key: _curve(run) for key, run in curves.items()},
        staging / REPORT,
        details=text,
    )
    return OptionCompare(figures, text)


def _curve(run: OptionRun) -> pd.Series:
    equity = run.equity
    return pd.Series(
        equity["value"].astype(float).to_numpy(), index=pd.to_datetime(equity["datetime"])
    )


def assumption_rows(
    setup: OptionsSetup,
    paper: OptionRun,
    model: OptionRun,
    legs: list[Leg],
    multiplier: float,
    bands: Bands,
    expect: Mapping[str, float],
) -> list[dict[str, Any]]:
    """The assumptions table's rows (`analyzers.assumptions`)."""
    spreads, slips, fees, assumed_fees = [], [], [], []
    for leg in legs:
        fill, quote = leg.row, leg.tape
        n = abs(float(fill["qty"]))
        fees.append((float(fill["commission"]) + float(fill["fees"])) / n)
        price = float(fill["price"])
        assumed_fees.append(
            (setup.costs.commission(int(fill["qty"]), price) + setup.costs.fees(int(fill["qty"])))
            / n
        )
        if quote is None:
            continue
        mid, side = float(quote["mid"]), touch(quote, multiplier)
        twin = leg.model
        assumed_half = None if twin is None else abs(touch(twin, multiplier) - twin["mid"])
        if assumed_half:  # the half spread paid over the model's on the same fill, in its terms
            spreads.append(setup.model.half_spread * abs(side - mid) / assumed_half)
        if side > 0:
            slips.append(abs(price - side) / side)
    fee_assumed = (
        round(math.fsum(assumed_fees) / len(assumed_fees), 4)
        if assumed_fees
        else setup.costs.commission_per_contract
    )
    ours, theirs = outcomes(paper), outcomes(model)
    out = [
        row("spread", setup.model.half_spread, spreads, bands, digits=5),
        row("slippage", setup.costs.slippage, slips, bands, digits=5),
        row("fees_per_contract", fee_assumed, fees, bands, digits=4),
    ]
    for key in ("execution_rate", "win_rate", "daily_pnl", "days_traded"):
        figure, values = ours[key]
        assumed = float(expect.get(key, theirs[key][0]))
        out.append(row(key, assumed, values, bands, measured=figure, spread=key == "daily_pnl"))
    return out


def outcomes(run: OptionRun) -> dict[str, tuple[float, list[float]]]:
    """execution rate, win rate, daily P&L, days traded: (the figure, what it is made of)."""
    # an order still working when the run ended (sent on its last bar) is no miss yet
    orders = run.orders[run.orders["status"] != "submitted"] if len(run.orders) else run.orders
    filled = (orders["status"] == "filled").astype(float).tolist() if len(orders) else []
    closed = run.trades[run.trades["closed"].notna()] if len(run.trades) else run.trades
    wins = (closed["pnl"] > 0).astype(float).tolist() if len(closed) else []
    values = run.equity.set_index(pd.to_datetime(run.equity["datetime"]))["value"]
    by_day = values.groupby(values.index.date).last()
    daily = by_day.diff().fillna(by_day.iloc[0] - run.cash).tolist() if len(by_day) else []
    trades = run.fills[run.fills["kind"] == "trade"]
    days = sorted({str(d)[:10] for d in trades["datetime"]})
    return {
        "execution_rate": (sum(filled) / len(filled) if filled else 0.0, filled),
        "win_rate": (sum(wins) / len(wins) if wins else 0.0, wins),
        "daily_pnl": (round(math.fsum(daily) / len(daily), 2) if daily else 0.0, daily),
        "days_traded": (float(len(days)), [1.0] * len(days)),
    }


def summary(figures: Mapping[str, Any], bands: Bands) -> str:
    """The console output of an options compare."""
    money = figures["pnl"]
    lines = [
        f"options compare: {figures['live_run']} against {figures['compared_with']}",
        f"P&L: paper {money['paper']:,.2f} | twin on the received quotes "
        f"{money['tape_twin']:,.2f} | twin on the model chain {money['model_twin']:,.2f}",
        f"data divergence (received quotes - model): "
        f"{round(figures['data_divergence'], 2) + 0.0:,.2f}; "
        f"execution divergence (fills - received quotes): "
        f"{round(figures['execution_divergence'], 2) + 0.0:,.2f}",
        "combos: " + ", ".join(f"{n} {k}" for k, n in figures["combos"].items()),
        f"gap (paper - model twin): {figures['gap']:,.2f}",
    ]

    def cents(value: float) -> str:  # -0.001 prints 0.00, not -0.00
        return f"{round(value, 2) + 0.0:>12,.2f}"

    labels = {"missed_partial": "missed/partial combos", "exit_timing": "exit timing"}
    for name in COMPONENTS:
        lines.append(f"  {labels.get(name, name):<24}{cents(figures['components'][name])}")
    total = math.fsum(figures["components"].values())
    lines.append(f"  {'sum':<24}{cents(total)}")
    lines += table_text(figures["assumptions"], bands)
    verdict = figures["verdict"]
    tail = f" ({', '.join(verdict['concerning'])} concerning)" if verdict["concerning"] else ""
    lines.append(f"verdict: {verdict['status']}{tail}")
    return "\n".join(lines)
