import datetime as dt
from pathlib import Path

import pytest

from parity.config import BacktestConfig, build_config, parse_symbols, read_run_file
from parity.errors import ConfigError
from parity.timeframe import parse_timeframe


def test_run_file_then_flags_override(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "strategy: rsi_reversion\nsymbols: [ibm, msft]\nfrom: 2005-01-03\nto: 2006-12-29\n"
        "cash: 50000\ncommission: 0.005/share\nparams:\n  period: 10\n  lower: 25\n"
    )
    values = read_run_file(path)
    config = build_config(values, {"cash": 75_000.0, "params": {"upper": "80"}})
    assert config.strategy == "rsi_reversion"
    assert config.symbols == ("IBM", "MSFT")
    assert config.start == dt.date(2005, 1, 3) and config.end == dt.date(2006, 12, 29)
    assert config.cash == 75_000.0
    assert config.params == {"period": 10, "lower": 25, "upper": "80"}
    assert config.costs.commission_per_share == pytest.approx(0.005)


def test_unknown_key_in_run_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("strategy: sma_cross\ncapital: 5\n")
    with pytest.raises(ConfigError, match="unknown key capital; valid: strategy"):
        read_run_file(path)


def test_malformed_yaml_names_line(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("strategy: sma_cross\nsymbols: [IBM\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_run_file(path)


def test_missing_run_file():
    with pytest.raises(ConfigError, match="does not exist"):
        read_run_file(Path("/nonexistent/run.yaml"))


def test_run_file_not_a_mapping(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        read_run_file(path)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"cash": 0.0}, "cash"),
        ({"cash": float("nan")}, "cash"),
        ({"start": dt.date(2010, 1, 2), "end": dt.date(2009, 1, 1)}, "after"),
        ({"commission": "lots"}, "commission"),
        ({"fill_at": "vwap"}, "fill"),
    ],
)
def test_invalid_config(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        BacktestConfig(**kwargs)


def test_symbols_parsing():
    assert parse_symbols(" aapl ,msft,,") == ("AAPL", "MSFT")
    assert parse_symbols(None) == ()
    for empty in ("", " ", ",,", [], [" "]):
        with pytest.raises(ConfigError, match="names no symbol"):
            parse_symbols(empty)
    assert parse_symbols(["brk.b"]) == ("BRK.B",)
    with pytest.raises(ConfigError, match="not a ticker"):
        parse_symbols("AAPL;rm -rf")
    assert parse_symbols("btc/usd") == ("BTC/USD",)  # a crypto pair
    for bad in ("../etc", "BTC/USD/X", "/USD"):
        with pytest.raises(ConfigError, match="not a ticker"):
            parse_symbols(bad)


@pytest.mark.parametrize(
    ("text", "name", "seconds"),
    [
        ("1Min", "1Min", 60),
        ("5min", "5Min", 300),
        ("15m", "15Min", 900),
        ("1Hour", "1Hour", 3600),
        ("60Min", "1Hour", 3600),
        ("1d", "1Day", 86400),
    ],
)
def test_timeframes(text, name, seconds):
    tf = parse_timeframe(text)
    assert (tf.name, tf.seconds) == (name, seconds)


@pytest.mark.parametrize("text", ["", "5", "fast", "0Min", "2Day", "1Week"])
def test_bad_timeframe(text):
    with pytest.raises(ConfigError, match="timeframe"):
        parse_timeframe(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("false", False), ("'false'", False), ("true", True), ("'yes'", True), ("0", False)],
)
def test_run_file_booleans_are_parsed_not_truthy(tmp_path, text, expected):
    path = tmp_path / "run.yaml"
    path.write_text(f"allow_short: {text}\n")
    assert read_run_file(path)["allow_short"] is expected


def test_run_file_bad_boolean(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("adjusted: maybe\n")
    with pytest.raises(ConfigError, match="adjusted='maybe' is invalid"):
        read_run_file(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), ("yes", True), (" ON ", True), (1, True), ("false", False), ("0", False)],
)
def test_parse_bool_reads_the_yaml_and_text_forms(value, expected):
    from parity.parsing import parse_bool

    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", None])
def test_parse_bool_refuses_anything_else(value):
    from parity.parsing import parse_bool

    with pytest.raises(ValueError, match="is not true or false"):
        parse_bool(value)
