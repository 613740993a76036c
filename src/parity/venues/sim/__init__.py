"""The `sim` venue (see `factory.py`)."""
