"""The `local` venue (see `factory.py`)."""
