"""Every `parity` command through click's CliRunner, each test with its own runs directory."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from parity.cli import cli
from parity.feeds.sample import sample_path
from parity.reports.labels import METRIC_LABELS

WINDOW = ["--from", "2011-01-01", "--to", "2012-12-31"]
FAST = ["--param", "fast=5", "--param", "slow=20"]
METRICS = [
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_duration_days",
    "calmar",
    "win_rate",
    "profit_factor",
    "expectancy",
    "avg_win",
    "avg_loss",
    "trades",
    "exposure",
    "turnover",
]
COLUMNS = {
    "equity.csv": ["datetime", "value", "cash"],
    "returns.csv": ["date", "return"],
    "trades.csv": [
        "symbol",
        "side",
        "entry_time",
        "exit_time",
        "entry_price",
        "exit_price",
        "qty",
        "pnl_gross",
        "pnl_net",
        "commission",
        "bars_held",
    ],
    "orders.csv": [
        "order_id",
        "client_order_id",
        "symbol",
        "side",
        "type",
        "qty",
        "limit_price",
        "stop_price",
        "submitted_at",
        "status",
        "reason",
        "filled_qty",
        "avg_fill_price",
        "commission",
        "leg",
        "parent",
    ],
    "fills.csv": [
        "datetime",
        "bar",
        "symbol",
        "side",
        "qty",
        "price",
        "commission",
        "order_id",
        "client_order_id",
        "kind",
    ],
}


@pytest.fixture(autouse=True)
def _no_runs_dir_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARITY_RUNS_DIR", raising=False)


def parity(*args: str | Path) -> Result:
    runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], prog_name="parity", terminal_width=200)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def backtest(runs: Path, *args: str | Path) -> dict:
    """`parity run backtest ... --json` → the JSON object."""
    result = ok(parity("run", "backtest", *args, "--runs-dir", runs, "--json"))
    return json.loads(result.stdout)


def assert_error(result: Result, code: int, *fragments: str) -> str:
    """Exit `code`, exactly one `error:` line on stderr naming `fragments`, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def read(run_dir: str | Path, name: str) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / name)


def manifest(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "manifest.json").read_text())


def sample_bars(symbol: str) -> pd.DataFrame:
    frame = pd.read_csv(sample_path(symbol, "daily"), parse_dates=["datetime"])
    return frame.set_index(frame["datetime"].dt.strftime("%Y-%m-%d"))


@pytest.fixture(scope="module")
def _template_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    """Two short runs (sma_cross, buy_and_hold on IBM 2011-2012), made once and copied per test."""
    runs = tmp_path_factory.mktemp("template") / "runs"
    first = backtest(runs, "sma_cross", *WINDOW, *FAST)
    second = backtest(runs, "buy_and_hold", *WINDOW)
    yield runs, [first["run_id"], second["run_id"]]


@pytest.fixture
def two_runs(tmp_path: Path, _template_runs: tuple[Path, list[str]]) -> tuple[Path, list[str]]:
    template, ids = _template_runs
    runs = tmp_path / "runs"
    shutil.copytree(template, runs)
    return runs, ids


# -------------------------------------------------------------------------------------- help


HELP = [
    ([], ["run", "runs", "report", "strategies", "--debug", "--version"]),
    (["run"], ["backtest"]),
    (
        ["run", "backtest"],
        [
            "[STRATEGY]",
            "[default: sample]",
            "[default: 100000.0]",
            "[default: 0]",
            "[default: 5bps]",
            "[default: open]",
            "[default: no-short]",
            "[default: adjusted for splits where the data says where they are]",
            "[default: runs]",
            "--param",
            "--config",
            "--json",
            "--no-preload",
        ],
    ),
    (["runs"], ["list", "show"]),
    (["runs", "list"], ["[default: runs]", "--json"]),
    (["runs", "show"], ["RUN", "latest", "[default: runs]", "--json"]),
    (["report"], ["tearsheet"]),
    (["report", "tearsheet"], ["RUN", "[default: buy-and-hold]", "[default: runs]", "--out"]),
    (["strategies"], ["List the bundled strategies"]),
]


@pytest.mark.parametrize(("command", "expected"), HELP, ids=lambda v: " ".join(v) or "parity")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(command: list[str], expected: list[str], flag: str) -> None:
    result = ok(parity(*command, flag))
    text = " ".join(result.stdout.split())
    assert f"Usage: parity {' '.join(command)}".strip() in text
    for fragment in expected:
        assert fragment in text, fragment


def test_version() -> None:
    assert ok(parity("--version")).stdout.startswith("parity, version ")


# ------------------------------------------------------------------------------- run backtest


def written(lines: list[str]) -> int:
    """The index of the `run ID written to DIR` line (the next-step hints follow it)."""
    return next(i for i, line in enumerate(lines) if " written to " in line)


def final_equity(run_dir: Path) -> str:
    """`$X → $Y (+Z%)` as the header prints it, from the run's files."""
    value = float(pd.read_csv(run_dir / "equity.csv")["value"].iloc[-1])
    total = json.loads((run_dir / "metrics.json").read_text())["total_return"]
    return f"${value:,.2f} ({total * 100:+.2f}%)"


