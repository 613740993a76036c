"""Stores own the connections to a venue. `alpaca.py` is the only module importing alpaca-py."""
