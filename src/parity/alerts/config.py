"""`AlertConfig`: thresholds and sinks of a run's alerts, and parsing it from flags, the
environment (`PARITY_ALERT_URLS`) and an optional YAML file.

Sink URLs are apprise URLs and carry secrets (tokens, passwords): they are validated up front,
never journaled; `describe()` is what the journal and the manifest keep (redacted sinks and the
thresholds). A resumed run reads its URLs again from the environment and flags, its thresholds
from the journal.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from parity.errors import ConfigError
from parity.parsing import parse_bool

ENV_ALERT_URLS = "PARITY_ALERT_URLS"

# YAML key -> (AlertConfig field, flag that sets it)
FILE_KEYS: dict[str, tuple[str, str]] = {
    "daily_loss": ("daily_loss_pct", "--alert-daily-loss"),
    "drawdown": ("drawdown_pct", "--alert-drawdown"),
    "stale_bars": ("stale_bars", "--alert-stale-bars"),
    "disconnect_grace": ("disconnect_grace_s", "--alert-disconnect-grace"),
    "half_spread": ("option_half_spread", "--alert-half-spread"),
    "spread_band": ("spread_band_pct", "--alert-spread-band"),
    "dedup": ("dedup_seconds", ""),
    "rate_limit": ("rate_limit", ""),
    "send_daily_report": ("send_daily_report", ""),
}


@dataclass(frozen=True, kw_only=True)
class AlertConfig:
    """Alert thresholds and external sinks (the `parity.alerts` log sink is always on).

    - `daily_loss_pct`: equity below the day's base (the previous day's last equity, else the
      day's first) by more than this percent.
    - `drawdown_pct`: equity below its peak by more than this percent.
    - `stale_bars`: the live feed is stale after this many bar intervals without a bar.
    - `disconnect_grace_s`: a stream disconnected longer than this alerts.
    - `dedup_seconds`: an alert with the same key within this window is not sent again.
    - `rate_limit`: most external messages per minute; the rest are counted and summarised.
    - `option_half_spread`, `option_tick`: the half spread the backtest assumed, a fraction of
      the mid, and the tick its quotes round to; None: the run's own options assumptions (its
      model chain's `half_spread` and `tick`, set by `with_option_model` when the run starts;
      3% and $0.01 if it sets none). `spread_band_pct`: an option leg's fill that paid more
      than that by more than this percent alerts (the assumptions table's "concerning", 50%).
    """

    urls: tuple[str, ...] = ()
    daily_loss_pct: float = 5.0
    drawdown_pct: float = 15.0
    stale_bars: int = 3
    disconnect_grace_s: float = 60.0
    dedup_seconds: float = 900.0
    rate_limit: int = 10
    send_daily_report: bool = False
    option_half_spread: float | None = None
    option_tick: float | None = None
    spread_band_pct: float = 50.0

    def __post_init__(self) -> None:
        _percent(self.daily_loss_pct, "daily_loss", "--alert-daily-loss")
        _percent(self.drawdown_pct, "drawdown", "--alert-drawdown")
        if int(self.stale_bars) != self.stale_bars or self.stale_bars < 1:
            raise ConfigError(
                f"alerts stale_bars {self.stale_bars!r} must be a whole number of bars >= 1 "
                "(--alert-stale-bars), e.g. 3"
            )
        if self.disconnect_grace_s < 0:
            raise ConfigError(
                f"alerts disconnect_grace {self.disconnect_grace_s!r} must be >= 0 seconds "
                "(--alert-disconnect-grace), e.g. 60"
            )
        if self.option_half_spread is not None and not 0 < self.option_half_spread < 1:
            raise ConfigError(
                f"alerts half_spread {self.option_half_spread!r} must be a fraction of the mid "
                "in (0, 1) (--alert-half-spread), e.g. 3%"
            )
        if not self.spread_band_pct > 0:
            raise ConfigError(
                f"alerts spread_band {self.spread_band_pct!r} must be a percent > 0 "
                "(--alert-spread-band), e.g. 50%"
            )
        if self.dedup_seconds < 0:
            raise ConfigError(f"alerts dedup {self.dedup_seconds!r} must be >= 0 seconds, e.g. 900")
        if int(self.rate_limit) != self.rate_limit or self.rate_limit < 1:
            raise ConfigError(
                f"alerts rate_limit {self.rate_limit!r} must be a whole number of messages per "
                "minute >= 1, e.g. 10"
            )

    def with_option_model(self, half_spread: float, tick: float) -> AlertConfig:
        """The spread rule's assumption from the run's option model, unless set explicitly."""
        return replace(
            self,
            option_half_spread=(
                half_spread if self.option_half_spread is None else self.option_half_spread
            ),
            option_tick=tick if self.option_tick is None else self.option_tick,
        )

    def with_urls(self, urls: Iterable[str]) -> AlertConfig:
        return replace(self, urls=tuple(urls))

    def sinks(self) -> list[str]:
        """The sinks, redacted (safe to print, log and journal)."""
        return [redact(url) for url in self.urls]

    def thresholds(self) -> dict[str, Any]:
        return {
            "daily_loss_pct": self.daily_loss_pct,
            "drawdown_pct": self.drawdown_pct,
            "stale_bars": self.stale_bars,
            "disconnect_grace_s": self.disconnect_grace_s,
            "dedup_seconds": self.dedup_seconds,
            "rate_limit": self.rate_limit,
            "send_daily_report": self.send_daily_report,
            "option_half_spread": self.option_half_spread,
            "option_tick": self.option_tick,
            "spread_band_pct": self.spread_band_pct,
        }

    def describe(self) -> dict[str, Any]:
        """What the journal and the manifest record: thresholds and redacted sinks, no secret."""
        return {**self.thresholds(), "sinks": self.sinks()}

    @classmethod
    def from_record(cls, values: Mapping[str, Any] | None) -> AlertConfig:
        """The thresholds `describe()` recorded (a resumed run); URLs are not recorded."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (values or {}).items() if k in known and k != "urls"})


# ---------------------------------------------------------------------- parsing


def alert_config(
    *,
    urls: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    file: Path | None = None,
    daily_loss: str | float | None = None,
    drawdown: str | float | None = None,
    stale_bars: str | int | None = None,
    disconnect_grace: str | float | None = None,
    send_daily_report: bool | None = None,
    half_spread: str | float | None = None,
    spread_band: str | float | None = None,
) -> AlertConfig:
    """The alert configuration from flags (win), the YAML `file`, then defaults. URLs are the
    flags', the file's and `PARITY_ALERT_URLS`' together (each once); each is validated."""
    values: dict[str, Any] = {}
    file_urls: list[str] = []
    if file is not None:
        values, file_urls = read_alert_file(file)
    flags = {
        "daily_loss": daily_loss,
        "drawdown": drawdown,
        "stale_bars": stale_bars,
        "disconnect_grace": disconnect_grace,
        "half_spread": half_spread,
        "spread_band": spread_band,
    }
    for key, raw in flags.items():
        if raw is not None:
            field, flag = FILE_KEYS[key]
            values[field] = _parse(key, raw, flag)
    if send_daily_report is not None:
        values["send_daily_report"] = bool(send_daily_report)
    env_urls = split_urls((env or {}).get(ENV_ALERT_URLS, ""))
    every = list(dict.fromkeys([*urls, *file_urls, *env_urls]))
    validate_urls(every)
    return AlertConfig(urls=tuple(every), **values)


def split_urls(text: str) -> list[str]:
    """`PARITY_ALERT_URLS`: URLs separated by commas and/or whitespace."""
    return [u for u in re.split(r"[,\s]+", text.strip()) if u]


def read_alert_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """`--alerts FILE`: a YAML mapping (optionally under `alerts:`) → (fields, urls)."""
    import yaml

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"--alerts {path}: cannot read it ({exc.strerror}); check the path"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"--alerts {path}: not text (byte {exc.start} is not UTF-8); give a YAML file"
        ) from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())[:160]
        raise ConfigError(f"--alerts {path}: not valid YAML ({detail}); fix the file") from None
    if isinstance(raw, dict) and set(raw) == {"alerts"}:
        raw = raw["alerts"]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"--alerts {path}: expected a mapping of alert settings, e.g. drawdown: 10%"
        )
    unknown = sorted(set(raw) - set(FILE_KEYS) - {"urls"})
    if unknown:
        raise ConfigError(
            f"--alerts {path}: unknown key {unknown[0]!r}; use {', '.join(['urls', *FILE_KEYS])}"
        )
    urls = raw.get("urls") or []
    if isinstance(urls, str):
        urls = split_urls(urls)
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ConfigError(f"--alerts {path}: urls must be a list of apprise URLs")
    values = {
        FILE_KEYS[k][0]: _parse(k, v, f"{k} in {path}") for k, v in raw.items() if k != "urls"
    }
    return values, urls


