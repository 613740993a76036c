"""Brokers: the in-process simulated broker (sim.py); Alpaca's comes with the paper path."""
