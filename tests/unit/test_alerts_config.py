"""Alert configuration: flags, PARITY_ALERT_URLS, the YAML file, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.alerts.config import AlertConfig, alert_config, redact
from parity.errors import ConfigError

HOOK = "json://127.0.0.1:8080/hook"
SECRET_MAIL = "mailto://bob:hunter2@smtp.example.com?to=ops@example.com"
TELEGRAM = "tgram://123456789:AAEsecrettokenvalue/12315544/"


def test_defaults():
    c = alert_config(env={})
    assert c == AlertConfig()
    assert (c.daily_loss_pct, c.drawdown_pct, c.stale_bars) == (5.0, 15.0, 3)
    assert (c.disconnect_grace_s, c.dedup_seconds, c.rate_limit) == (60.0, 900.0, 10)


def test_urls_from_flags_env_and_file_each_once(tmp_path: Path):
    file = tmp_path / "alerts.yaml"
    file.write_text(f"urls:\n  - {HOOK}\n  - {TELEGRAM}\n")
    env = {"PARITY_ALERT_URLS": f"{HOOK}, {SECRET_MAIL}  json://127.0.0.1:9/x"}
    c = alert_config(urls=[HOOK], env=env, file=file)
    assert c.urls == (HOOK, TELEGRAM, SECRET_MAIL, "json://127.0.0.1:9/x")


def test_file_values_and_flags_winning(tmp_path: Path):
    file = tmp_path / "alerts.yaml"
    file.write_text(
        "alerts:\n  daily_loss: 3%\n  drawdown: 10\n  stale_bars: 5\n  disconnect_grace: 2m\n"
        "  dedup: 300\n  rate_limit: 4\n  send_daily_report: yes\n"
    )
    c = alert_config(env={}, file=file, drawdown="12.5%", stale_bars="2")
    assert c.daily_loss_pct == 3.0 and c.drawdown_pct == 12.5 and c.stale_bars == 2
    assert (c.disconnect_grace_s, c.dedup_seconds, c.rate_limit) == (120.0, 300.0, 4)
    assert c.send_daily_report is True


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"daily_loss": "lots"}, "alerts daily_loss 'lots' (--alert-daily-loss) must be a percent"),
        ({"daily_loss": "0"}, "alerts daily_loss '0' (--alert-daily-loss) must be a percent"),
        ({"drawdown": "150%"}, "alerts drawdown '150%' (--alert-drawdown) must be a percent"),
        ({"stale_bars": "0"}, "alerts stale_bars '0' (--alert-stale-bars) must be a whole number"),
        ({"stale_bars": "2.5"}, "alerts stale_bars '2.5' (--alert-stale-bars)"),
        ({"disconnect_grace": "-5"}, "alerts disconnect_grace '-5' (--alert-disconnect-grace)"),
        ({"disconnect_grace": "soon"}, "must be a duration >= 0, e.g. 60, 90s, 15m or 1h"),
    ],
)
def test_bad_flags(kwargs, expected):
    with pytest.raises(ConfigError) as err:
        alert_config(env={}, **kwargs)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rate_limit: 0\n", "alerts rate_limit 0 (rate_limit in"),
        ("dedup: forever\n", "alerts dedup 'forever' (dedup in"),
        ("send_daily_report: maybe\n", "must be true or false"),
        ("drawdown: -1%\n", "alerts drawdown '-1%' (drawdown in"),
        ("treshold: 5\n", "unknown key 'treshold'; use urls, daily_loss, drawdown"),
        ("urls: 5\n", "urls must be a list of apprise URLs"),
        ("- a\n- b\n", "expected a mapping of alert settings"),
        ("drawdown: [1\n", "not valid YAML"),
    ],
)
def test_bad_file(tmp_path: Path, text, expected):
    file = tmp_path / "alerts.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError) as err:
        alert_config(env={}, file=file)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read it"):
        alert_config(env={}, file=tmp_path / "nope.yaml")


def test_an_invalid_url_is_refused_up_front_without_showing_its_secret():
    bad = "tgram://not-a-token-secretvalue"
    with pytest.raises(ConfigError) as err:
        alert_config(env={"PARITY_ALERT_URLS": bad})
    text = str(err.value)
    assert "alert URL tgram://… is not a valid apprise URL" in text
    assert "secretvalue" not in text


def test_describe_is_redacted_and_restores_thresholds():
    c = alert_config(urls=[SECRET_MAIL, TELEGRAM], env={}, drawdown="8")
    record = c.describe()
    text = repr(record)
    assert "hunter2" not in text and "AAEsecrettokenvalue" not in text
    assert record["sinks"][0].startswith("mailto://bob:****@smtp.example.com")
    assert record["drawdown_pct"] == 8.0
    restored = AlertConfig.from_record(record)
    assert restored.urls == () and restored.drawdown_pct == 8.0
    assert restored == AlertConfig(drawdown_pct=8.0)


def test_redact_drops_the_query():
    assert (
        redact("json://user:pw@127.0.0.1:8080/x?token=abc") == "json://user:****@127.0.0.1:8080/x"
    )


def test_a_paper_configuration_records_thresholds_and_never_the_urls():
    from parity.runners.paper import PaperConfig

    config = PaperConfig(
        symbols=("IBM",), alerts=alert_config(urls=[SECRET_MAIL], env={}, daily_loss="2%")
    )
    recorded = config.to_dict()
    assert "hunter2" not in repr(recorded)
    rebuilt = PaperConfig.from_dict(recorded)
    assert rebuilt.alerts == AlertConfig(daily_loss_pct=2.0)  # a resume gives the URLs again
