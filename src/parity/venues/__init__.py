"""Venues: one folder per venue (`alpaca`, `local`, `sim`), each behind the `Session` and `Venue`
protocols (`protocol.py`) and chosen by name from `registry.py`; the values their clients hand
out (`types.py`) are shared."""