def test_run_backtest_without_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = ok(parity("run", "backtest"))  # default --runs-dir ./runs
    lines = result.stdout.splitlines()
    for name in METRICS:
        label = METRIC_LABELS[name]
        assert any(line.strip().startswith(label + "  ") for line in lines), label
    at = written(lines)
    run_id = lines[at].split()[1]
    assert lines[at] == f"run {run_id} written to runs/{run_id}"
    # after it, the commands worth running next, ready to paste
    assert lines[at + 1 :] == [
        "next:",
        f"  parity report tearsheet {run_id}             # HTML tearsheet (QuantStats)",
        f"  parity compare {run_id} --against OTHER_RUN  # what-if: against another backtest "
        "(params or costs)",
        "  parity dashboard                                                     # every run in "
        "the browser",
    ]
    # before the metrics, what ran
    assert lines[:4] == [
        "ran       backtest of sma_cross (sizing=percent, size=0.95, units=auto, fast=10, slow=30)",
        "bars      IBM 1Day 2000-03-01..2013-03-01, sample data, adjusted for splits",
        f"equity    $100,000.00 → {final_equity(tmp_path / 'runs' / run_id)}",
        "costs     commission 0, slippage 5bps, fill at open",
    ]
    run_dir = tmp_path / "runs" / run_id
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        ["manifest.json", "metrics.json", "journal.sqlite", *COLUMNS]
    )
    for name, columns in COLUMNS.items():
        assert list(read(run_dir, name).columns) == columns, name
    man = manifest(run_dir)
    assert man["run_id"] == run_id
    assert man["mode"] == "backtest"
    assert man["strategy"]["name"] == "sma_cross"
    assert man["params"] == {
        "sizing": "percent",
        "size": 0.95,
        "units": "auto",
        "fast": 10,
        "slow": 30,
    }
    assert man["symbols"] == ["IBM"]
    assert man["timeframe"] == "1Day"
    assert man["data"]["source"] == "sample"
    assert man["cash"] == 100_000.0
    assert (man["commission"], man["slippage"], man["fill_at"]) == ("0", "5bps", "open")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(METRICS) <= set(metrics)
    assert metrics["trades"] > 0
    assert metrics["trades"] == len(read(run_dir, "trades.csv"))
    assert read(run_dir, "equity.csv")["value"].iloc[0] == 100_000.0
    # the table shows the metrics.json numbers
    trades_line = next(line for line in lines if line.strip().startswith("Trades (closed)"))
    assert f"{metrics['trades']:,}" in trades_line
    # the September 2001 closure in the IBM sample is on the XNYS calendar: no gap warning
    assert result.stderr == ""


def test_run_backtest_named_strategy_and_params(tmp_path: Path) -> None:
    out = backtest(
        tmp_path / "runs",
        "rsi_reversion",
        *WINDOW,
        "--param",
        "period=10",
        "-p",
        "lower=35",
        "--param",
        "sizing=fixed",
        "--param",
        "size=50",
    )
    man = manifest(out["run_dir"])
    assert man["strategy"]["name"] == "rsi_reversion"
    assert man["strategy"]["class"] == "parity.strategies.rsi_reversion.RsiReversion"
    assert man["params"] == {
        "sizing": "fixed",
        "size": 50.0,
        "units": "auto",
        "period": 10,
        "lower": 35.0,
        "upper": 70.0,
    }
    fills = read(out["run_dir"], "fills.csv")
    assert len(fills) > 0
    assert (fills["qty"] == 50).all()


def test_run_backtest_minute_data_resampled_to_5min(tmp_path: Path) -> None:
    out = backtest(tmp_path / "runs", "--data", "sample:minute", "--timeframe", "5Min")
    man = manifest(out["run_dir"])
    assert man["timeframe"] == "5Min"
    assert man["data"]["source"] == "sample:minute"
    stamps = pd.to_datetime(read(out["run_dir"], "equity.csv")["datetime"])
    assert (stamps.dt.minute % 5 == 0).all()
    assert (stamps.dt.second == 0).all()
    assert stamps.dt.date.nunique() > 1  # several sessions of intraday bars
    assert len(read(out["run_dir"], "fills.csv")) > 0


def test_run_backtest_two_symbols(tmp_path: Path) -> None:
    out = backtest(tmp_path / "runs", "--symbols", "aapl, MSFT", *WINDOW, *FAST)
    assert manifest(out["run_dir"])["symbols"] == ["AAPL", "MSFT"]
    assert set(read(out["run_dir"], "fills.csv")["symbol"]) == {"AAPL", "MSFT"}


