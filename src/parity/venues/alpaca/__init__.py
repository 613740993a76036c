"""The `alpaca` venue (see `factory.py`)."""
