"""One configuration: the fields a backtest and a paper run share are declared and validated once
(`RunConfig`), every bad value is one line naming it, and `to_dict`/`from_dict` round-trip (and
read what older versions journaled)."""

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from parity.alerts.config import AlertConfig
from parity.cli import cli
from parity.config import (
    DEFAULT_CASH,
    DEFAULT_COMMISSION,
    DEFAULT_SLIPPAGE,
    BacktestConfig,
    RunConfig,
)
from parity.errors import ConfigError
from parity.risk.limits import RiskLimits
from parity.runners.paper_config import PaperConfig
from parity.timeframe import parse_timeframe

JAN, FEB = dt.date(2020, 1, 2), dt.date(2020, 2, 3)


@pytest.mark.parametrize(
    ("cls", "values", "message"),
    [
        (BacktestConfig, {"cash": 0.0}, "cash 0.0 must be a positive amount, e.g. --cash 100000"),
        (BacktestConfig, {"cash": float("nan")}, "cash nan must be a positive amount"),
        (PaperConfig, {"cash": -5.0}, "cash -5.0 must be a positive amount"),
        (BacktestConfig, {"commission": "5"}, "commission '5' has no unit"),
        (PaperConfig, {"commission": "5"}, "commission '5' has no unit"),
        (PaperConfig, {"slippage": "lots"}, "slippage term 'lots' is not understood"),
        (BacktestConfig, {"start": FEB, "end": JAN}, "--from 2020-02-03 is after --to 2020-01-02"),
        (PaperConfig, {"start": FEB, "end": JAN}, "--from 2020-02-03 is after --to 2020-01-02"),
        (BacktestConfig, {"symbols": ["AAPL"]}, "symbols ['AAPL'] must be tickers"),
        (PaperConfig, {"strategy": " "}, "strategy ' ' must be a name, e.g. sma_cross"),
        (PaperConfig, {"params": [("fast", 3)]}, "params [('fast', 3)] must be a mapping"),
        (BacktestConfig, {"timeframe": "1Day"}, "timeframe '1Day' must be e.g. 1Day"),
        (BacktestConfig, {"fill_at": "mid"}, "fill 'mid' must be 'open' (next bar) or 'close'"),
        (BacktestConfig, {"adjustment": "dividends"}, "adjustment 'dividends' must be one of"),
        (BacktestConfig, {"allow_short": "yes"}, "allow_short 'yes' must be true or false"),
        (PaperConfig, {"timeframe": None}, "timeframe None must be e.g. 1Min, 5Min or 1Day"),
        (PaperConfig, {"venue": "ib"}, "unknown venue 'ib'; choose one of alpaca, local, sim"),
        (PaperConfig, {"existing": "keep"}, "existing 'keep' must be one of refuse, adopt"),
        (PaperConfig, {"speed": 0.0}, "speed 0.0 must be max or a positive number, e.g. 60"),
        (PaperConfig, {"latency_ms": -1}, "latency -1 must be whole milliseconds >= 0"),
        (PaperConfig, {"volume_share": 0.0}, "volume share 0.0 must be in (0, 1], e.g. 0.1"),
        (PaperConfig, {"volume_share": 1.5}, "volume share 1.5 must be in (0, 1], e.g. 0.1"),
        (PaperConfig, {"backfill": -3}, "backfill -3 must be a number of bars >= 0"),
        (PaperConfig, {"poll_seconds": 0.0}, "poll seconds 0.0 must be positive, e.g. 30"),
    ],
)
def test_a_bad_value_is_one_line_naming_it(cls, values, message):
    with pytest.raises(ConfigError) as caught:
        cls(**values)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_the_shared_fields_are_declared_once_with_the_same_defaults():
    shared = [f.name for f in dataclasses.fields(RunConfig)]
    assert len(shared) == 16
    # a paper run has them as a backtest does (the ambiguity rule: the local venue's too)
    assert shared[-4:] == ["calendar", "session", "ambiguous", "finer"]
    for cls in (BacktestConfig, PaperConfig):
        assert [f.name for f in dataclasses.fields(cls)][: len(shared)] == shared
    backtest, paper = BacktestConfig(), PaperConfig()
    assert backtest.commission == paper.commission == DEFAULT_COMMISSION == "0"
    assert backtest.slippage == paper.slippage == DEFAULT_SLIPPAGE == "5bps"
    assert backtest.costs == paper.costs
    assert backtest.costs.slippage_pct == pytest.approx(0.0005)
    assert backtest.cash == DEFAULT_CASH == 100_000.0
    assert paper.cash is None  # a paper run trades the account's cash unless told
    assert backtest.session is paper.session is None  # resolved per strategy: regular unless
    assert backtest.ambiguous is paper.ambiguous is None  # the exit placed first fills


def _json(values):
    return json.loads(json.dumps(values))


def test_a_backtest_config_round_trips_through_json():
    config = BacktestConfig(
        strategy="rsi_reversion",
        params={"period": 10, "lower": 25.5},
        data="yahoo",
        symbols=("IBM", "MSFT"),
        timeframe=parse_timeframe("1Hour"),
        start=JAN,
        end=FEB,
        cash=25_000.0,
        commission="0.005/share,min=1",
        slippage="0.01/share",
        fill_at="close",
        allow_short=True,
        adjustment="all",
        preload=False,
        risk=RiskLimits(max_position_shares=100.0, max_drawdown=0.2),
    )
    recorded = _json(config.to_dict())
    assert recorded["timeframe"] == "1Hour" and recorded["start"] == "2020-01-02"
    assert recorded["risk"] == RiskLimits(max_position_shares=100.0, max_drawdown=0.2).describe()
    assert "runs_dir" not in recorded  # where a run is written is not part of what it is
    assert BacktestConfig.from_dict(recorded) == dataclasses.replace(config)