def _buy_and_hold_return(closes_divisor: pd.Series, bars: pd.DataFrame) -> float:
    """buy_and_hold by hand: 95 % of 100,000 at the first close's size, filled at the second
    bar's open + 5 bps (capped at its high), held to the last close."""
    o, h, c = (bars[k] / closes_divisor for k in ("open", "high", "close"))
    qty = math.floor(100_000 * 0.95 / c.iloc[0])
    price = min(o.iloc[1] * 1.0005, h.iloc[1])
    return (100_000 - qty * price + qty * c.iloc[-1]) / 100_000 - 1


def test_quick_start_buy_and_hold_is_split_adjusted_by_default(tmp_path: Path) -> None:
    # the sample is raw: AAPL's 2:1 splits of 2000-06-21 and 2005-02-28 were booked as losses
    # (total return 2.21 instead of about 11.6)
    result = ok(
        parity("run", "backtest", "buy_and_hold", "--symbols", "AAPL", "--runs-dir", tmp_path)
    )
    lines = result.stdout.splitlines()
    assert lines[written(lines) - 3 : written(lines)] == [
        "calendar: XNYS (bars in America/New_York time), annualised over 252 sessions a year; "
        "money in $ (USD)",
        "prices: adjusted for splits: AAPL (2:1 on 2000-06-21, 2:1 on 2005-02-28)",
        "bars: AAPL 2000-03-01..2013-03-01 (3,270 bars)",
    ]
    assert "split" not in result.stderr
    run_dir = tmp_path / lines[written(lines)].split()[1]
    bars = sample_bars("AAPL")
    splits = pd.Series(1.0, index=bars.index)
    splits[bars.index < "2005-02-28"] = 2.0
    splits[bars.index < "2000-06-21"] = 4.0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["total_return"] == pytest.approx(_buy_and_hold_return(splits, bars), rel=1e-12)
    assert metrics["total_return"] == pytest.approx(11.6262, abs=1e-4)
    data = manifest(run_dir)["data"]
    assert (data["adjustment"], data["adjusted"]) == ("splits", False)
    assert data["symbols"]["AAPL"]["prices"] == "splits"
    assert data["symbols"]["AAPL"]["splits"] == [
        {"date": "2000-06-21", "ratio": "2:1", "from": "adj_close"},
        {"date": "2005-02-28", "ratio": "2:1", "from": "adj_close"},
    ]
    equity = read(run_dir, "equity.csv").set_index("datetime")["value"]
    assert equity["2000-06-21"] / equity["2000-06-20"] > 0.9  # no phantom halving


def test_tearsheet_benchmark_uses_the_runs_adjustment(tmp_path: Path) -> None:
    # the buy-and-hold benchmark of an AAPL run showed a -90.9 % drawdown made of splits
    from parity.runners.report import buy_and_hold_returns
    from parity.runstore import RunStore

    store = RunStore(tmp_path)
    out = backtest(tmp_path, "buy_and_hold", "--symbols", "AAPL")
    returns = buy_and_hold_returns(store.get(out["run_id"]))
    assert returns["2000-06-21"] == pytest.approx((55.63 / 2) / (101.25 / 4) - 1)
    curve = (1 + returns).cumprod()
    assert (curve / curve.cummax() - 1).min() == pytest.approx(-0.8180, abs=1e-4)
    raw = backtest(tmp_path, "buy_and_hold", "--symbols", "AAPL", "--raw")
    raw_returns = buy_and_hold_returns(store.get(raw["run_id"]))
    assert raw_returns["2000-06-21"] == pytest.approx(55.63 / 101.25 - 1)
    raw_curve = (1 + raw_returns).cumprod()
    assert (raw_curve / raw_curve.cummax() - 1).min() == pytest.approx(-0.909, abs=1e-3)


def test_raw_keeps_the_split_losses_and_warns_naming_dates_and_flag(tmp_path: Path) -> None:
    result = ok(
        parity(
            "run", "backtest", "buy_and_hold", "--symbols", "AAPL", "--raw", "--runs-dir", tmp_path
        )
    )
    warnings = [line for line in result.stderr.splitlines() if "split" in line]
    assert warnings == [
        f"warning: AAPL (sample:daily/AAPL.csv): 2:1 split on {day} (from adj_close) is not "
        "adjusted because of --raw, so its price change counts as profit or loss; drop --raw "
        "to adjust for "
        "splits"
        for day in ("2000-06-21", "2005-02-28")
    ]
    assert "prices: raw (--raw)" in result.stdout.splitlines()
    out = result.stdout.splitlines()
    run_dir = tmp_path / out[written(out)].split()[1]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    bars = sample_bars("AAPL")
    raw = _buy_and_hold_return(pd.Series(1.0, index=bars.index), bars)
    assert metrics["total_return"] == pytest.approx(raw, rel=1e-12)
    assert metrics["total_return"] == pytest.approx(2.2118, abs=1e-4)  # the old default's figure
    assert manifest(run_dir)["data"]["adjustment"] == "raw"


