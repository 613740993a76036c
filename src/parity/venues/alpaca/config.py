"""Alpaca's keys and endpoints, from the environment or given explicitly (alpaca-py reads no
environment variables itself)."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from parity.errors import ConfigError

CRYPTO_STREAM_PATH = "/v1beta3/crypto/us"
KEY_VARIABLES = (
    ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"),
    ("ALPACA_API_KEY", "ALPACA_SECRET_KEY"),
)


@dataclass(frozen=True)
class AlpacaCredentials:
    key_id: str
    secret_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"AlpacaCredentials(key_id={self.key_id[:4]}…)"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlpacaCredentials:
        """Keys from APCA_API_KEY_ID/APCA_API_SECRET_KEY, else ALPACA_API_KEY/ALPACA_SECRET_KEY."""
        env = os.environ if env is None else env
        for key_name, secret_name in KEY_VARIABLES:
            key, secret = env.get(key_name, "").strip(), env.get(secret_name, "").strip()
            if key and secret:
                return cls(key, secret)
        raise ConfigError(
            "no Alpaca keys: set APCA_API_KEY_ID and APCA_API_SECRET_KEY (or ALPACA_API_KEY and "
            "ALPACA_SECRET_KEY), or rehearse offline with --venue local"
        )


@dataclass(frozen=True)
class AlpacaEndpoints:
    """URL overrides; None means Alpaca's own paper endpoints."""

    trading_url: str | None = None
    data_url: str | None = None
    trading_stream_url: str | None = None
    data_stream_url: str | None = None
    feed: str = "iex"

    @property
    def crypto_stream_url(self) -> str | None:
        """`CryptoDataStream`'s URL: the data stream's host at Alpaca's crypto path
        (`/v1beta3/crypto/us`); None means Alpaca's own."""
        if not self.data_stream_url:
            return None
        parts = urllib.parse.urlsplit(self.data_stream_url)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, CRYPTO_STREAM_PATH, "", ""))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlpacaEndpoints:
        env = os.environ if env is None else env
        return cls(
            trading_url=env.get("APCA_API_BASE_URL") or None,
            data_url=env.get("APCA_API_DATA_URL") or None,
            trading_stream_url=env.get("APCA_API_STREAM_URL") or None,
            data_stream_url=env.get("APCA_DATA_STREAM_URL") or None,
            feed=env.get("APCA_DATA_FEED", "iex"),
        )