def _parse(key: str, raw: Any, where: str) -> Any:
    if key in ("daily_loss", "drawdown"):
        return _percent(raw, key, where)
    if key == "half_spread":
        return _percent(raw, key, where) / 100.0
    if key == "spread_band":
        return _band(raw, key, where)
    if key in ("stale_bars", "rate_limit"):
        return _count(raw, key, where)
    if key in ("disconnect_grace", "dedup"):
        return _seconds(raw, key, where)
    return _flag(raw, key, where)


def _percent(raw: Any, key: str, where: str) -> float:
    text = str(raw).strip().removesuffix("%").strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if isinstance(raw, bool) or not 0 < value < 100:
        raise ConfigError(f"alerts {key} {raw!r} ({where}) must be a percent in (0, 100), e.g. 5%")
    return value


def _band(raw: Any, key: str, where: str) -> float:
    text = str(raw).strip().removesuffix("%").strip()
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if isinstance(raw, bool) or not value > 0 or value == float("inf"):
        raise ConfigError(f"alerts {key} {raw!r} ({where}) must be a percent > 0, e.g. 50%")
    return value


def _count(raw: Any, key: str, where: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if isinstance(raw, bool) or value < 1:
        raise ConfigError(f"alerts {key} {raw!r} ({where}) must be a whole number >= 1, e.g. 3")
    return value


_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def _seconds(raw: Any, key: str, where: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", str(raw))
    if isinstance(raw, bool) or match is None:
        raise ConfigError(
            f"alerts {key} {raw!r} ({where}) must be a duration >= 0, e.g. 60, 90s, 15m or 1h"
        )
    return float(match.group(1)) * _UNITS[match.group(2) or ""]


def _flag(raw: Any, key: str, where: str) -> bool:
    try:
        return parse_bool(raw)
    except ValueError:
        raise ConfigError(f"alerts {key} {raw!r} ({where}) must be true or false") from None


# ---------------------------------------------------------------------- URLs


def validate_urls(urls: Iterable[str]) -> None:
    """Every URL must be one apprise can load (apprise is asked, not a copy of its rules)."""
    import apprise

    for url in urls:
        if not apprise.Apprise().add(url):
            raise ConfigError(
                f"alert URL {redact(url)} is not a valid apprise URL; check its syntax "
                "(https://github.com/caronc/apprise/wiki), e.g. json://host/path or "
                "mailto://user:pass@smtp.example.com?to=me@example.com"
            )


def redact(url: str) -> str:
    """A URL without its secrets: apprise's privacy form without the query; an URL apprise
    cannot load shows only its scheme."""
    import apprise

    scheme = urllib.parse.urlsplit(url).scheme or "?"
    loaded = apprise.Apprise()
    if not loaded.add(url):
        return f"{scheme}://…"
    private = str(loaded[0].url(privacy=True))
    return private.split("?", 1)[0]