@pytest.mark.parametrize(
    ("line", "expected"),
    [("adjusted: false", "raw"), ("adjusted: true", "all"), ("adjustment: splits", "splits")],
)
def test_run_file_chooses_the_adjustment(tmp_path: Path, line: str, expected: str) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text(f"symbols: [MSFT]\nfrom: 2003-01-02\nto: 2003-03-31\n{line}\n")
    out = backtest(tmp_path / "runs", "buy_and_hold", "--config", run_file)
    assert manifest(out["run_dir"])["data"]["adjustment"] == expected
    if expected == "splits":  # the flag wins over the file
        flagged = backtest(tmp_path / "runs", "buy_and_hold", "--config", run_file, "--adjusted")
        assert manifest(flagged["run_dir"])["data"]["adjustment"] == "all"


def test_run_backtest_window_and_cash(tmp_path: Path) -> None:
    out = backtest(
        tmp_path / "runs", "--from", "2012-02-01", "--to", "2012-06-29", "--cash", "25000", *FAST
    )
    man = manifest(out["run_dir"])
    assert man["start"] == "2012-02-01T00:00:00"
    assert man["end"] == "2012-06-29T00:00:00"
    assert man["requested_window"] == {"from": "2012-02-01", "to": "2012-06-29"}
    assert man["cash"] == 25_000.0
    equity = read(out["run_dir"], "equity.csv")
    assert equity["datetime"].iloc[0] == "2012-02-01"
    assert equity["datetime"].iloc[-1] == "2012-06-29"
    assert equity["value"].iloc[0] == 25_000.0
    returns = read(out["run_dir"], "returns.csv")
    assert returns["date"].iloc[0] == "2012-02-01"
    assert len(returns) == len(equity)  # daily bars: one return per bar


def test_frictionless_fills_at_the_fill_bars_open(tmp_path: Path) -> None:
    out = backtest(tmp_path / "runs", "--commission", "0", "--slippage", "0")
    fills = read(out["run_dir"], "fills.csv")
    assert len(fills) > 20
    bars = sample_bars("IBM")
    assert fills["price"].tolist() == bars.loc[fills["datetime"], "open"].tolist()
    assert (fills["commission"] == 0).all()
    # the fill bar is the bar after the decision bar
    orders = read(out["run_dir"], "orders.csv").set_index("order_id")
    positions = {day: i for i, day in enumerate(bars.index)}
    for fill in fills.itertuples():
        assert positions[fill.datetime] == fill.bar
        assert positions[orders.loc[fill.order_id, "submitted_at"]] == fill.bar - 1


def test_default_slippage_is_5bps_against_the_trader(tmp_path: Path) -> None:
    out = backtest(tmp_path / "runs", *WINDOW, *FAST)
    fills = read(out["run_dir"], "fills.csv")
    bars = sample_bars("IBM").loc[fills["datetime"]]
    sign = fills["side"].map({"buy": 1.0, "sell": -1.0}).to_numpy()
    slipped = bars["open"].to_numpy() * (1 + sign * 0.0005)
    capped = slipped.clip(bars["low"].to_numpy(), bars["high"].to_numpy())
    assert fills["price"].to_numpy() == pytest.approx(capped)


@pytest.mark.parametrize("sizing", [[], ["--param", "sizing=fixed", "--param", "size=100"]])
def test_commission_per_share_with_minimum(tmp_path: Path, sizing: list[str]) -> None:
    out = backtest(tmp_path / "runs", *WINDOW, *FAST, "--commission", "0.005/share,min=1", *sizing)
    fills = read(out["run_dir"], "fills.csv")
    assert len(fills) > 0
    expected = (fills["qty"] * 0.005).clip(lower=1.0)
    assert fills["commission"].tolist() == pytest.approx(expected.tolist())
    if sizing:  # 100 * 0.005 = 0.5: the minimum binds
        assert (fills["commission"] == 1.0).all()
    else:  # ~500+ shares: per-share commission above the minimum
        assert (fills["commission"] > 1.0).all()
    trades = read(out["run_dir"], "trades.csv")
    assert trades["pnl_net"].tolist() == pytest.approx(
        (trades["pnl_gross"] - trades["commission"]).tolist()
    )


def test_fill_at_close_uses_the_decision_bars_close(tmp_path: Path) -> None:
    out = backtest(tmp_path / "runs", *WINDOW, *FAST, "--fill", "close", "--slippage", "0")
    assert manifest(out["run_dir"])["fill_at"] == "close"
    fills = read(out["run_dir"], "fills.csv")
    orders = read(out["run_dir"], "orders.csv").set_index("order_id")
    assert len(fills) > 0
    decided = orders.loc[fills["order_id"], "submitted_at"].tolist()
    assert fills["datetime"].tolist() == decided
    assert fills["price"].tolist() == sample_bars("IBM").loc[decided, "close"].tolist()