def test_a_paper_config_round_trips_through_json_without_its_secrets():
    config = PaperConfig(
        strategy="sma_cross",
        params={"fast": 3, "slow": 8},
        symbols=("IBM",),
        timeframe=parse_timeframe("5Min"),
        venue="local",
        data="sample:minute",
        start=JAN,
        end=FEB,
        speed=60.0,
        until=dt.datetime(2020, 2, 3, 15, 30),
        cash=10_000.0,
        commission="10bps",
        slippage="0",
        latency_ms=250,
        volume_share=0.1,
        backfill=30,
        poll_seconds=5.0,
        existing="adopt",
        flatten_on_exit=True,
        dry_run=True,
        risk=RiskLimits(max_orders_per_day=5),
        run_id="r1",
        replay_start="2020-01-02T11:00:00",
        divergence_check=True,
        alerts=AlertConfig(drawdown_pct=10.0, urls=("https://hooks.example/secret-token",)),
        daily_reports=False,
    )
    recorded = _json(config.to_dict())
    assert "secret-token" not in json.dumps(recorded)
    assert {"run_id", "existing", "runs_dir", "faults"}.isdisjoint(recorded)
    rebuilt = PaperConfig.from_dict(recorded, run_id="r1", existing="adopt")
    redacted = dataclasses.replace(config.alerts, urls=())
    assert rebuilt == dataclasses.replace(config, alerts=redacted)


def test_a_paper_config_journaled_by_an_older_version_still_loads():
    # PaperConfig.as_dict as the first resumable version wrote it (no alerts, daily reports,
    # replay start or divergence check), plus a key a later version might add
    recorded = {
        "strategy": "sma_cross", "params": {"fast": 5}, "symbols": ["IBM"],
        "timeframe": "1Min", "venue": "local", "data": "sample:minute",
        "start": "2013-10-01", "end": None, "speed": None, "until": "2013-10-04T16:00:00",
        "cash": 50000.0, "commission": "0", "slippage": "0", "latency_ms": 0,
        "volume_share": 1.0, "backfill": 10, "poll_seconds": 30.0,
        "flatten_on_exit": False, "dry_run": False,
        "risk": {"max_position_shares": 200}, "added_later": 1,
    }  # fmt: skip
    config = PaperConfig.from_dict(recorded, run_id="old-run")
    assert config.symbols == ("IBM",) and config.timeframe == parse_timeframe("1Min")
    assert config.start == dt.date(2013, 10, 1) and config.until == dt.datetime(2013, 10, 4, 16)
    assert config.cash == 50_000.0 and config.slippage == "0"  # what the run was given
    assert config.risk == RiskLimits(max_position_shares=200)
    assert config.alerts == AlertConfig() and config.daily_reports is True
    assert config.run_id == "old-run" and config.backfill == 10


def _defaults(*command: str) -> dict[str, object]:
    group = cli
    for name in command:
        group = group.commands[name]  # type: ignore[attr-defined]
    return {p.name: p.default for p in group.params if p.name in ("commission", "slippage", "cash")}


def test_every_command_that_simulates_fills_has_the_same_cost_defaults():
    backtest = _defaults("run", "backtest")
    assert backtest == {"cash": DEFAULT_CASH, "commission": "0", "slippage": "5bps"}
    assert _defaults("run", "paper") == {"cash": None, "commission": "0", "slippage": "5bps"}
    assert _defaults("venue", "serve") == backtest
    assert _defaults("train", "ppo") == backtest


@pytest.mark.parametrize("command", [["run", "backtest"], ["run", "paper"]])
def test_help_shows_the_shared_cost_defaults(command):
    result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--commission TEXT Simulated fills: 0, 0.005/share, 0.1%, 10bps;" in text
    assert "add ,min=1 for a minimum per order. [default: 0]" in text
    assert "against you. [default: 5bps]" in text


def test_a_run_file_and_flags_still_build_the_backtest_config(tmp_path: Path):
    from parity.config import build_config, read_run_file

    path = tmp_path / "run.yaml"
    path.write_text("symbols: ibm\nslippage: 0\ncash: 5000\n")
    config = build_config(read_run_file(path), {"commission": "1bps"})
    assert (config.symbols, config.slippage, config.cash) == (("IBM",), "0", 5000.0)
    assert config.costs.commission_pct == pytest.approx(0.0001)
    with pytest.raises(ConfigError, match=r"cash -1\.0 must be a positive amount"):
        build_config({"cash": -1.0}, {})


def test_the_ambiguity_rule_is_checked_at_the_boundary():
    with pytest.raises(ConfigError, match=r"--ambiguous 'sideways' is not a rule; use one of"):
        BacktestConfig(ambiguous="sideways")
    with pytest.raises(ConfigError, match=r"finer-data needs bars finer than the run's"):
        PaperConfig(ambiguous="finer-data")
    config = BacktestConfig(ambiguous="finer-data", finer="data/hourly")
    assert BacktestConfig.from_dict(_json(config.to_dict())) == config
