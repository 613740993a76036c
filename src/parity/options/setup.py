"""`OptionsSetup`: what a run's options desk is made of (chain source and its assumptions,
costs, rules), as the runner hands it to the simulation. Building the desk needs the run's
calendar and bars (`build`); describing it (the manifest) does not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from parity.instruments import instrument_for
from parity.instruments.calendars import ExchangeCalendar
from parity.options.book import Book
from parity.options.chain import ChainSource
from parity.options.costs import OptionCosts
from parity.options.desk import OptionsDesk
from parity.options.lifecycle import LifecycleRules
from parity.options.model import ModelChain, ModelChainParams
from parity.options.rules import DeskRules


@dataclass(frozen=True, kw_only=True)
class OptionsSetup:
    model: ModelChainParams = field(default_factory=ModelChainParams)
    quotes: Path | None = None  # recorded quotes (CSV/parquet): used instead of the model
    costs: OptionCosts = field(default_factory=OptionCosts)
    rules: DeskRules = field(default_factory=DeskRules)
    underlying: str | None = None  # None: the run's first symbol

    @classmethod
    def for_strategy(
        cls, strategy: type, overrides: Mapping[str, Any] | None = None
    ) -> OptionsSetup:
        """The strategy's own chain defaults (`option_model`, e.g. a cash-settled index with a
        lot size) with `overrides` on top: `model`, `costs` and `rules` field dicts, `quotes`,
        `underlying`."""
        given = dict(overrides or {})
        model = replace(
            getattr(strategy, "option_model", ModelChainParams()), **given.get("model", {})
        )
        costs = replace(OptionCosts(), **given.get("costs", {}))
        lifecycle = replace(LifecycleRules(), **given.get("lifecycle", {}))
        rules = DeskRules(lifecycle=lifecycle, **given.get("rules", {}))
        quotes = given.get("quotes")
        return cls(
            model=model,
            quotes=Path(quotes) if quotes else None,
            costs=costs,
            rules=rules,
            underlying=given.get("underlying") or getattr(strategy, "option_underlying", None),
        )

    def with_iv_mult(self, value: float) -> OptionsSetup:
        return replace(self, model=replace(self.model, iv_mult=value))

    def source(self, underlying: str, calendar: ExchangeCalendar, currency: str) -> ChainSource:
        if self.quotes is not None:
            from parity.options.recorded import RecordedQuotes

            return RecordedQuotes.load(self.quotes, underlying, calendar, self.model)
        return ModelChain(underlying, calendar, self.model, currency)

    def build(
        self,
        symbols: tuple[str, ...],
        calendar: ExchangeCalendar,
        *,
        fill_at: Literal["open", "close"],
        daily: bool,
        bar_period: dt.timedelta,
    ) -> OptionsDesk:
        underlying = (self.underlying or symbols[0]).upper()
        currency = instrument_for(underlying).currency
        return OptionsDesk(
            self.source(underlying, calendar, currency),
            calendar,
            costs=self.costs,
            rules=self.rules,
            fill_at=fill_at,
            daily=daily,
            bar_period=bar_period,
        )

    def describe(self) -> dict[str, Any]:
        chain = (
            {
                "source": "recorded",
                "path": str(self.quotes),
                "rate": self.model.rate,
                "dividend_yield": self.model.dividend_yield,
            }
            if self.quotes is not None
            else self.model.describe()
        )
        return {
            "underlying": self.underlying,
            "chain": chain,
            "costs": self.costs.describe(),
            "rules": self.rules.describe(),
        }


@dataclass(frozen=True)
class OptionsResult:
    """A run's options artifacts: `options_orders.csv`, `options_fills.csv` (one row per leg
    and per lifecycle event, with its kind), `options_trades.csv` (one row per combo trade
    with its legs), `options_greeks.csv` (the daily Greeks and exposure), and the summary."""

    orders: pd.DataFrame
    fills: pd.DataFrame
    trades: pd.DataFrame
    greeks: pd.DataFrame
    metrics: dict[str, Any]
    summary: tuple[str, ...]
    positions: pd.DataFrame | None = None  # `options_positions.csv`: Greeks per contract

    @classmethod
    def of(cls, desk: OptionsDesk) -> OptionsResult:
        book: Book = desk.book
        figures = book.cost_breakdown()
        return cls(
            book.orders_frame(),
            book.fills_frame(),
            book.trades_frame(),
            book.greeks_frame(),
            {**figures, "assumptions": desk.describe()},
            (*desk.summary(), results_line(figures)),
            book.positions_frame(),
        )

    def write(self, run_dir: Path) -> None:
        for name in ("orders", "fills", "trades", "greeks"):
            getattr(self, name).to_csv(run_dir / f"options_{name}.csv", index=False)
        if self.positions is not None:
            self.positions.to_csv(run_dir / "options_positions.csv", index=False)


def results_line(figures: Mapping[str, Any]) -> str:
    """The run summary's line of option results and what trading them cost."""
    costs = figures["costs"]
    n = figures["contracts_traded"]
    win = figures["win_rate"]
    per_session = figures["pnl_per_session"]
    traded = figures["sessions_traded"]
    return (
        f"options: {figures['trades']} trades closed, win rate "
        f"{'n/a' if win is None else f'{win:.1%}'}, P&L {figures['pnl']:,.2f}"
        + (
            ""
            if per_session is None
            else f" ({per_session:,.2f} a session, {traded:.1%} of sessions traded)"
        )
        + f"; costs {costs['total']:,.2f} on {n:,} contracts (spread {costs['spread_cost']:,.2f}, "
        f"slippage {costs['slippage_cost']:,.2f}, commission {costs['commission']:,.2f}, "
        f"fees {costs['fees']:,.2f})"
    )