def test_fill_at_close_books_the_fill_on_its_own_bar(tmp_path: Path) -> None:
    # the command: the order decided on the only bar stayed `submitted`
    day = ["--from", "2012-03-01", "--to", "2012-03-01"]
    fixed = ["--param", "sizing=fixed", "--param", "size=100"]
    out = backtest(tmp_path / "runs", "buy_and_hold", *fixed, *day, "--fill", "close")
    bar = sample_bars("IBM").loc["2012-03-01"]
    price = min(bar["close"] * 1.0005, bar["high"])  # 5 bps against the buyer, capped
    assert read(out["run_dir"], "orders.csv")["status"].tolist() == ["completed"]
    fills = read(out["run_dir"], "fills.csv")
    assert fills[["datetime", "qty"]].values.tolist() == [["2012-03-01", 100]]
    assert fills["price"].tolist() == pytest.approx([price], rel=1e-12)
    equity = read(out["run_dir"], "equity.csv")
    assert equity["cash"].tolist() == pytest.approx([100_000 - 100 * price])
    assert equity["value"].tolist() == pytest.approx([100_000 - 100 * (price - bar["close"])])


def test_config_file_and_flags_overriding_it(tmp_path: Path) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        "strategy: sma_cross\n"
        "params: {fast: 5, slow: 20}\n"
        "symbols: MSFT\n"
        "from: 2011-01-01\n"
        "to: 2012-12-31\n"
        "cash: 50000\n"
        "slippage: '0'\n"
        "fill: close\n"
    )
    runs = tmp_path / "runs"
    from_file = manifest(backtest(runs, "--config", run_file)["run_dir"])
    assert from_file["params"]["fast"] == 5
    assert from_file["params"]["slow"] == 20
    assert from_file["symbols"] == ["MSFT"]
    assert from_file["cash"] == 50_000.0
    assert from_file["slippage"] == "0"
    assert from_file["fill_at"] == "close"
    assert from_file["requested_window"] == {"from": "2011-01-01", "to": "2012-12-31"}

    flags = ["--cash", "20000", "--param", "fast=3", "--symbols", "AAPL", "--fill", "open"]
    overridden = manifest(backtest(runs, "--config", run_file, *flags)["run_dir"])
    assert overridden["cash"] == 20_000.0
    assert overridden["params"]["fast"] == 3
    assert overridden["params"]["slow"] == 20  # from the file, merged with the flag's params
    assert overridden["symbols"] == ["AAPL"]
    assert overridden["fill_at"] == "open"
    assert overridden["slippage"] == "0"  # not given as a flag: the file's value stays
    assert overridden["requested_window"] == {"from": "2011-01-01", "to": "2012-12-31"}


