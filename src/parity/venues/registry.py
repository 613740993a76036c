"""Venues by name: `--venue NAME` picks one; a new venue registers here and nowhere else.

Only the factories are imported here (light: each imports its session when it opens one), so the
CLI can list the names without loading a venue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parity.errors import ConfigError
from parity.venues.alpaca.factory import AlpacaVenue
from parity.venues.local.factory import LocalVenue
from parity.venues.protocol import Venue
from parity.venues.sim.factory import SimVenue

_VENUES: dict[str, Venue] = {}
DEFAULT_VENUE = "alpaca"  # `--venue`'s default


def register(venue: Venue) -> Venue:
    """Add `venue` under its name (a name is registered once)."""
    if venue.name in _VENUES:
        raise ConfigError(
            f"venue {venue.name!r} is registered twice; give the new one its own name"
        )
    _VENUES[venue.name] = venue
    return venue


def venue_names() -> tuple[str, ...]:
    return tuple(_VENUES)


def venue_named(name: str) -> Venue:
    """The venue registered as `name`; an unknown name is a one-line error naming the choices."""
    try:
        return _VENUES[name]
    except KeyError:
        raise ConfigError(
            f"unknown venue {name!r}; choose one of {', '.join(venue_names())}"
        ) from None


def venue_of_run(manifest: Mapping[str, Any]) -> Venue | None:
    """The venue a recorded run traded on: the label its sessions journal, else the `--venue`
    name in its configuration; None for a venue this version does not know."""
    label = manifest.get("venue")
    for venue in _VENUES.values():
        if venue.label == label:
            return venue
    name = (manifest.get("config") or {}).get("venue")
    return _VENUES.get(str(name)) if name else None


def venues_help() -> str:
    """`--venue`'s help: one clause per registered venue."""
    return "; ".join(f"{v.name}: {v.help}" for v in _VENUES.values()) + "."


for _venue in (AlpacaVenue(), LocalVenue(), SimVenue()):
    register(_venue)
