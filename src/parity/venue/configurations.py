"""`GET`/`PATCH /v2/account/configurations`. The venue's account is a cash account without
shorting or margin: a PATCH may change the settings that do not change trading
(`trade_confirm_email`, `pdt_check`, `dtbp_check`, `ptp_no_exception_entry`) and refuses the others
with a 422 naming the setting, rather than answering with a setting the venue would not honour."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from parity.venue.orders import invalid

FIXED: dict[str, Any] = {
    "suspend_trade": False,
    "no_shorting": True,
    "fractional_trading": True,
    "max_margin_multiplier": "1",
    "max_options_trading_level": 3,  # options up to spreads (mleg), as Alpaca paper
}
MUTABLE: dict[str, Any] = {
    "dtbp_check": "entry",
    "trade_confirm_email": "none",
    "pdt_check": "entry",
    "ptp_no_exception_entry": False,
}


class Settings:
    """The account's current configuration (one per app; mutated in place, the app is frozen)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {**MUTABLE, **FIXED}


SETTINGS: web.AppKey[Settings] = web.AppKey("parity_account_configurations", Settings)


async def get_configurations(request: web.Request) -> web.Response:
    return web.json_response(request.app[SETTINGS].values)


async def patch_configurations(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        raise invalid("request body format is invalid") from None
    if not isinstance(body, dict):
        raise invalid("request body format is invalid")
    settings = request.app[SETTINGS]
    current = dict(settings.values)
    for key, value in body.items():
        if value is None:  # alpaca-py sends every field of the model, unset ones as null
            continue
        if key in FIXED and str(value).lower() != str(FIXED[key]).lower():
            raise invalid(
                f"{key} cannot be changed on the parity venue (it is {FIXED[key]!r} here)"
            )
        if key not in FIXED and key not in MUTABLE:
            raise invalid(f"unknown account configuration {key!r}")
        if key in MUTABLE:
            current[key] = value
    settings.values = current
    return web.json_response(current)


def add_configuration_routes(app: web.Application) -> None:
    """Register the account-configuration routes (and the settings they share)."""
    app[SETTINGS] = Settings()
    app.router.add_get("/v2/account/configurations", get_configurations)
    app.router.add_patch("/v2/account/configurations", patch_configurations)