def test_json_output_is_one_object(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = ok(parity("run", "backtest", *WINDOW, *FAST, "--runs-dir", runs, "--json"))
    payload = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert result.stdout.count("\n") == 1
    assert set(payload) == {"run_id", "run_dir", "metrics"}
    assert Path(payload["run_dir"]) == runs / payload["run_id"]
    assert payload["metrics"] == json.loads(Path(payload["run_dir"], "metrics.json").read_text())
    assert set(METRICS) <= set(payload["metrics"])


def test_progress_bar_goes_to_stderr(tmp_path: Path) -> None:
    result = ok(parity("run", "backtest", *WINDOW, "--progress", "--runs-dir", tmp_path / "r"))
    assert "backtest" in result.stderr
    assert "written to" in result.stdout


def test_no_preload_flag(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    streamed = backtest(runs, *WINDOW, *FAST, "--no-preload")
    preloaded = backtest(runs, *WINDOW, *FAST)
    assert manifest(streamed["run_dir"])["preload"] is False
    assert manifest(preloaded["run_dir"])["preload"] is True
    assert streamed["metrics"] == preloaded["metrics"]


def test_runs_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARITY_RUNS_DIR", str(tmp_path / "env-runs"))
    result = ok(parity("run", "backtest", *WINDOW, "--json"))
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    assert run_dir.parent == tmp_path / "env-runs"
    assert (run_dir / "manifest.json").is_file()


# ---------------------------------------------------------------------------- user strategies


USER_STRATEGY = '''
import backtrader as bt


class EveryTen(bt.Strategy):
    """Buys `qty` shares every `every` bars and sells them five bars later."""

    params = (("every", 10), ("qty", 5))

    def next(self):
        i = len(self)
        if i % self.p.every == 0:
            self.buy(size=self.p.qty)
        elif i % self.p.every == 5 and self.position:
            self.close()
'''

RAISING_STRATEGY = """
import backtrader as bt


class Boom(bt.Strategy):
    def next(self):
        if len(self) == 3:
            raise ZeroDivisionError("kaboom on bar 3")
"""


def test_user_strategy_from_file(tmp_path: Path) -> None:
    path = tmp_path / "my_strategies.py"
    path.write_text(USER_STRATEGY)
    out = backtest(
        tmp_path / "runs", f"{path}:EveryTen", *WINDOW, "--param", "every=20", "--param", "qty=7"
    )
    man = manifest(out["run_dir"])
    assert man["strategy"]["name"] == f"{path}:EveryTen"
    assert man["strategy"]["source_path"] == str(path)
    assert len(man["strategy"]["source_sha256"]) == 64
    assert man["params"] == {"every": 20, "qty": 7}
    assert "EveryTen" in out["run_id"]
    fills = read(out["run_dir"], "fills.csv")
    assert (fills["qty"] == 7).all()
    assert out["metrics"]["trades"] > 10  # one round trip every 20 bars over two years


def test_user_strategy_unknown_param(tmp_path: Path) -> None:
    path = tmp_path / "my_strategies.py"
    path.write_text(USER_STRATEGY)
    result = parity(
        "run", "backtest", f"{path}:EveryTen", "--param", "fast=3", "--runs-dir", tmp_path / "runs"
    )
    assert_error(result, 2, "unknown param fast", "valid: every, qty")


def test_user_strategy_missing_class(tmp_path: Path) -> None:
    path = tmp_path / "my_strategies.py"
    path.write_text(USER_STRATEGY)
    result = parity("run", "backtest", f"{path}:Nope", "--runs-dir", tmp_path / "runs")
    assert_error(result, 4, "has no class Nope", "EveryTen")


def test_user_strategy_raising_in_next(tmp_path: Path) -> None:
    path = tmp_path / "boom.py"
    path.write_text(RAISING_STRATEGY)
    result = parity("run", "backtest", f"{path}:Boom", *WINDOW, "--runs-dir", tmp_path / "runs")
    assert_error(result, 4, "ZeroDivisionError", "kaboom on bar 3", "--debug")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_user_strategy_multiline_exception_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "boom2.py"
    path.write_text(
        "import backtrader as bt\n\n\nclass Boom(bt.Strategy):\n    def next(self):\n"
        "        raise ValueError('first line\\nsecond line')\n"
    )
    result = parity("run", "backtest", f"{path}:Boom", *WINDOW, "--runs-dir", tmp_path / "runs")
    assert_error(result, 4, "ValueError", "first line", "second line")


# ------------------------------------------------------------------------------------ errors


ERRORS = {
    "unknown strategy": (["nope"], 4, ["unknown strategy 'nope'", "sma_cross", "file.py:Class"]),
    "unknown param": (
        ["--param", "zzz=1"],
        2,
        ["unknown param zzz", "valid: fast, size, sizing, slow"],
    ),
    "bad param value": (["--param", "fast=abc"], 2, ["fast='abc'", "int"]),
    "param not name=value": (["--param", "fast"], 2, ["name=value"]),
    "invalid param combination": (["--param", "fast=50"], 2, ["fast (50)", "slow (30)"]),
    "bad choice param": (["--param", "sizing=huge"], 2, ["sizing='huge'", "fixed"]),
    "bad timeframe": (["--timeframe", "7Weeks"], 2, ["timeframe '7Weeks'", "5Min"]),
    "timeframe finer than data": (["--timeframe", "1Min"], 3, ["1Day", "1Min"]),
    "bad commission": (["--commission", "ten"], 2, ["commission 'ten'", "0.005/share"]),
    "bad slippage": (["--slippage", "lots"], 2, ["slippage", "'lots'", "5bps"]),
    "bad date": (["--from", "2012-13-01"], 2, ["--from '2012-13-01' is not a date", "YYYY"]),
    "bad to date": (["--to", "yesterday"], 2, ["--to 'yesterday'"]),
    "from after to": (
        ["--from", "2012-06-01", "--to", "2012-01-01"],
        2,
        ["2012-06-01", "2012-01-01", "after"],
    ),
    "bad cash": (["--cash", "-5"], 2, ["cash -5.0"]),
    "unknown sample symbol": (
        ["--symbols", "ZZZ"],
        3,
        ["ZZZ", "daily sample", "available: AAPL, IBM, MSFT, GOOG"],
    ),
    "unknown minute sample symbol": (
        ["--data", "sample:minute", "--symbols", "MSFT"],
        3,
        ["MSFT", "minute sample"],
    ),
    "unknown sample kind": (["--data", "sample:weekly"], 2, ["sample:weekly"]),
    "missing data file": (["--data", "/no/such/bars.csv"], 3, ["/no/such/bars.csv"]),
    "empty window": (
        ["--from", "2030-01-01", "--to", "2030-12-31"],
        3,
        ["no bars between 2030-01-01 and 2030-12-31", "2000-03-01..2013-03-01"],
    ),
    "missing run file": (["--config", "/no/such/run.yaml"], 2, ["/no/such/run.yaml"]),
    # these ran IBM on the sample (empty symbols) or meant $5 a share (a bare number)
    "empty symbols": (["--symbols", ""], 2, ["symbols '' names no symbol", "--symbols AAPL"]),
    "only commas as symbols": (["--symbols", ",,"], 2, ["symbols ',,' names no symbol"]),
    "slippage without a unit": (
        ["--slippage", "5"],
        2,
        ["slippage '5' has no unit", "5bps", "0.05%", "0.01/share"],
    ),
    "commission without a unit": (
        ["--commission", "5"],
        2,
        ["commission '5' has no unit", "0.005/share", "0.1%", "10bps"],
    ),
    # rupees were added to dollars in one cash account
    "mixed currencies": (
        ["--symbols", "RELIANCE.NS,IBM"],
        2,
        ["different currencies", "RELIANCE.NS (INR)", "IBM (USD)", "separately"],
    ),
}


@pytest.mark.parametrize(("args", "code", "fragments"), ERRORS.values(), ids=list(ERRORS))
def test_run_backtest_errors(
    tmp_path: Path, args: list[str], code: int, fragments: list[str]
) -> None:
    runs = tmp_path / "runs"
    assert_error(parity("run", "backtest", *args, "--runs-dir", runs), code, *fragments)
    assert not runs.exists()  # nothing half-written


def test_run_file_with_unknown_key(tmp_path: Path) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text("strategy: sma_cross\nfast: 5\n")
    result = parity("run", "backtest", "--config", run_file, "--runs-dir", tmp_path / "runs")
    assert_error(result, 2, str(run_file), "unknown key fast")


def test_run_file_with_bad_yaml(tmp_path: Path) -> None:
    run_file = tmp_path / "run.yaml"
    run_file.write_text("strategy: sma_cross\nparams: {fast: 5\n")
    result = parity("run", "backtest", "--config", run_file, "--runs-dir", tmp_path / "runs")
    assert_error(result, 2, str(run_file), "not valid YAML")


def test_csv_with_high_below_low_names_file_and_line(tmp_path: Path) -> None:
    bars = tmp_path / "BAD.csv"
    bars.write_text(
        "datetime,open,high,low,close,volume\n"
        "2024-01-02,10,11,9,10,100\n"
        "2024-01-03,10,11,9,10,100\n"
        "2024-01-04,10,8.5,9.5,9,100\n"  # line 4: high 8.5 < low 9.5
        "2024-01-05,10,11,9,10,100\n"
    )
    result = parity("run", "backtest", "--data", bars, "--runs-dir", tmp_path / "runs")
    assert_error(result, 3, f"{bars} line 4", "high 8.5", "low 9.5")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = parity("--debug", "run", "backtest", "nope", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 4
    assert "Traceback (most recent call last)" in result.stderr
    assert "StrategyError: unknown strategy 'nope'" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: unknown strategy 'nope'")


# --------------------------------------------------------------------------------------- runs


def test_runs_list_table(two_runs: tuple[Path, list[str]]) -> None:
    runs, ids = two_runs
    lines = ok(parity("runs", "list", "--runs-dir", runs)).stdout.splitlines()
    assert lines[0].split() == [
        "run",
        "mode",
        "strategy",
        "symbols",
        "tf",
        "period",
        "return",
        "sharpe",
        "max",
        "dd",
        "trades",
    ]
    assert len(lines) == 3
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == set(ids)
    assert rows[ids[0]][1:5] == ["backtest", "sma_cross", "IBM", "1Day"]
    assert rows[ids[1]][2] == "buy_and_hold"
    assert rows[ids[0]][5] == "2011-01-03..2012-12-31"


def test_runs_list_json(two_runs: tuple[Path, list[str]]) -> None:
    runs, ids = two_runs
    listed = json.loads(ok(parity("runs", "list", "--runs-dir", runs, "--json")).stdout)
    assert sorted(r["run_id"] for r in listed) == sorted(ids)
    for record in listed:
        assert set(record) == {"run_id", "run_dir", "mode", "strategy", "metrics"}
        assert record["mode"] == "backtest"
        assert Path(record["run_dir"]) == runs / record["run_id"]
        assert set(METRICS) <= set(record["metrics"])
    by_id = {r["run_id"]: r for r in listed}
    assert by_id[ids[0]]["strategy"] == "sma_cross"
    assert by_id[ids[1]]["strategy"] == "buy_and_hold"


def test_runs_list_empty(tmp_path: Path) -> None:
    result = ok(parity("runs", "list", "--runs-dir", tmp_path / "none"))
    assert "no runs in" in result.stdout
    assert json.loads(ok(parity("runs", "list", "--runs-dir", tmp_path, "--json")).stdout) == []


@pytest.mark.parametrize("how", ["id", "prefix", "path"])
def test_runs_show(two_runs: tuple[Path, list[str]], how: str) -> None:
    runs, ids = two_runs
    ref = {"id": ids[0], "prefix": ids[0][:-3], "path": str(runs / ids[0])}[how]
    text = ok(parity("runs", "show", ref, "--runs-dir", runs)).stdout
    lines = text.splitlines()
    assert lines[0] == f"run       {ids[0]}"
    assert any(line.startswith("strategy  sma_cross") and '"fast": 5' in line for line in lines)
    assert any(
        line.startswith("data      sample IBM 1Day 2011-01-03..2012-12-31") for line in lines
    )
    assert any(
        line.startswith("costs     commission 0, slippage 5bps, fill at open") for line in lines
    )
    for name in METRICS:
        label = METRIC_LABELS[name]
        assert any(line.strip().startswith(label + "  ") for line in lines), label
    assert lines[-1] == (
        "files     equity.csv, fills.csv, journal.sqlite, manifest.json, metrics.json, "
        "orders.csv, returns.csv, trades.csv"
    )


def test_runs_show_latest_json(two_runs: tuple[Path, list[str]]) -> None:
    runs, ids = two_runs
    shown = json.loads(ok(parity("runs", "show", "latest", "--runs-dir", runs, "--json")).stdout)
    assert set(shown) == {"run_id", "run_dir", "manifest", "metrics"}
    latest = ids[-1]  # the run created last
    assert shown["run_id"] == latest
    assert shown["manifest"]["run_id"] == latest
    assert shown["metrics"] == json.loads((runs / latest / "metrics.json").read_text())


def test_latest_is_the_last_run_created_within_one_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import parity.runstore as runstore

    suffixes = iter(["ffffff", "000000"])
    now = dt.datetime(2026, 1, 2, 9, 30, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(runstore.secrets, "token_hex", lambda n: next(suffixes))
    real_new_run_id = runstore.new_run_id
    monkeypatch.setattr(
        "parity.runners.backtest.new_run_id", lambda name: real_new_run_id(name, now)
    )
    runs = tmp_path / "runs"
    backtest(runs, *WINDOW, *FAST)
    second = backtest(runs, *WINDOW, *FAST)
    shown = json.loads(ok(parity("runs", "show", "latest", "--runs-dir", runs, "--json")).stdout)
    assert shown["run_id"] == second["run_id"]


def test_runs_show_errors(two_runs: tuple[Path, list[str]]) -> None:
    runs, _ = two_runs
    assert_error(parity("runs", "show", "nope", "--runs-dir", runs), 6, "run 'nope' not found")
    # both ids start with the same year: an ambiguous prefix
    assert_error(parity("runs", "show", "2", "--runs-dir", runs), 6, "ambiguous", "2 runs")
    assert_error(parity("runs", "show", "latest", "--runs-dir", runs / "empty"), 6, "no runs in")


# ------------------------------------------------------------------------------------- report


@pytest.mark.parametrize("which", ["buy-and-hold", "MSFT", "other-run", "none"])
def test_report_tearsheet(two_runs: tuple[Path, list[str]], which: str) -> None:
    runs, ids = two_runs
    bench = ids[1] if which == "other-run" else which
    result = ok(parity("report", "tearsheet", ids[0], "--benchmark", bench, "--runs-dir", runs))
    path = runs / ids[0] / "tearsheet.html"
    assert result.stdout.strip() == str(path)
    html = path.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    assert ids[0] in html  # the title names the run
    if which == "none":
        assert "Benchmark" not in html
    else:
        assert "Benchmark" in html
    if which == "MSFT":
        assert "MSFT" in html
    if which == "other-run":
        assert f"run {ids[1]}" in html


def test_report_tearsheet_out_and_latest(two_runs: tuple[Path, list[str]], tmp_path: Path) -> None:
    runs, _ = two_runs
    out = tmp_path / "reports" / "sheet.html"
    result = ok(
        parity(
            "report", "tearsheet", "latest", "--benchmark", "none", "--out", out, "--runs-dir", runs
        )
    )
    assert result.stdout.strip() == str(out)
    assert out.stat().st_size > 10_000


def test_report_tearsheet_benchmark_title_escaped_once(two_runs: tuple[Path, list[str]]) -> None:
    runs, ids = two_runs
    ok(parity("report", "tearsheet", ids[0], "--runs-dir", runs))
    html = (runs / ids[0] / "tearsheet.html").read_text()
    assert "&amp;amp;" not in html


def test_report_errors(two_runs: tuple[Path, list[str]], tmp_path: Path) -> None:
    runs, ids = two_runs
    assert_error(parity("report", "tearsheet", "nope", "--runs-dir", runs), 6, "run 'nope'")
    assert_error(
        parity("report", "tearsheet", ids[0], "--benchmark", "ZZZZ", "--runs-dir", runs),
        2,
        "benchmark 'ZZZZ'",
        "available: AAPL, IBM, MSFT, GOOG",
    )
    # a one-day run has one daily return: too short for a tearsheet
    one_day = backtest(
        tmp_path / "short", "buy_and_hold", "--from", "2012-01-03", "--to", "2012-01-03"
    )
    result = parity("report", "tearsheet", one_day["run_id"], "--runs-dir", tmp_path / "short")
    assert_error(result, 7, "at least 2 days")


# --------------------------------------------------------------------------------- strategies


def test_strategies() -> None:
    lines = ok(parity("strategies")).stdout.splitlines()
    names = [line.split()[0] for line in lines if line and not line.startswith(" ")]
    assert names[:3] == ["sma_cross", "rsi_reversion", "buy_and_hold"]
    text = "\n".join(lines)
    for fragment in (
        "fast=10 (int)",
        "slow=30 (int)",
        "period=14 (int)",
        "lower=30.0 (float)",
        "upper=70.0 (float)",
        "size=0.95 (float)",
        "sizing=percent",
    ):
        assert fragment in text, fragment
    assert lines[-1].startswith("user strategies: path/to/file.py:ClassName")
