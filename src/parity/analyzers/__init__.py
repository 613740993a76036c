"""Post-run analysis: round-trip trade ledger and performance metrics."""
